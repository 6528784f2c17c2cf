// The auth macro: `{ auth: true }` or `{ auth: 'admin' }` on a route resolves the
// caller once per request and exposes it as `user` (and its session as `sessionId`).
import { Elysia } from 'elysia'
import type { UserRow } from '../db/schema'
import type { TokenService } from '../modules/auth/tokens'
import type { UserService } from '../modules/users/service'
import { Forbidden, Unauthorized } from './errors'
import { authDetail } from './openapi'

/** Whether the refresh-token session an access token was issued for still stands. */
export interface SessionCheck {
  isLive(sessionId: string, userId: number): boolean
}

// Synchronous on purpose: the hot path of every authenticated request awaits nothing.
export function authenticateSession(
  header: string | null,
  tokens: TokenService,
  users: UserService,
  sessions: SessionCheck
): { user: UserRow; sessionId: string } {
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

export function authenticate(header: string | null, tokens: TokenService, users: UserService, sessions: SessionCheck): UserRow {
  return authenticateSession(header, tokens, users, sessions).user
}

export function authPlugin(tokens: TokenService, users: UserService, sessions: SessionCheck) {
  return new Elysia({ name: 'roster.auth' }).macro({
    auth(level: true | 'admin') {
      return {
        resolve({ request }) {
          const { user, sessionId } = authenticateSession(request.headers.get('authorization'), tokens, users, sessions)
          if (level === 'admin' && user.role !== 'admin') throw Forbidden()
          return { user, sessionId }
        },
        detail: authDetail(level)
      }
    }
  })
}
