// Bearer secrets handed to a client once (refresh tokens, reset links): 256
// random bits, and only their sha256 is stored. A fast hash is right here: the
// input is random, not a password, so there is nothing to guess.
import { createCipheriv, createDecipheriv, createHash, randomBytes } from 'node:crypto'

export function newToken(): string {
  return randomBytes(32).toString('base64url')
}

export function hashToken(token: string): string {
  return new Bun.CryptoHasher('sha256').update(token).digest('hex')
}

/** Longer than any token Roster issues (43 characters); refused before hashing. */
export const MAX_TOKEN_LENGTH = 256

/**
 * A new single-use token valid `ttlMs` from `now`: the clear token for the mail
 * (the only time it exists), and what its row stores.
 */
export function issueToken(now: number, ttlMs: number): { token: string; stored: { tokenHash: string; createdAt: number; expiresAt: number } } {
  const token = newToken()
  return { token, stored: { tokenHash: hashToken(token), createdAt: now, expiresAt: now + ttlMs } }
}

/** The hash to look a presented token up by; undefined when it cannot be one Roster issued (empty, or too long). */
export function presentedHash(token: string): string | undefined {
  return token.length === 0 || token.length > MAX_TOKEN_LENGTH ? undefined : hashToken(token)
}

/**
 * Symmetric sealing (AES-256-GCM) of a short secret that must be handed out
 * again later, with a key derived from the signing secret: what the database
 * holds is useless without the server's key. `purpose` separates keys per use.
 */
export function createSealer(secret: string, purpose: string) {
  const key = createHash('sha256').update(`roster:${purpose}\u0000`).update(secret).digest()
  return {
    seal(plain: string): string {
      const iv = randomBytes(12)
      const cipher = createCipheriv('aes-256-gcm', key, iv)
      const body = Buffer.concat([cipher.update(plain, 'utf8'), cipher.final()])
      return Buffer.concat([iv, cipher.getAuthTag(), body]).toString('base64url')
    },
    /** The sealed text, or undefined when it was not sealed with this key (or was altered). */
    open(sealed: string): string | undefined {
      const raw = Buffer.from(sealed, 'base64url')
      if (raw.length < 29) return undefined
      try {
        const decipher = createDecipheriv('aes-256-gcm', key, raw.subarray(0, 12))
        decipher.setAuthTag(raw.subarray(12, 28))
        return Buffer.concat([decipher.update(raw.subarray(28)), decipher.final()]).toString('utf8')
      } catch {
        return undefined
      }
    }
  }
}
