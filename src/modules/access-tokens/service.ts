// Personal access tokens for scripts: "rst_" + 256 random bits, stored only as
// a sha256 (the refresh tokens' hashToken), shown once. The auth macro
// recognises them by the prefix, so a JWT request never reads this table.
import { and, count, eq } from 'drizzle-orm'
import type { Db, Tx } from '../../db/client'
import { accessTokens, type AccessTokenRow } from '../../db/schema'
import { BadRequest, Forbidden, NotFound } from '../../lib/errors'
import { hashToken, newToken } from '../../lib/token'
import type { Actor } from '../../lib/actor'
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

export function createAccessTokenService(db: Db, opts: { now?: () => number } = {}) {
  const now = opts.now ?? Date.now
  // The per-request lookup, as raw prepared statements (the hot path's style, see users/service.ts).
  const byHash = db.$client.query<
    { id: number; userId: number; scopes: string; expiresAt: number | null; lastUsedAt: number | null },
    [string]
  >('SELECT id, user_id AS userId, scopes, expires_at AS expiresAt, last_used_at AS lastUsedAt FROM access_tokens WHERE token_hash = ?')
  // Guarded so that concurrent requests of one minute write once between them.
  const touch = db.$client.query<unknown, [number, number, number]>(
    'UPDATE access_tokens SET last_used_at = ? WHERE id = ? AND (last_used_at IS NULL OR last_used_at < ?)'
  )

  return {
    /** The owner's new token and its secret (the only time the secret exists in clear). */
    create(owner: Actor, input: TokenCreate): { row: AccessTokenRow; token: string } {
      const scopes = [...new Set(input.scopes)]
      if (scopes.includes('admin') && owner.role !== 'admin') throw Forbidden('The admin scope is for admins only')
      const token = TOKEN_PREFIX + newToken()
      const t = now()
      const row = db.transaction(
        (tx) => {
          const held = tx.select({ n: count() }).from(accessTokens).where(eq(accessTokens.userId, owner.id)).get()?.n ?? 0
          if (held >= MAX_TOKENS_PER_USER) throw BadRequest(`At most ${MAX_TOKENS_PER_USER} access tokens per user`)
          return tx
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
            .get()
        },
        { behavior: 'immediate' }
      )
      return { row, token }
    },

    list(userId: number): AccessTokenRow[] {
      return db.select().from(accessTokens).where(eq(accessTokens.userId, userId)).orderBy(accessTokens.id).all()
    },

    /** Deletes one of the owner's tokens; anyone else's is "not found". Returns the row (for the audit log). */
    revoke(userId: number, id: number): AccessTokenRow {
      const row = db
        .delete(accessTokens)
        .where(and(eq(accessTokens.id, id), eq(accessTokens.userId, userId)))
        .returning()
        .get()
      if (!row) throw NotFound('Token not found')
      return row
    },

    /** For UserHooks.credentialsRevoked: inside the caller's transaction. Returns the revoked ids. */
    revokeAll(tx: Tx, userId: number): number[] {
      return tx
        .delete(accessTokens)
        .where(eq(accessTokens.userId, userId))
        .returning({ id: accessTokens.id })
        .all()
        .map((r) => r.id)
    },

    /**
     * The token's owner and scopes, or undefined for anything unknown or expired.
     * Records the use to the minute: one write per token per minute at most.
     */
    resolve(token: string): ResolvedToken | undefined {
      if (!TOKEN_SHAPE.test(token)) return undefined
      const row = byHash.get(hashToken(token))
      if (!row) return undefined
      const t = now()
      if (row.expiresAt !== null && row.expiresAt <= t) return undefined
      const minute = t - (t % MINUTE_MS)
      if (row.lastUsedAt !== minute) touch.run(minute, row.id, minute)
      return { id: row.id, userId: row.userId, scopes: parseScopes(row.scopes) }
    }
  }
}

export type AccessTokenService = ReturnType<typeof createAccessTokenService>
