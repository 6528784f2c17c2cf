// Personal access tokens for scripts: "rst_" + 256 random bits, stored only as
// a sha256 (lib/token), shown once. The auth macro recognises them by the
// prefix, so a JWT request never reads this table.
import { and, count, eq, isNull, lt, or, sql } from 'drizzle-orm'
import type { Data, Tx } from '../../db/data'
import type { AccessTokenRow } from '../../db/schema'
import type { Actor } from '../../lib/actor'
import { BadRequest, Forbidden, NotFound } from '../../lib/errors'
import { then, type MaybePromise } from '../../lib/maybe'
import { hashToken, newToken } from '../../lib/token'
import { SYSTEM, type AuditService, type Origin } from '../audit/service'
import { SCOPES, type Scope, type TokenCreate, type TokenInfo } from './model'

export const TOKEN_PREFIX = 'rst_'
const TOKEN_SHAPE = /^rst_[A-Za-z0-9_-]{43}$/
const DAY_MS = 86_400_000
const MINUTE_MS = 60_000
/** Tokens one user may hold; a bound on rows anyone can create. */
export const MAX_TOKENS_PER_USER = 50

export interface ResolvedToken {
  id: number
  userId: number
  scopes: readonly Scope[]
}

type Found = { id: number; userId: number; scopes: string; expiresAt: number | null; lastUsedAt: number | null }

const iso = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString())

export function toTokenInfo(row: AccessTokenRow): TokenInfo {
  return {
    id: row.id,
    name: row.name,
    scopes: parseScopes(row.scopes),
    created_at: iso(row.createdAt)!,
    expires_at: iso(row.expiresAt),
    last_used_at: iso(row.lastUsedAt)
  }
}

function parseScopes(stored: string): Scope[] {
  return stored.split(' ').filter((s): s is Scope => (SCOPES as readonly string[]).includes(s))
}

export function createAccessTokenService(data: Data, opts: { now?: () => number; audit?: AuditService } = {}) {
  const audit = opts.audit
  const { db, t } = data
  const { accessTokens } = t
  const now = opts.now ?? Date.now
  // The per-request lookup: synchronous on SQLite (a raw prepared statement,
  // the hot path's style, see users/service.ts), a prepared query on PostgreSQL.
  const byHash: (hash: string) => MaybePromise<Found | undefined> = data.sqlite
    ? ((stmt) => (hash: string) => stmt.get(hash) ?? undefined)(
        data.sqlite.query<Found, [string]>(
          'SELECT id, user_id AS userId, scopes, expires_at AS expiresAt, last_used_at AS lastUsedAt FROM access_tokens WHERE token_hash = ?'
        )
      )
    : ((stmt) => (hash: string) => stmt.execute({ hash }).then((r) => r[0]))(
        db
          .select({
            id: accessTokens.id,
            userId: accessTokens.userId,
            scopes: accessTokens.scopes,
            expiresAt: accessTokens.expiresAt,
            lastUsedAt: accessTokens.lastUsedAt
          })
          .from(accessTokens)
          .where(eq(accessTokens.tokenHash, sql.placeholder('hash')))
          .prepare('access_tokens_by_hash')
      )

  // last_used_at is written after the answer, off the request's path, and at
  // most once a minute per token (the guard makes concurrent requests of one
  // minute write once between them).
  let touching: Promise<void> = Promise.resolve()
  function touch(id: number, minute: number): void {
    const write = data
      .transaction((tx) =>
        tx
          .update(accessTokens)
          .set({ lastUsedAt: minute })
          .where(and(eq(accessTokens.id, id), or(isNull(accessTokens.lastUsedAt), lt(accessTokens.lastUsedAt, minute))))
          .then(() => undefined)
      )
      // A lost "last used" mark is not worth failing anything for.
      .catch(() => undefined)
    touching = Promise.all([touching, write]).then(() => undefined)
  }

  function admit(row: Found | undefined): ResolvedToken | undefined {
    if (!row) return undefined
    const t = now()
    if (row.expiresAt !== null && row.expiresAt <= t) return undefined
    const minute = t - (t % MINUTE_MS)
    if (row.lastUsedAt !== minute) touch(row.id, minute)
    return { id: row.id, userId: row.userId, scopes: parseScopes(row.scopes) }
  }

  return {
    /** The owner's new token and its secret (the only time the secret exists in clear). */
    async create(owner: Actor, input: TokenCreate, origin: Origin = { ...SYSTEM, actorId: owner.id }): Promise<{ row: AccessTokenRow; token: string }> {
      const scopes = [...new Set(input.scopes)]
      if (scopes.includes('admin') && owner.role !== 'admin') throw Forbidden('The admin scope is for admins only')
      const token = TOKEN_PREFIX + newToken()
      const t = now()
      const row = await data.transaction(async (tx) => {
        // Count and insert under one lock: parallel requests cannot pass the cap together.
        await data.lock(tx, `access_tokens:${owner.id}`)
        const [held] = await tx.select({ n: count() }).from(accessTokens).where(eq(accessTokens.userId, owner.id))
        if (Number(held?.n ?? 0) >= MAX_TOKENS_PER_USER) throw BadRequest(`At most ${MAX_TOKENS_PER_USER} access tokens per user`)
        const [inserted] = await tx
          .insert(accessTokens)
          .values({
            userId: owner.id,
            name: input.name,
            tokenHash: hashToken(token),
            scopes: SCOPES.filter((s) => scopes.includes(s)).join(' '),
            createdAt: t,
            expiresAt: input.expires_in_days === undefined ? null : t + input.expires_in_days * DAY_MS,
            lastUsedAt: null
          })
          .returning()
        await audit?.append(tx, { type: 'token.created', origin, targetId: owner.id, details: { token_id: inserted!.id, name: input.name, scopes: inserted!.scopes.split(' ') } })
        return inserted!
      })
      return { row, token }
    },

    list(userId: number): Promise<AccessTokenRow[]> {
      return db.select().from(accessTokens).where(eq(accessTokens.userId, userId)).orderBy(accessTokens.id)
    },

    /** Deletes one of the owner's tokens; anyone else's is "not found". Returns the row (for the audit log). */
    async revoke(userId: number, id: number, origin: Origin = { ...SYSTEM, actorId: userId }): Promise<AccessTokenRow> {
      const [row] = await data.transaction(async (tx) => {
        const gone = await tx
          .delete(accessTokens)
          .where(and(eq(accessTokens.id, id), eq(accessTokens.userId, userId)))
          .returning()
        if (gone[0]) await audit?.append(tx, { type: 'token.revoked', origin, targetId: userId, details: { token_id: id, name: gone[0].name } })
        return gone
      })
      if (!row) throw NotFound('Token not found')
      return row
    },

    /**
     * For UserHooks.credentialsRevoked: inside the caller's transaction. Each
     * token's end is recorded (the cause, a password change, reset,
     * deactivation or deletion, has its own event).
     */
    async revokeAll(tx: Tx, userId: number): Promise<void> {
      const gone = await tx.delete(accessTokens).where(eq(accessTokens.userId, userId)).returning({ id: accessTokens.id, name: accessTokens.name })
      for (const g of gone) {
        await audit?.append(tx, { type: 'token.revoked', origin: SYSTEM, targetId: userId, details: { token_id: g.id, name: g.name, reason: 'credentials_revoked' } })
      }
    },

    /**
     * The token's owner and scopes, or undefined for anything unknown or
     * expired. Synchronous on SQLite. Records the use to the minute.
     */
    resolve(token: string): MaybePromise<ResolvedToken | undefined> {
      if (!TOKEN_SHAPE.test(token)) return undefined
      return then(byHash(hashToken(token)), admit)
    },

    /** Resolves once every last-used mark scheduled so far is written (tests, shutdown). */
    settled(): Promise<void> {
      return touching
    }
  }
}

export type AccessTokenService = ReturnType<typeof createAccessTokenService>
