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
import type { UserService } from '../users/service'
import type { TokenService } from './tokens'
import { authDetail } from '../../http/openapi'

/** Whether the refresh-token session an access token was issued for still stands. */
export interface SessionCheck {
  isLive(sessionId: string, userId: number): boolean
}

export interface AuthDeps {
  tokens: TokenService
  users: UserService
  sessions: SessionCheck
}

// Synchronous on purpose: the hot path of every authenticated request awaits nothing.
export function authenticateSession(header: string | null, { tokens, users, sessions }: AuthDeps): { user: UserRow; sessionId: string } {
  if (!header || header.length > 4096) throw Unauthorized()
  const space = header.indexOf(' ')
  if (space < 0 || header.slice(0, space).toLowerCase() !== 'bearer') throw Unauthorized()
  const claims = tokens.verify(header.slice(space + 1).trim())
  if (!claims) throw Unauthorized()
  const user = users.getById(claims.userId)
  // A password change, deactivation or reset bumps token_version; deleted users
  // have no row. Either way every earlier token stops here.
  if (!user || !user.isActive || user.tokenVersion !== claims.version) throw Unauthorized()
  // Logout or a revoked session ends its access tokens too (a primary-key lookup).
  if (!sessions.isLive(claims.sessionId, user.id)) throw Unauthorized()
  return { user, sessionId: claims.sessionId }
}

export function authPlugin(deps: AuthDeps) {
  return new Elysia({ name: 'roster.auth' }).macro({
    auth(level: true | 'admin') {
      return {
        resolve({ request }) {
          const { user, sessionId } = authenticateSession(request.headers.get('authorization'), deps)
          if (level === 'admin' && user.role !== 'admin') throw Forbidden()
          return { user, sessionId }
        },
        detail: authDetail(level)
      }
    },
    optionalAuth: {
      detail: authDetail('optional'),
      resolve({ request }): { user: UserRow | undefined; sessionId: string | undefined } {
        const header = request.headers.get('authorization')
        if (!header) return { user: undefined, sessionId: undefined }
        return authenticateSession(header, deps)
      }
    }
  })
}

export type AuthPlugin = ReturnType<typeof authPlugin>
