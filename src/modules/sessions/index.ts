// Sessions controller: the caller's own sessions (list, revoke one, revoke the
// others), and an admin's "sign out everywhere" for any user.
import { Elysia, t } from 'elysia'
import type { AuthPlugin } from '../auth/macro'
import { errorResponses } from '../../http/schemas'
import { UserIdParams } from '../users/model'
import { SessionIdParams, SessionResponse, toSessionResponse } from './model'
import type { ClientMeta, SessionService } from './service'

interface Deps {
  sessions: SessionService
  auth: AuthPlugin
  clientMeta: (request: Request) => ClientMeta
}

export function sessionsModule({ sessions, auth, clientMeta }: Deps) {
  return new Elysia({ name: 'roster.sessions' })
    .use(auth)
    .get('/auth/sessions', async ({ user, sessionId }) => (await sessions.list(user.id)).map((r) => toSessionResponse(r, sessionId)), {
      auth: true,
      response: { 200: t.Array(SessionResponse), ...errorResponses(401) },
      detail: {
        tags: ['auth'],
        summary: "The caller's open sessions",
        description: 'Live (not revoked, not expired) sessions, oldest first. No token material is ever listed.'
      }
    })
    .delete(
      '/auth/sessions/:session_id',
      async ({ user, params, request, set }) => {
        await sessions.revokeOne(user.id, params.session_id, clientMeta(request))
        set.status = 204
      },
      {
        auth: true,
        params: SessionIdParams,
        response: { 204: t.Void({ description: 'Revoked; its refresh and access tokens stop working' }), ...errorResponses(401, 404, 422) },
        detail: {
          tags: ['auth'],
          summary: 'Revoke one of the caller’s sessions',
          description: 'Another user’s session, or one already revoked or expired, is 404 `{"detail":"Session not found"}`. Revoking the current session logs this client out.'
        }
      }
    )
    .delete(
      '/auth/sessions',
      async ({ user, sessionId, request, set }) => {
        // `auth: true` admits sessions only, so there is always one to keep.
        await sessions.revokeOthers(user.id, sessionId!, clientMeta(request))
        set.status = 204
      },
      {
        auth: true,
        response: { 204: t.Void({ description: 'Every other session of the caller is revoked' }), ...errorResponses(401) },
        detail: { tags: ['auth'], summary: 'Log out everywhere else: revoke all sessions but the current one' }
      }
    )
    .delete(
      '/users/:user_id/sessions',
      async ({ params, user, request, set }) => {
        await sessions.revokeAllOf(params.user_id, { actorId: user.id, ...clientMeta(request) })
        set.status = 204
      },
      {
        auth: 'admin',
        params: UserIdParams,
        response: {
          204: t.Void({ description: 'Every session of the user is revoked; their refresh and access tokens stop working' }),
          ...errorResponses(401, 403, 404, 422)
        },
        detail: {
          tags: ['auth'],
          summary: 'Sign a user out everywhere (admins): revoke all their sessions',
          description:
            'Ends every session of the user, on every device; each access token is refused on its next request and each refresh token with 401. ' +
            'Their personal access tokens stay (revoke those with a password change or deactivation); the password is unchanged, so they can sign in again. ' +
            'Recorded as `session.revoked` with `by: "admin"` and the count. 404 `{"detail":"User not found"}` for an unknown id.'
        }
      }
    )
}
