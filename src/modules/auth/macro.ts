// The auth macro. Every route states what it needs next to its handler:
//   { auth: true }           an interactive session (access JWT) only: the
//                            token and session routes (/auth/*), where a
//                            personal access token is refused with 401
//   { auth: 'users:read' }   a session, or a personal access token holding
//                            that scope (else 403 "Insufficient scope");
//                            likewise 'users:write', 'files:read', 'files:write'
//   { auth: 'admin' }        an admin: a session, or a token with the admin scope
// The caller is resolved once per request and exposed as `user` (the row),
// `actor` (id and the role this request may use: an admin's token without the
// admin scope acts as a plain user), `scopes` (null for a session) and
// `sessionId` (undefined for a personal access token).
//
// `{ optionalAuth: true }` (signup) lets a request without an Authorization
// header through with `user` and `actor` undefined; a header that is sent must
// be valid (a personal access token needs users:write). It is a key of its own
// because Elysia types what a macro resolves per key, not per value: under one
// key every route's `user` would become optional.
import { Elysia } from 'elysia'
import type { UserRow } from '../../db/schema'
import { authDetail } from '../../http/openapi'
import type { Actor } from '../../lib/actor'
import { Forbidden, Unauthorized } from '../../lib/errors'
import { then, type MaybePromise } from '../../lib/maybe'
import type { Scope } from '../access-tokens/model'
import { TOKEN_PREFIX, type AccessTokenService, type ResolvedToken } from '../access-tokens/service'
import type { UserService } from '../users/service'
import type { TokenService } from './tokens'

/** Whether the refresh-token session an access token was issued for still stands. */
export interface SessionCheck {
  isLive(sessionId: string, userId: number): MaybePromise<boolean>
  unexpired(expiresAt: number): boolean
}

export interface AuthDeps {
  tokens: TokenService
  users: UserService
  sessions: SessionCheck
  accessTokens: AccessTokenService
}

export type AuthNeed = true | Scope

// A type, not an interface: Elysia's resolve wants an indexable object.
export type Caller = {
  user: UserRow
  actor: Actor
  /** null: an interactive session, bounded by the role only. */
  scopes: readonly Scope[] | null
  sessionId: string | undefined
}

export const INSUFFICIENT_SCOPE = 'Insufficient scope'

// Synchronous on SQLite on purpose: the hot path of every authenticated request
// awaits nothing there. On PostgreSQL the reads are promises (the user and the
// session in parallel).
export function resolveCaller(header: string | null, need: AuthNeed, deps: AuthDeps): MaybePromise<Caller> {
  if (!header || header.length > 4096) throw Unauthorized()
  const space = header.indexOf(' ')
  if (space < 0 || header.slice(0, space).toLowerCase() !== 'bearer') throw Unauthorized()
  const raw = header.slice(space + 1).trim()
  // Recognised by its prefix, so a JWT request never touches the token table.
  if (raw.startsWith(TOKEN_PREFIX)) {
    if (need === true) throw Unauthorized()
    return then(deps.accessTokens.resolve(raw), (pat) => {
      if (!pat) throw Unauthorized()
      return then(deps.users.getById(pat.userId), (user) => admitToken(user, pat, need))
    }) as MaybePromise<Caller>
  }
  const claims = deps.tokens.verify(raw)
  if (!claims) throw Unauthorized()
  const combined = deps.users.getWithSession
  if (combined !== undefined) {
    // SQLite: the user and the session in one read.
    const row = combined(claims.userId, claims.sessionId)
    const live = row !== undefined && row.sessionExpiresAt !== null && deps.sessions.unexpired(row.sessionExpiresAt)
    return admitSession(row, live, claims.version, claims.sessionId, need)
  }
  const user = deps.users.getById(claims.userId)
  const live = deps.sessions.isLive(claims.sessionId, claims.userId)
  if (user instanceof Promise || live instanceof Promise) {
    return Promise.all([user, live]).then(([u, l]) => admitSession(u, l, claims.version, claims.sessionId, need))
  }
  return admitSession(user, live, claims.version, claims.sessionId, need)
}

function admitSession(user: UserRow | undefined, live: boolean, version: number, sessionId: string, need: AuthNeed): Caller {
  // A password change, deactivation or reset bumps token_version; deleted users
  // have no row. Either way every earlier token stops here.
  if (!user || !user.isActive || user.tokenVersion !== version) throw Unauthorized()
  // Logout or a revoked session ends its access tokens too (a primary-key lookup).
  if (!live) throw Unauthorized()
  if (need === 'admin' && user.role !== 'admin') throw Forbidden()
  return { user, actor: { id: user.id, role: user.role }, scopes: null, sessionId }
}

function admitToken(user: UserRow | undefined, pat: ResolvedToken, need: Scope): Caller {
  if (!user || !user.isActive) throw Unauthorized()
  if (!pat.scopes.includes(need)) throw Forbidden(INSUFFICIENT_SCOPE)
  // The admin scope gives admin rights only while the owner is an admin.
  const admin = user.role === 'admin' && pat.scopes.includes('admin')
  if (need === 'admin' && !admin) throw Forbidden()
  return { user, actor: { id: user.id, role: admin ? 'admin' : 'user' }, scopes: pat.scopes, sessionId: undefined }
}

type OptionalCaller = { [K in keyof Caller]: Caller[K] | undefined }

/**
 * `synchronous`: the data layer answers at once (SQLite). The resolvers are
 * then plain functions: Elysia reads a hook's source to decide whether to
 * await it, and an awaited hook costs every authenticated request a promise.
 */
export function authPlugin(deps: AuthDeps, synchronous: boolean) {
  const header = (request: Request) => request.headers.get('authorization')
  const resolveSync = (need: AuthNeed) =>
    function ({ request }: { request: Request }): Caller {
      return resolveCaller(header(request), need, deps) as Caller
    }
  const resolveAsync = (need: AuthNeed) =>
    async function ({ request }: { request: Request }): Promise<Caller> {
      return await resolveCaller(header(request), need, deps)
    }
  const nobody: OptionalCaller = { user: undefined, actor: undefined, scopes: undefined, sessionId: undefined }
  function optionalSync({ request }: { request: Request }): OptionalCaller {
    const h = header(request)
    if (!h) return nobody
    return resolveCaller(h, 'users:write', deps) as Caller
  }
  async function optionalAsync({ request }: { request: Request }): Promise<OptionalCaller> {
    const h = header(request)
    if (!h) return nobody
    return await resolveCaller(h, 'users:write', deps)
  }
  return new Elysia({ name: 'roster.auth' }).macro({
    auth(need: AuthNeed) {
      return {
        resolve: (synchronous ? resolveSync(need) : resolveAsync(need)) as (c: { request: Request }) => Caller,
        detail: authDetail(need)
      }
    },
    optionalAuth: {
      detail: authDetail('optional'),
      resolve: (synchronous ? optionalSync : optionalAsync) as (c: { request: Request }) => OptionalCaller
    }
  })
}

export type AuthPlugin = ReturnType<typeof authPlugin>
