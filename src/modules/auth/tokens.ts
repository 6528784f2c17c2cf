// Access tokens: JWT HS256 via @elysiajs/jwt, used as a plain service (its
// decorator) so that the auth macro and the login route share one instance.
import { jwt } from '@elysiajs/jwt'

export interface AccessClaims {
  userId: number
  /** users.token_version when the token was issued. */
  version: number
  /** The refresh-token session the token was issued for: revoking it ends the token too. */
  sessionId: string
}

const SESSION_ID = /^[A-Za-z0-9_-]{1,64}$/

// The library accepts any HMAC algorithm made with the same secret and does not
// require `exp` unless told: pin both (alg none is refused by jose already).
const VERIFY = { algorithms: ['HS256'], requiredClaims: ['exp', 'iat', 'sub'] }

export function createTokenService(secret: string, expireMinutes: number) {
  const signer = jwt({ name: 'jwt', secret, alg: 'HS256' }).decorator.jwt
  const lifetime = expireMinutes * 60

  return {
    expiresIn: lifetime,

    sign(userId: number, version: number, sessionId: string): Promise<string> {
      const now = Math.floor(Date.now() / 1000)
      return signer.sign({ sub: String(userId), ver: version, sid: sessionId, exp: now + lifetime })
    },

    /** The token's claims, or undefined for anything not issued by us and unexpired. */
    async verify(token: string): Promise<AccessClaims | undefined> {
      const payload = await signer.verify(token, VERIFY)
      if (!payload) return undefined
      const sub = payload.sub
      const { ver, sid } = payload as Record<string, unknown>
      if (typeof sub !== 'string' || !/^[1-9]\d{0,15}$/.test(sub)) return undefined
      if (typeof ver !== 'number' || !Number.isInteger(ver)) return undefined
      if (typeof sid !== 'string' || !SESSION_ID.test(sid)) return undefined
      return { userId: Number(sub), version: ver, sessionId: sid }
    }
  }
}

export type TokenService = ReturnType<typeof createTokenService>
