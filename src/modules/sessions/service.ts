// Refresh-token sessions. A refresh token is 256 random bits handed to the
// client once; only its sha256 is stored. Every refresh rotates it; the token
// rotated away last is remembered (previous_token_hash) so that presenting it
// again is recognised as reuse and revokes the whole session, except within a
// short grace window in which a second tab refreshing with the same token gets
// the same new token instead of a logout.
import { randomBytes } from 'node:crypto'
import { and, eq, isNull, lt, ne, or, sql } from 'drizzle-orm'
import type { Db, Tx } from '../../db/client'
import { sessions, type SessionRow } from '../../db/schema'
import { NotFound, Unauthorized } from '../../lib/errors'
import { hashToken, newToken } from '../../lib/token'
import type { AuditService } from '../audit/service'

export const INVALID_REFRESH = 'Invalid refresh token'
/** How long a just-rotated refresh token is still accepted (two tabs refreshing at once). */
export const GRACE_MS = 5_000
/** Revoked or expired rows are kept this long (reuse of a revoked session's token stays a clean 401), then purged. */
const KEEP_DEAD_MS = 24 * 60 * 60 * 1000
/** Refresh tokens are 43 base64url characters; anything much longer is not ours. */
const MAX_TOKEN_LENGTH = 256

export interface ClientMeta {
  userAgent: string | null
  ip: string | null
}

export interface Rotation {
  sessionId: string
  userId: number
  refreshToken: string
}

export interface SessionServiceOptions {
  refreshTokenExpireDays: number
  /** Whether the user may still hold sessions (exists and is active). */
  userActive: (userId: number) => boolean
  now?: () => number
  graceMs?: number
  /** Upper bound on remembered rotations (see `recent`). */
  maxRecent?: number
  /** Logins, logouts, revocations and refresh-token reuse are recorded here, in their transaction. */
  audit?: AuditService
}

const NO_CLIENT: ClientMeta = { userAgent: null, ip: null }

export function createSessionService(db: Db, opts: SessionServiceOptions) {
  const lifetimeMs = opts.refreshTokenExpireDays * 24 * 60 * 60 * 1000
  const now = opts.now ?? Date.now
  const graceMs = opts.graceMs ?? GRACE_MS
  const maxRecent = opts.maxRecent ?? 10_000
  const audit = opts.audit
  const origin = (actorId: number | null, meta: ClientMeta) => ({ actorId, ip: meta.ip, userAgent: meta.userAgent })

  // The new token of each rotation of the last few seconds, in clear, by
  // session id: the only way to hand a second tab the *same* new token (the
  // database keeps hashes only). Entries live GRACE_MS; the map is capped.
  const recent = new Map<string, { token: string; until: number }>()
  function remember(sessionId: string, token: string, t: number) {
    recent.delete(sessionId)
    recent.set(sessionId, { token, until: t + graceMs })
    for (const [id, e] of recent) {
      if (recent.size <= maxRecent && e.until > t) break
      recent.delete(id)
    }
  }

  const byHash = db.select().from(sessions).where(eq(sessions.tokenHash, sql.placeholder('h'))).prepare()
  const byPrevious = db.select().from(sessions).where(eq(sessions.previousTokenHash, sql.placeholder('h'))).prepare()
  // The access-token hot path: one primary-key lookup per authenticated
  // request, as a raw prepared statement (cheaper than Drizzle's prepared
  // query, and than one users JOIN sessions query).
  const liveById = db.$client.query<{ revokedAt: number | null; expiresAt: number; userId: number }, [string]>(
    'SELECT revoked_at AS revokedAt, expires_at AS expiresAt, user_id AS userId FROM sessions WHERE id = ?'
  )

  function revoke(tx: Db | Tx, id: string, t: number) {
    tx.update(sessions).set({ revokedAt: t }).where(and(eq(sessions.id, id), isNull(sessions.revokedAt))).run()
    recent.delete(id)
  }

  function alive(row: Pick<SessionRow, 'revokedAt' | 'expiresAt'>, t: number) {
    return row.revokedAt === null && row.expiresAt > t
  }

  /** Finds the session a refresh token belongs to; the previous token counts too. */
  function lookup(token: unknown): { row: SessionRow; spent: boolean } | undefined {
    if (typeof token !== 'string' || token.length === 0 || token.length > MAX_TOKEN_LENGTH) return undefined
    const h = hashToken(token)
    const row = byHash.get({ h })
    if (row) return { row, spent: false }
    const prev = byPrevious.get({ h })
    return prev ? { row: prev, spent: true } : undefined
  }

  return {
    /** Opens a session and returns its id and refresh token (the only time the token exists in clear). */
    start(userId: number, meta: ClientMeta): { id: string; refreshToken: string } {
      const token = newToken()
      const id = randomBytes(16).toString('base64url')
      const t = now()
      db.transaction((tx) => {
        // Housekeeping on the user's own rows (indexed by user): long-dead sessions go.
        tx.delete(sessions)
          .where(and(eq(sessions.userId, userId), or(lt(sessions.expiresAt, t - KEEP_DEAD_MS), lt(sessions.revokedAt, t - KEEP_DEAD_MS))))
          .run()
        tx.insert(sessions)
          .values({
            id,
            userId,
            tokenHash: hashToken(token),
            createdAt: t,
            lastUsedAt: t,
            expiresAt: t + lifetimeMs,
            userAgent: meta.userAgent?.slice(0, 512) ?? null,
            ip: meta.ip?.slice(0, 64) ?? null
          })
          .run()
        audit?.append(tx, { type: 'login.succeeded', origin: origin(userId, meta), targetId: userId, details: { session_id: id } })
      }, { behavior: 'immediate' })
      return { id, refreshToken: token }
    },

    /**
     * Spends a refresh token and returns its successor. Synchronous from the
     * read to the write, so two refreshes in this process cannot interleave;
     * the IMMEDIATE transaction serialises other processes on the same file.
     * The session keeps its original expiry: refreshing does not extend it.
     */
    rotate(token: unknown, meta: ClientMeta): Rotation {
      const t = now()
      // Failures are returned, not thrown, so that a reuse revocation commits.
      const result = db.transaction(
        (tx): Rotation | 'invalid' => {
          const found = lookup(token)
          if (!found) return 'invalid'
          const { row, spent } = found
          if (!alive(row, t) || !opts.userActive(row.userId)) return 'invalid'
          if (spent) {
            const cached = recent.get(row.id)
            const inGrace = row.rotatedAt !== null && t - row.rotatedAt <= graceMs
            if (inGrace && cached && cached.until >= t && hashToken(cached.token) === row.tokenHash) {
              // A second tab with the same token: same successor, no new rotation.
              tx.update(sessions).set({ lastUsedAt: t }).where(eq(sessions.id, row.id)).run()
              return { sessionId: row.id, userId: row.userId, refreshToken: cached.token }
            }
            if (!inGrace) {
              // Reuse of a spent token: whoever holds it, the session is no longer trusted.
              revoke(tx, row.id, t)
              audit?.append(tx, { type: 'refresh.reuse_detected', origin: origin(null, meta), targetId: row.userId, details: { session_id: row.id } })
            }
            // In the window but without the successor (restarted since): refuse, keep the session.
            return 'invalid'
          }
          const next = newToken()
          tx.update(sessions)
            .set({
              tokenHash: hashToken(next),
              previousTokenHash: row.tokenHash,
              rotatedAt: t,
              lastUsedAt: t,
              userAgent: meta.userAgent?.slice(0, 512) ?? row.userAgent,
              ip: meta.ip?.slice(0, 64) ?? row.ip
            })
            .where(eq(sessions.id, row.id))
            .run()
          remember(row.id, next, t)
          return { sessionId: row.id, userId: row.userId, refreshToken: next }
        },
        { behavior: 'immediate' }
      )
      if (result === 'invalid') throw Unauthorized(INVALID_REFRESH)
      return result
    },

    /** Logout: revokes the session of a current (or just-spent) refresh token. */
    revokeByToken(token: unknown, meta: ClientMeta = NO_CLIENT): void {
      const t = now()
      const found = lookup(token)
      if (!found || !alive(found.row, t)) throw Unauthorized(INVALID_REFRESH)
      const { id, userId } = found.row
      db.transaction((tx) => {
        revoke(tx, id, t)
        audit?.append(tx, { type: 'logout', origin: origin(userId, meta), targetId: userId, details: { session_id: id } })
      }, { behavior: 'immediate' })
    },

    /** True when an access token's session still stands and is the user's. */
    isLive(id: string, userId: number): boolean {
      const row = liveById.get(id)
      return row !== null && row.userId === userId && alive(row, now())
    },

    /** The user's live sessions (not revoked, not expired), oldest first. */
    list(userId: number): SessionRow[] {
      const t = now()
      return db
        .select()
        .from(sessions)
        .where(and(eq(sessions.userId, userId), isNull(sessions.revokedAt)))
        .orderBy(sessions.createdAt)
        .all()
        .filter((r) => r.expiresAt > t)
    },

    /** Revokes one of the user's own live sessions; anyone else's is "not found". */
    revokeOne(userId: number, id: string, meta: ClientMeta = NO_CLIENT): void {
      const t = now()
      const row = db.select().from(sessions).where(and(eq(sessions.id, id), eq(sessions.userId, userId))).get()
      if (!row || !alive(row, t)) throw NotFound('Session not found')
      db.transaction((tx) => {
        revoke(tx, id, t)
        audit?.append(tx, { type: 'session.revoked', origin: origin(userId, meta), targetId: userId, details: { session_id: id, count: 1 } })
      }, { behavior: 'immediate' })
    },

    /** Revokes every live session of the user except `keepId`. Returns how many. */
    revokeOthers(userId: number, keepId: string, meta: ClientMeta = NO_CLIENT): number {
      const t = now()
      const rows = db.transaction((tx) => {
        const gone = tx
          .update(sessions)
          .set({ revokedAt: t })
          .where(and(eq(sessions.userId, userId), isNull(sessions.revokedAt), ne(sessions.id, keepId)))
          .returning({ id: sessions.id })
          .all()
        if (gone.length > 0) {
          audit?.append(tx, { type: 'session.revoked', origin: origin(userId, meta), targetId: userId, details: { count: gone.length, kept_session_id: keepId } })
        }
        return gone
      }, { behavior: 'immediate' })
      for (const r of rows) recent.delete(r.id)
      return rows.length
    },

    /** For UserHooks.credentialsRevoked: inside the caller's transaction. */
    revokeAll(tx: Tx, userId: number): void {
      const rows = tx
        .update(sessions)
        .set({ revokedAt: now() })
        .where(and(eq(sessions.userId, userId), isNull(sessions.revokedAt)))
        .returning({ id: sessions.id })
        .all()
      for (const r of rows) recent.delete(r.id)
    },

    /** Remembered rotations (for tests of the bound). */
    get recentSize(): number {
      return recent.size
    }
  }
}

export type SessionService = ReturnType<typeof createSessionService>
