// Refresh-token sessions. A refresh token is 256 random bits handed to the
// client once; only its sha256 is stored. Every refresh rotates it; the token
// rotated away last is remembered (previous_token_hash) so that presenting it
// again is recognised as reuse and revokes the whole session, except within a
// short grace window in which a second tab refreshing with the same token gets
// the same new token instead of a logout. That new token is kept in the session
// row, sealed with a key derived from the server's secret, so the second tab
// gets it from whichever instance it reaches, and after a restart.
import { randomBytes } from 'node:crypto'
import { and, eq, isNull, lt, ne, or, sql } from 'drizzle-orm'
import type { Data, Tx } from '../../db/data'
import type { SessionRow } from '../../db/schema'
import { then, type MaybePromise } from '../../lib/maybe'
import { NotFound, Unauthorized } from '../../lib/errors'
import { createSealer, hashToken, newToken, presentedHash } from '../../lib/token'
import type { AuditService, Origin } from '../audit/service'

export const INVALID_REFRESH = 'Invalid refresh token'
/** How long a just-rotated refresh token is still accepted (two tabs refreshing at once). */
export const GRACE_MS = 5_000
/** Revoked or expired rows are kept this long (reuse of a revoked session's token stays a clean 401), then purged. */
const KEEP_DEAD_MS = 24 * 60 * 60 * 1000

export interface ClientMeta {
  userAgent: string | null
  ip: string | null
}

export interface Rotation {
  sessionId: string
  userId: number
  /** users.token_version read under the same lock as the rotation: the access token is signed with it. */
  tokenVersion: number
  refreshToken: string
}

export interface SessionServiceOptions {
  refreshTokenExpireDays: number
  now?: () => number
  graceMs?: number
  /** The server's signing secret: the successor is sealed with a key derived from it. */
  secret: string
  /** Logins, logouts, revocations and refresh-token reuse are recorded here, in their transaction. */
  audit?: AuditService
}

const NO_CLIENT: ClientMeta = { userAgent: null, ip: null }


export function createSessionService(data: Data, opts: SessionServiceOptions) {
  const { db, t } = data
  const { sessions } = t
  const lifetimeMs = opts.refreshTokenExpireDays * 24 * 60 * 60 * 1000
  const now = opts.now ?? Date.now
  const graceMs = opts.graceMs ?? GRACE_MS
  const sealer = createSealer(opts.secret, 'refresh-successor')
  const audit = opts.audit
  const origin = (actorId: number | null, meta: ClientMeta) => ({ actorId, ip: meta.ip, userAgent: meta.userAgent })

  // The access-token hot path: one primary-key lookup per authenticated
  // request. On SQLite a raw prepared statement, synchronous (cheaper than
  // Drizzle's prepared query, and than one users JOIN sessions query).
  type Live = { revokedAt: number | null; expiresAt: number; userId: number } | null | undefined
  const liveById: (id: string) => MaybePromise<Live> = data.sqlite
    ? ((stmt) => (id: string) => stmt.get(id))(
        data.sqlite.query<{ revokedAt: number | null; expiresAt: number; userId: number }, [string]>(
          'SELECT revoked_at AS revokedAt, expires_at AS expiresAt, user_id AS userId FROM sessions WHERE id = ?'
        )
      )
    : ((stmt) => (id: string) => stmt.execute({ id }).then((r) => r[0]))(
        db
          .select({ revokedAt: sessions.revokedAt, expiresAt: sessions.expiresAt, userId: sessions.userId })
          .from(sessions)
          .where(eq(sessions.id, sql.placeholder('id')))
          .prepare('sessions_live_by_id')
      )

  async function revoke(tx: Tx, id: string, t: number) {
    await tx.update(sessions).set({ revokedAt: t, successor: null }).where(and(eq(sessions.id, id), isNull(sessions.revokedAt)))
  }

  /** Revokes every session of the user not revoked yet (but `keepId`); returns their ids. */
  function revokeUserSessions(tx: Tx, userId: number, keepId?: string): Promise<{ id: string }[]> {
    const open = and(eq(sessions.userId, userId), isNull(sessions.revokedAt))
    return tx
      .update(sessions)
      .set({ revokedAt: now(), successor: null })
      .where(keepId === undefined ? open : and(open, ne(sessions.id, keepId)))
      .returning({ id: sessions.id })
  }

  /**
   * The user's active flag and token version, read inside `tx` (locked until
   * commit on PostgreSQL; the writer transaction on SQLite). A credential change
   * updates this same row in its own transaction, so it commits wholly before
   * or wholly after the caller's.
   */
  async function userState(tx: Tx, userId: number, lock: boolean): Promise<{ isActive: boolean; tokenVersion: number } | undefined> {
    const q = tx.select({ isActive: t.users.isActive, tokenVersion: t.users.tokenVersion }).from(t.users).where(eq(t.users.id, userId))
    const [u] = await (lock ? data.forUpdate(q) : q)
    return u
  }

  function alive(row: Pick<SessionRow, 'revokedAt' | 'expiresAt'>, t: number) {
    return row.revokedAt === null && row.expiresAt > t
  }

  /**
   * Finds the session a refresh token belongs to; the previous token counts
   * too. The row is locked (PostgreSQL) until the transaction ends: a second
   * refresh with the same token waits, then finds it spent.
   */
  async function lookup(tx: Tx, token: unknown): Promise<{ row: SessionRow; spent: boolean } | undefined> {
    const h = typeof token === 'string' ? presentedHash(token) : undefined
    if (h === undefined) return undefined
    const [row] = await data.forUpdate(tx.select().from(sessions).where(eq(sessions.tokenHash, h)))
    if (row) return { row, spent: false }
    const [prev] = await data.forUpdate(tx.select().from(sessions).where(eq(sessions.previousTokenHash, h)))
    return prev ? { row: prev, spent: true } : undefined
  }

  return {
    /**
     * Opens a session for a user whose password was checked when the user was
     * at `checked.tokenVersion`, and returns its id and refresh token (the only
     * time the token exists in clear). Returns undefined when the user changed
     * since the check: deleted, deactivated, or a password change or reset
     * bumped token_version while the password was being verified. The re-check
     * and the insert share one transaction, so a credential change commits
     * either before it (no session) or after it (the change revokes the session).
     */
    async start(checked: { id: number; tokenVersion: number }, meta: ClientMeta): Promise<{ id: string; refreshToken: string } | undefined> {
      const userId = checked.id
      const token = newToken()
      const id = randomBytes(16).toString('base64url')
      const t = now()
      return data.transaction(async (tx) => {
        // Locked before the session row exists, in the order a credential change
        // takes them (users, then sessions).
        const state = await userState(tx, userId, true)
        if (!state || !state.isActive || state.tokenVersion !== checked.tokenVersion) return undefined
        // Housekeeping on the user's own rows (indexed by user): long-dead sessions go.
        await tx
          .delete(sessions)
          .where(and(eq(sessions.userId, userId), or(lt(sessions.expiresAt, t - KEEP_DEAD_MS), lt(sessions.revokedAt, t - KEEP_DEAD_MS))))
        await tx.insert(sessions).values({
          id,
          userId,
          tokenHash: hashToken(token),
          createdAt: t,
          lastUsedAt: t,
          expiresAt: t + lifetimeMs,
          userAgent: meta.userAgent?.slice(0, 512) ?? null,
          ip: meta.ip?.slice(0, 64) ?? null
        })
        await audit?.append(tx, { type: 'login.succeeded', origin: origin(userId, meta), targetId: userId, details: { session_id: id } })
        return { id, refreshToken: token }
      })
    },

    /**
     * Spends a refresh token and returns its successor. The session row is
     * locked from the read to the write (FOR UPDATE on PostgreSQL, the writer
     * transaction on SQLite), so two refreshes with one token cannot both
     * rotate. The session keeps its original expiry: refreshing does not extend it.
     */
    async rotate(token: unknown, meta: ClientMeta): Promise<Rotation> {
      // Failures are returned, not thrown, so that a reuse revocation commits.
      const result = await data.transaction(async (tx): Promise<Rotation | 'invalid'> => {
        const t = now()
        const found = await lookup(tx, token)
        if (!found) return 'invalid'
        const { row, spent } = found
        // Not locked: the session row is (FOR UPDATE), and a credential change
        // locks users then sessions, so locking the user here would invert that
        // order (a deadlock on PostgreSQL). A change committing after this read
        // waits for this transaction, then revokes the rotated session, and the
        // access token carries the old version.
        const state = await userState(tx, row.userId, false)
        if (!alive(row, t) || !state?.isActive) return 'invalid'
        if (spent) {
          const inGrace = row.rotatedAt !== null && t - row.rotatedAt <= graceMs
          const successor = inGrace && row.successor ? sealer.open(row.successor) : undefined
          if (successor !== undefined && hashToken(successor) === row.tokenHash) {
            // A second tab with the same token: same successor, no new rotation.
            await tx.update(sessions).set({ lastUsedAt: t }).where(eq(sessions.id, row.id))
            return { sessionId: row.id, userId: row.userId, tokenVersion: state.tokenVersion, refreshToken: successor }
          }
          // Reuse of a spent token: whoever holds it, the session is no longer trusted.
          if (!inGrace) {
            await revoke(tx, row.id, t)
            await audit?.append(tx, { type: 'refresh.reuse_detected', origin: origin(null, meta), targetId: row.userId, details: { session_id: row.id } })
          }
          // In the window but the successor does not open (the secret changed): refuse, keep the session.
          return 'invalid'
        }
        const next = newToken()
        await tx
          .update(sessions)
          .set({
            tokenHash: hashToken(next),
            previousTokenHash: row.tokenHash,
            successor: sealer.seal(next),
            rotatedAt: t,
            lastUsedAt: t,
            userAgent: meta.userAgent?.slice(0, 512) ?? row.userAgent,
            ip: meta.ip?.slice(0, 64) ?? row.ip
          })
          .where(eq(sessions.id, row.id))
        return { sessionId: row.id, userId: row.userId, tokenVersion: state.tokenVersion, refreshToken: next }
      })
      if (result === 'invalid') throw Unauthorized(INVALID_REFRESH)
      return result
    },

    /** Logout: revokes the session of a current (or just-spent) refresh token. */
    async revokeByToken(token: unknown, meta: ClientMeta = NO_CLIENT): Promise<void> {
      const ok = await data.transaction(async (tx) => {
        const t = now()
        const found = await lookup(tx, token)
        if (!found || !alive(found.row, t)) return false
        const { id, userId } = found.row
        await revoke(tx, id, t)
        await audit?.append(tx, { type: 'logout', origin: origin(userId, meta), targetId: userId, details: { session_id: id } })
        return true
      })
      if (!ok) throw Unauthorized(INVALID_REFRESH)
    },

    /** Whether a session that is not revoked and expires at `expiresAt` still stands (this service's clock). */
    unexpired(expiresAt: number): boolean {
      return expiresAt > now()
    },

    /** True when an access token's session still stands and is the user's. Synchronous on SQLite. */
    isLive(id: string, userId: number): MaybePromise<boolean> {
      return then(liveById(id), (row) => row != null && row.userId === userId && alive(row, now()))
    },

    /** The user's live sessions (not revoked, not expired), oldest first. */
    async list(userId: number): Promise<SessionRow[]> {
      const t = now()
      const rows = await db
        .select()
        .from(sessions)
        .where(and(eq(sessions.userId, userId), isNull(sessions.revokedAt)))
        .orderBy(sessions.createdAt)
      return rows
        .filter((r) => r.expiresAt > t)
    },

    /** Revokes one of the user's own live sessions; anyone else's is "not found". */
    async revokeOne(userId: number, id: string, meta: ClientMeta = NO_CLIENT): Promise<void> {
      const ok = await data.transaction(async (tx) => {
        const t = now()
        const [row] = await tx.select().from(sessions).where(and(eq(sessions.id, id), eq(sessions.userId, userId)))
        if (!row || !alive(row, t)) return false
        await revoke(tx, id, t)
        await audit?.append(tx, { type: 'session.revoked', origin: origin(userId, meta), targetId: userId, details: { session_id: id, count: 1 } })
        return true
      })
      if (!ok) throw NotFound('Session not found')
    },

    /** Revokes every live session of the user except `keepId`. Returns how many. */
    async revokeOthers(userId: number, keepId: string, meta: ClientMeta = NO_CLIENT): Promise<number> {
      const rows = await data.transaction(async (tx) => {
        const gone = await revokeUserSessions(tx, userId, keepId)
        if (gone.length > 0) {
          await audit?.append(tx, { type: 'session.revoked', origin: origin(userId, meta), targetId: userId, details: { count: gone.length, kept_session_id: keepId } })
        }
        return gone
      })
      return rows.length
    },

    /**
     * An admin signs a user out everywhere: every session of theirs ends (its
     * refresh token and access tokens with it). Personal access tokens are not
     * sessions and stay. The user row is locked first, as a login locks it
     * before inserting its session: a login commits either before this (its
     * session is revoked here) or after it (a new session, which stands).
     * Recorded even when there was nothing to revoke: it is an admin's act on
     * someone else's account. Returns how many sessions ended.
     */
    async revokeAllOf(userId: number, by: Origin): Promise<number> {
      return data.transaction(async (tx) => {
        if (!(await userState(tx, userId, true))) throw NotFound('User not found')
        const gone = await revokeUserSessions(tx, userId)
        await audit?.append(tx, { type: 'session.revoked', origin: by, targetId: userId, details: { count: gone.length, by: 'admin' } })
        return gone.length
      })
    },

    /** For UserHooks.credentialsRevoked: inside the caller's transaction. */
    async revokeAll(tx: Tx, userId: number): Promise<void> {
      await revokeUserSessions(tx, userId)
    }
  }
}

export type SessionService = ReturnType<typeof createSessionService>
