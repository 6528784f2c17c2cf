// Bearer secrets handed to a client once (refresh tokens, reset links): 256
// random bits, and only their sha256 is stored. A fast hash is right here: the
// input is random, not a password, so there is nothing to guess.
import { randomBytes } from 'node:crypto'

export function newToken(): string {
  return randomBytes(32).toString('base64url')
}

export function hashToken(token: string): string {
  return new Bun.CryptoHasher('sha256').update(token).digest('hex')
}
