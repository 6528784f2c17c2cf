// Access tokens: JWT HS256. Signing goes through @elysiajs/jwt (jose); verifying,
// which every authenticated request does, is written by hand over node:crypto
// with the key imported once: jose's verify imports the key and goes through
// WebCrypto's async HMAC on every call (17 µs against 1 µs here, a third of the
// whole request budget of GET /users/{id}; see README "Benchmarks").
//
// The verifier is deliberately narrow: header `alg` exactly "HS256" (so `none`,
// HS384/HS512 made with the same secret, and look-alikes are refused), no `crit`,
// base64url only, a 32-byte signature compared in constant time, and the claims
// `exp` (in the future), `iat`, `sub` (a positive id) and `ver` all required.
import { createHmac, createSecretKey, timingSafeEqual, type KeyObject } from 'node:crypto'
import { jwt } from '@elysiajs/jwt'

export interface AccessClaims {
  userId: number
  /** users.token_version when the token was issued. */
  version: number
}

const B64URL = /^[A-Za-z0-9_-]+$/
const SUB = /^[1-9]\d{0,15}$/
// An HS256 signature is 32 bytes: 43 base64url characters without padding.
const SIG_LENGTH = 43
const MAX_TOKEN = 4096
// The header Roster's own tokens carry; any other is decoded and checked.
const OWN_HEADER = Buffer.from('{"alg":"HS256","typ":"JWT"}').toString('base64url')

function decodeJson(part: string): Record<string, unknown> | undefined {
  try {
    const v: unknown = JSON.parse(Buffer.from(part, 'base64url').toString('utf8'))
    return typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Record<string, unknown>) : undefined
  } catch {
    return undefined
  }
}

/** Verifies an HS256 JWT with `key`; returns its payload, or undefined for anything else. */
export function verifyHs256(token: string, key: KeyObject, nowSeconds: number): Record<string, unknown> | undefined {
  if (token.length > MAX_TOKEN) return undefined
  const dot1 = token.indexOf('.')
  const dot2 = token.indexOf('.', dot1 + 1)
  if (dot1 <= 0 || dot2 <= dot1 + 1 || token.indexOf('.', dot2 + 1) !== -1) return undefined
  const head = token.slice(0, dot1)
  const body = token.slice(dot1 + 1, dot2)
  const sig = token.slice(dot2 + 1)
  if (sig.length !== SIG_LENGTH || !B64URL.test(head) || !B64URL.test(body) || !B64URL.test(sig)) return undefined

  if (head !== OWN_HEADER) {
    const header = decodeJson(head)
    if (!header || header.alg !== 'HS256' || header.crit !== undefined) return undefined
  }

  const expected = createHmac('sha256', key).update(token.slice(0, dot2)).digest()
  const given = Buffer.from(sig, 'base64url')
  if (given.length !== expected.length || !timingSafeEqual(given, expected)) return undefined

  const claims = decodeJson(body)
  if (!claims) return undefined
  const { exp, iat, nbf } = claims
  if (typeof exp !== 'number' || !Number.isFinite(exp) || exp <= nowSeconds) return undefined
  if (typeof iat !== 'number' || !Number.isFinite(iat)) return undefined
  if (nbf !== undefined && (typeof nbf !== 'number' || nbf > nowSeconds)) return undefined
  return claims
}

// Tokens already verified, by their exact text: a client sends the same token
// with every request, so the HMAC, base64 and JSON work is done once per token.
// Only a byte-identical token hits; `exp` is checked again on every hit, and
// revocation is untouched (the caller checks token_version in the database on
// every request). Bounded: emptied when full.
const VERIFIED_MAX = 10_000

export function createTokenService(secret: string, expireMinutes: number) {
  const signer = jwt({ name: 'jwt', secret, alg: 'HS256' }).decorator.jwt
  const key = createSecretKey(Buffer.from(secret))
  const lifetime = expireMinutes * 60
  const verified = new Map<string, AccessClaims & { exp: number }>()

  return {
    expiresIn: lifetime,

    sign(userId: number, version: number): Promise<string> {
      const now = Math.floor(Date.now() / 1000)
      return signer.sign({ sub: String(userId), ver: version, exp: now + lifetime })
    },

    /** The token's claims, or undefined for anything not issued by us and unexpired. */
    verify(token: string): AccessClaims | undefined {
      const now = Math.floor(Date.now() / 1000)
      const hit = verified.get(token)
      if (hit) {
        if (hit.exp > now) return { userId: hit.userId, version: hit.version }
        verified.delete(token)
        return undefined
      }
      const payload = verifyHs256(token, key, now)
      if (!payload) return undefined
      const { sub, ver } = payload
      if (typeof sub !== 'string' || !SUB.test(sub)) return undefined
      if (typeof ver !== 'number' || !Number.isInteger(ver)) return undefined
      if (verified.size >= VERIFIED_MAX) verified.clear()
      verified.set(token, { userId: Number(sub), version: ver, exp: payload.exp as number })
      return { userId: Number(sub), version: ver }
    }
  }
}

export type TokenService = ReturnType<typeof createTokenService>
