// Encryption of small secrets kept in the database (TOTP seeds): AES-256-GCM
// under a key derived from SECRET_KEY with HKDF, one key per purpose, so a copy
// of the database alone reveals no seed. The associated data binds each
// ciphertext to its row (the user id): a value copied onto another user's row
// does not decrypt.
import { createCipheriv, createDecipheriv, hkdfSync, randomBytes } from 'node:crypto'

const VERSION = 'v1'

export interface SecretBox {
  seal(plain: Uint8Array, context: string): string
  /** The plaintext, or undefined when the value was not sealed by this key for this context. */
  open(sealed: string, context: string): Uint8Array | undefined
}

export function createSecretBox(secretKey: string, purpose: string): SecretBox {
  const key = Buffer.from(hkdfSync('sha256', secretKey, '', `roster ${purpose} ${VERSION}`, 32))
  return {
    seal(plain, context) {
      const iv = randomBytes(12)
      const cipher = createCipheriv('aes-256-gcm', key, iv)
      cipher.setAAD(Buffer.from(context))
      const body = Buffer.concat([cipher.update(plain), cipher.final()])
      return `${VERSION}.${Buffer.concat([iv, body, cipher.getAuthTag()]).toString('base64url')}`
    },
    open(sealed, context) {
      if (!sealed.startsWith(`${VERSION}.`)) return undefined
      const raw = Buffer.from(sealed.slice(VERSION.length + 1), 'base64url')
      if (raw.length < 12 + 16) return undefined
      try {
        const decipher = createDecipheriv('aes-256-gcm', key, raw.subarray(0, 12))
        decipher.setAAD(Buffer.from(context))
        decipher.setAuthTag(raw.subarray(raw.length - 16))
        return new Uint8Array(Buffer.concat([decipher.update(raw.subarray(12, raw.length - 16)), decipher.final()]))
      } catch {
        return undefined
      }
    }
  }
}
