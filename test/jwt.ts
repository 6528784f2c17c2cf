// The one JWT forger: tokens built by hand (HMAC over header.payload), so the
// tests that check token handling do not trust the code they check.
import { createHmac } from 'node:crypto'
import { SECRET } from './helpers'

/** base64url of a string as-is, or of anything else as JSON. */
export const b64url = (v: unknown): string => Buffer.from(typeof v === 'string' ? v : JSON.stringify(v)).toString('base64url')

export const HS256 = { alg: 'HS256', typ: 'JWT' }

/** Seconds since the epoch, as in `iat` and `exp`. */
export const nowSeconds = (): number => Math.floor(Date.now() / 1000)

/**
 * `header.payload.signature`. A string header or payload is encoded as-is (to
 * send text that is not JSON). `key: null` leaves the signature empty (alg none);
 * `hash` picks the HMAC (sha384 for an HS384 token, say). Defaults: SECRET, sha256.
 */
export function forgeJwt(header: unknown, payload: unknown, opts: { key?: string | null; hash?: string } = {}): string {
  const input = `${b64url(header)}.${b64url(payload)}`
  if (opts.key === null) return `${input}.`
  return `${input}.${createHmac(opts.hash ?? 'sha256', opts.key ?? SECRET).update(input).digest('base64url')}`
}

/** The claims inside a token, read without checking it. */
export const claimsOf = (token: string): Record<string, unknown> => JSON.parse(Buffer.from(token.split('.')[1]!, 'base64url').toString())
