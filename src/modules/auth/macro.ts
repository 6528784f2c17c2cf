// The auth macro: `{ auth: true }` or `{ auth: 'admin' }` on a route resolves
// the caller once per request and exposes it as `user` (and its session as
// `sessionId`). The optional level, `{ optionalAuth: true }`, lets a request
// without an Authorization header through with `user` undefined; a header that
// is sent must be valid. It is a key of its own because Elysia types what a
// macro resolves per key, not per value: under one key every route's `user`
// would become optional.
import { Elysia } from 'elysia'
import type { UserRow } from '../../db/schema'
import { Forbidden, Unauthorized } from '../../lib/errors'
import type { MaybePromise } from '../../lib/maybe'
import type { UserService } from '../users/service'
import type { TokenService } from './tokens'
import { authDetail } from '../../http/openapi'

/** Whether the refresh-token session an access token was issued for still stands. */
export interface SessionCheck {
  isLive(sessionId: string, userId: number): MaybePromise<boolean>
}

export interface AuthDeps {
  tokens: TokenService
  users: UserService
  sessions: SessionCheck
}

export type Authenticated = { user: UserRow; sessionId: string }

// Synchronous on SQLite on purpose: the hot path of every authenticated request
// awaits nothing there. On PostgreSQL the user and the session are read in
// parallel and the result is a promise.
export function authenticateSession(header: string | null, { tokens, users, sessions }: AuthDeps): MaybePromise<Authenticated> {
  if (!header || header.length > 4096) throw Unauthorized()
  const space = header.indexOf(' ')
  if (space < 0 || header.slice(0, space).toLowerCase() !== 'bearer') throw Unauthorized()
  const claims = tokens.verify(header.slice(space + 1).trim())
  if (!claims) throw Unauthorized()
  const user = users.getById(claims.userId)
  const live = sessions.isLive(claims.sessionId, claims.userId)
  if (user instanceof Promise || live instanceof Promise) {
    return Promise.all([user, live]).then(([u, l]) => admit(u, l, claims.version, claims.sessionId))
  }
  return admit(user, live, claims.version, claims.sessionId)
}

function admit(user: UserRow | undefined, live: boolean, version: number, sessionId: string): Authenticated {
  // A password change, deactivation or reset bumps token_version; deleted users
  // have no row. Either way every earlier token stops here.
  if (!user || !user.isActive || user.tokenVersion !== version) throw Unauthorized()
  // Logout or a revoked session ends its access tokens too (a primary-key lookup).
  if (!live) throw Unauthorized()
  return { user, sessionId }
}

/**
 * `synchronous`: the data layer answers at once (SQLite). The resolvers are
 * then plain functions: Elysia reads a hook's source to decide whether to
 * await it, and an awaited hook costs every authenticated request a promise.
 */
export function authPlugin(deps: AuthDeps, synchronous: boolean) {
  const header = (request: Request) => request.headers.get('authorization')
  const resolveSync = (level: true | 'admin') =>
    function ({ request }: { request: Request }): Authenticated {
      const found = authenticateSession(header(request), deps) as Authenticated
      if (level === 'admin' && found.user.role !== 'admin') throw Forbidden()
      return found
    }
  const resolveAsync = (level: true | 'admin') =>
    async function ({ request }: { request: Request }): Promise<Authenticated> {
      const found = await authenticateSession(header(request), deps)
      if (level === 'admin' && found.user.role !== 'admin') throw Forbidden()
      return found
    }
  const nobody = { user: undefined, sessionId: undefined }
  type Optional = { user: UserRow | undefined; sessionId: string | undefined }
  function optionalSync({ request }: { request: Request }): Optional {
    const h = header(request)
    if (!h) return nobody
    const found = authenticateSession(h, deps) as Authenticated
    return found
  }
  async function optionalAsync({ request }: { request: Request }): Promise<Optional> {
    const h = header(request)
    if (!h) return nobody
    return await authenticateSession(h, deps)
  }
  return new Elysia({ name: 'roster.auth' }).macro({
    auth(level: true | 'admin') {
      return {
        resolve: (synchronous ? resolveSync(level) : resolveAsync(level)) as (c: { request: Request }) => Authenticated,
        detail: authDetail(level)
      }
    },
    optionalAuth: {
      detail: authDetail('optional'),
      resolve: (synchronous ? optionalSync : optionalAsync) as (c: { request: Request }) => Optional
    }
  })
}

export type AuthPlugin = ReturnType<typeof authPlugin>
