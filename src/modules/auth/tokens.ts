// Access tokens: JWT HS256 via fast-jwt, signed and verified synchronously on
// the main thread (node:crypto HMAC). Not WebCrypto: Bun runs crypto.subtle on
// the same small thread pool as argon2, so during a login flood every
// authenticated request waited behind a password hash.
import { createSigner, createVerifier } from 'fast-jwt'

export interface AccessClaims {
  userId: number
  /** users.token_version when the token was issued. */
  version: number
  /** The refresh-token session the token was issued for: revoking it ends the token too. */
  sessionId: string
}

const SESSION_ID = /^[A-Za-z0-9_-]{1,64}$/

export function createTokenService(secret: string, expireMinutes: number) {
  const lifetime = expireMinutes * 60
  const sign = createSigner({ key: secret, algorithm: 'HS256' })
  // HS256 only (no alg none, no HS384/HS512 made with the same secret), and
  // exp, iat and sub must be present; exp is checked against the clock.
  const verifyJwt = createVerifier({ key: secret, algorithms: ['HS256'], requiredClaims: ['exp', 'iat', 'sub'] })
  // Tokens that verified, keyed by the token's exact text, until their exp:
  // a client sends the same token for many requests, and verifying (or
  // fast-jwt's own cache, which hashes every token with SHA-256 to find it)
  // was the largest single cost of an authenticated GET. Only the signature
  // and claims are remembered: the user row and the session are still read on
  // every request, so a revoked token is never served. Oldest first out.
  const verified = new Map<string, { claims: AccessClaims; expMs: number }>()
  const MAX_VERIFIED = 10_000

  function check(token: string): AccessClaims | undefined {
    let payload: Record<string, unknown>
    try {
      payload = verifyJwt(token)
    } catch {
      return undefined
    }
    const { sub, ver, sid, exp } = payload
    if (typeof sub !== 'string' || !/^[1-9]\d{0,15}$/.test(sub)) return undefined
    if (typeof ver !== 'number' || !Number.isInteger(ver)) return undefined
    if (typeof sid !== 'string' || !SESSION_ID.test(sid)) return undefined
    const claims = { userId: Number(sub), version: ver, sessionId: sid }
    if (typeof exp === 'number') {
      if (verified.size >= MAX_VERIFIED) verified.delete(verified.keys().next().value!)
      verified.set(token, { claims, expMs: exp * 1000 })
    }
    return claims
  }

  return {
    expiresIn: lifetime,

    async sign(userId: number, version: number, sessionId: string): Promise<string> {
      const now = Math.floor(Date.now() / 1000)
      return sign({ sub: String(userId), ver: version, sid: sessionId, iat: now, exp: now + lifetime })
    },

    /** The token's claims, or undefined for anything not issued by us and unexpired. */
    verify(token: string): AccessClaims | undefined {
      const hit = verified.get(token)
      if (hit === undefined) return check(token)
      // fast-jwt's rule: valid up to and including the second of exp.
      if (Date.now() <= hit.expMs) return hit.claims
      verified.delete(token)
      return undefined
    }
  }
}

export type TokenService = ReturnType<typeof createTokenService>
