// Refresh-token sessions. The token is 256 random bits handed to the client once;
// only its sha256 is stored.
import { randomBytes } from 'node:crypto'
import type { Db } from '../../db/client'
import { sessions } from '../../db/schema'

export function hashToken(token: string): string {
  return new Bun.CryptoHasher('sha256').update(token).digest('hex')
}

export function newToken(): string {
  return randomBytes(32).toString('base64url')
}

export function createSessionService(db: Db, opts: { refreshTokenExpireDays: number }) {
  const lifetimeMs = opts.refreshTokenExpireDays * 24 * 60 * 60 * 1000
  return {
    /** Opens a session and returns its refresh token (the only time it exists in clear). */
    start(userId: number, meta: { userAgent: string | null; ip: string | null }): string {
      const token = newToken()
      const now = Date.now()
      db.insert(sessions)
        .values({
          id: randomBytes(16).toString('base64url'),
          userId,
          tokenHash: hashToken(token),
          createdAt: now,
          lastUsedAt: now,
          expiresAt: now + lifetimeMs,
          userAgent: meta.userAgent?.slice(0, 512) ?? null,
          ip: meta.ip
        })
        .run()
      return token
    }
  }
}

export type SessionService = ReturnType<typeof createSessionService>
