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
import type { Actor } from '../../lib/actor'
import { Forbidden, Unauthorized } from '../../lib/errors'
import type { Scope } from '../access-tokens/model'
import { authDetail } from '../../http/openapi'
import { TOKEN_PREFIX, type AccessTokenService } from '../access-tokens/service'
import type { UserService } from '../users/service'
import type { TokenService } from './tokens'

/** Whether the refresh-token session an access token was issued for still stands. */
export interface SessionCheck {
  isLive(sessionId: string, userId: number): boolean
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

export interface AuthDeps {
  tokens: TokenService
  users: UserService
  sessions: SessionCheck
  accessTokens: AccessTokenService
}

export const INSUFFICIENT_SCOPE = 'Insufficient scope'

// Synchronous on purpose: the hot path of every authenticated request awaits nothing.
export function resolveCaller(header: string | null, need: AuthNeed, { tokens, users, sessions, accessTokens }: AuthDeps): Caller {
  if (!header || header.length > 4096) throw Unauthorized()
  const space = header.indexOf(' ')
  if (space < 0 || header.slice(0, space).toLowerCase() !== 'bearer') throw Unauthorized()
  const raw = header.slice(space + 1).trim()
  // Recognised by its prefix, so a JWT request never touches the token table.
  if (raw.startsWith(TOKEN_PREFIX)) {
    if (need === true) throw Unauthorized()
    const pat = accessTokens.resolve(raw)
    if (!pat) throw Unauthorized()
    const user = users.getById(pat.userId)
    if (!user || !user.isActive) throw Unauthorized()
    if (!pat.scopes.includes(need)) throw Forbidden(INSUFFICIENT_SCOPE)
    // The admin scope gives admin rights only while the owner is an admin.
    const admin = user.role === 'admin' && pat.scopes.includes('admin')
    if (need === 'admin' && !admin) throw Forbidden()
    return { user, actor: { id: user.id, role: admin ? 'admin' : 'user' }, scopes: pat.scopes, sessionId: undefined }
  }
  const claims = tokens.verify(raw)
  if (!claims) throw Unauthorized()
  const user = users.getById(claims.userId)
  // A password change, deactivation or reset bumps token_version; deleted users
  // have no row. Either way every earlier token stops here.
  if (!user || !user.isActive || user.tokenVersion !== claims.version) throw Unauthorized()
  // Logout or a revoked session ends its access tokens too (a primary-key lookup).
  if (!sessions.isLive(claims.sessionId, user.id)) throw Unauthorized()
  if (need === 'admin' && user.role !== 'admin') throw Forbidden()
  return { user, actor: { id: user.id, role: user.role }, scopes: null, sessionId: claims.sessionId }
}

type OptionalCaller = { [K in keyof Caller]: Caller[K] | undefined }

export function authPlugin(deps: AuthDeps) {
  return new Elysia({ name: 'roster.auth' }).macro({
    auth(need: AuthNeed) {
      return {
        resolve({ request }) {
          return resolveCaller(request.headers.get('authorization'), need, deps)
        },
        detail: authDetail(need)
      }
    },
    optionalAuth: {
      detail: authDetail('optional'),
      resolve({ request }): OptionalCaller {
        const header = request.headers.get('authorization')
        if (!header) return { user: undefined, actor: undefined, scopes: undefined, sessionId: undefined }
        return resolveCaller(header, 'users:write', deps)
      }
    }
  })
}

export type AuthPlugin = ReturnType<typeof authPlugin>
