// Users controller: routes only. Queries live in service.ts.
import { then } from '../../lib/maybe'
import { Elysia, t } from 'elysia'
import type { AuthPlugin } from '../auth/macro'
import { Forbidden, RequestValidationError } from '../../lib/errors'
import { bodyPlugin } from '../../http/body'
import { limitParam, querySpec, skipParam } from '../../http/query'
import { MAX_SKIP } from '../../lib/page'
import { errorResponses } from '../../http/schemas'
import { PasswordChange, toUserResponse, UserCreate, UserIdParams, UserResponse, UserUpdate, UserView, V1List, V2List, viewUser, type UserDirectory } from './model'
import { decodeCursor, type UserService } from './service'
import type { Actor } from '../../lib/actor'
import type { Origin } from '../audit/service'
import type { ClientMeta } from '../sessions/service'

const listQuery = querySpec({
  skip: skipParam(`Rows to skip (O(skip); at most ${MAX_SKIP})`),
  limit: limitParam(10)
})

const v2Query = querySpec({
  skip: skipParam(`Rows to skip (O(skip); at most ${MAX_SKIP}); prefer after`),
  limit: limitParam(10),
  include_inactive: { type: 'boolean', default: false, description: 'List deactivated users too (admins only)' },
  after: { type: 'string', maxLength: 64, description: 'next_cursor of the previous page (keyset pagination)' },
  q: { type: 'string', maxLength: 254, description: 'Username prefix, case-insensitive; for admins also an e-mail prefix' },
  role: { type: 'string', maxLength: 5, enum: ['user', 'admin'] as const, description: 'Only users with this role (admins only)' },
  status: { type: 'string', maxLength: 8, enum: ['active', 'inactive'] as const, description: 'Only active or only deactivated users (admins only); overrides include_inactive' },
  email_verified: { type: 'string', maxLength: 5, enum: ['true', 'false'] as const, description: 'Only users whose e-mail address is (true) or is not (false) confirmed (admins only)' }
})

function assertSelfOrAdmin(actor: Actor, targetId: number): void {
  if (actor.id !== targetId && actor.role !== 'admin') throw Forbidden()
}

interface Deps {
  users: UserService
  auth: AuthPlugin
  allowSignup: boolean
  /** USER_DIRECTORY: what non-admins see of other users. */
  directory: UserDirectory
  clientMeta: (request: Request) => ClientMeta
}

const DIRECTORY_NOTE =
  'With USER_DIRECTORY=restricted (the default) a non-admin gets UserPublic (id, username, created_at) for every user but themself; ' +
  'admins, the caller\'s own row and USER_DIRECTORY=open get the full UserResponse. Inactive users are listed to admins only.'

export function usersModule({ users, auth, allowSignup, directory, clientMeta }: Deps) {
  const origin = (request: Request, actor: { id: number } | undefined): Origin => ({ actorId: actor?.id ?? null, ...clientMeta(request) })
  return new Elysia({ name: 'roster.users' })
    .use(bodyPlugin)
    .use(auth)
    .post(
      '/users',
      async ({ body, actor, request, set }) => {
        // Signup must know whether an admin asks: a token is optional, but checked when sent.
        if (!allowSignup && actor?.role !== 'admin') throw Forbidden('Signup is disabled')
        const row = await users.create(body, actor, origin(request, actor))
        set.status = 201
        return toUserResponse(row)
      },
      {
        optionalAuth: true,
        accepts: 'json',
        body: UserCreate,
        response: { 201: UserResponse, ...errorResponses(400, 401, 403, 422) },
        detail: {
          tags: ['users'],
          summary: 'Create a user (sign up)',
          description:
            'Open to anyone while ALLOW_SIGNUP is true; admins can always create users and may set role and is_active. Queues a welcome e-mail in the same transaction.'
        }
      }
    )
    .get(
      '/users',
      ({ query, actor }) => {
        const q = listQuery.parse(query)
        return then(users.list(q.skip, q.limit), (rows) => rows.map((u) => viewUser(u, actor, directory)))
      },
      {
        auth: 'users:read',
        response: { 200: t.Array(UserView), ...errorResponses(401, 422) },
        detail: { tags: ['users'], summary: 'List active users, ordered by id', description: DIRECTORY_NOTE, parameters: listQuery.parameters }
      }
    )
    .get('/users/me', ({ user }) => toUserResponse(user), {
      auth: 'users:read',
      response: { 200: UserResponse, ...errorResponses(401) },
      detail: { tags: ['users'], summary: 'The caller' }
    })
    .put(
      '/users/me/password',
      async ({ user, body, request, set }) => {
        await users.changePassword(user.id, body.current_password, body.new_password, origin(request, user))
        set.status = 204
      },
      {
        auth: 'users:write',
        accepts: 'json',
        body: PasswordChange,
        response: { 204: t.Void({ description: 'Password changed; every earlier token is revoked' }), ...errorResponses(400, 401, 422, 429) },
        detail: {
          tags: ['users'],
          summary: "Change the caller's password",
          description:
            '400 `{"detail":"Incorrect password"}` for a wrong current password. The current password counts in the failed-login throttle of the account and client IP: ' +
            'over it, 429 `{"detail":"Too many password attempts"}` with Retry-After, checked before any hash, even for the right password.'
        }
      }
    )
    .get('/users/:user_id', ({ params, actor }) => then(users.getVisible(params.user_id, actor), (u) => viewUser(u, actor, directory)), {
      auth: 'users:read',
      params: UserIdParams,
      response: { 200: UserView, ...errorResponses(401, 404, 422) },
      detail: { tags: ['users'], summary: 'Get a user by id', description: `${DIRECTORY_NOTE} An inactive user is 404 to non-admins.` }
    })
    .put(
      '/users/:user_id',
      async ({ params, body, actor, request }) => {
        assertSelfOrAdmin(actor, params.user_id)
        return toUserResponse(await users.update(params.user_id, body, actor, true, origin(request, actor)))
      },
      {
        auth: 'users:write',
        params: UserIdParams,
        accepts: 'json',
        body: UserCreate,
        response: { 200: UserResponse, ...errorResponses(400, 401, 403, 404, 422) },
        detail: {
          tags: ['users'],
          summary: 'Replace a user (self or admin)',
          description: 'A full UserCreate; an omitted age becomes null. A new password revokes every earlier token.'
        }
      }
    )
    .patch(
      '/users/:user_id',
      async ({ params, body, actor, request }) => {
        assertSelfOrAdmin(actor, params.user_id)
        if (Object.keys(body).length === 0) {
          throw new RequestValidationError([{ field: 'body', message: 'At least one field is required', type: 'missing' }])
        }
        return toUserResponse(await users.update(params.user_id, body, actor, false, origin(request, actor)))
      },
      {
        auth: 'users:write',
        params: UserIdParams,
        accepts: 'json',
        body: UserUpdate,
        response: { 200: UserResponse, ...errorResponses(400, 401, 403, 404, 422) },
        detail: {
          tags: ['users'],
          summary: 'Update some fields (self or admin)',
          description: 'role and is_active only by an admin. Deactivating a user or setting a password revokes every earlier token.'
        }
      }
    )
    .delete(
      '/users/:user_id',
      async ({ params, actor, request, set }) => {
        assertSelfOrAdmin(actor, params.user_id)
        await users.delete(params.user_id, origin(request, actor))
        set.status = 204
      },
      {
        auth: 'users:write',
        params: UserIdParams,
        response: { 204: t.Void({ description: 'Deleted with their sessions and files' }), ...errorResponses(400, 401, 403, 404, 422) },
        detail: { tags: ['users'], summary: 'Delete a user (self or admin)' }
      }
    )
}

export function versionedUsersModule({ users, auth, directory }: Pick<Deps, 'users' | 'auth' | 'directory'>) {
  return new Elysia({ name: 'roster.users.versioned' })
    .use(auth)
    .get(
      '/api/v1/users',
      ({ query, actor }) => {
        const q = listQuery.parse(query)
        return then(users.list(q.skip, q.limit), (rows) => ({ version: '1.0' as const, users: rows.map((u) => viewUser(u, actor, directory)) }))
      },
      {
        auth: 'users:read',
        response: { 200: V1List, ...errorResponses(401, 422) },
        detail: { tags: ['v1'], summary: 'List active users (v1)', description: DIRECTORY_NOTE, parameters: listQuery.parameters }
      }
    )
    .get(
      '/api/v2/users',
      ({ query, actor }) => {
        const q = v2Query.parse(query)
        const admin = actor.role === 'admin'
        // Inactive users, and filtering by role, status or confirmation, would tell a non-admin what the directory hides.
        if (!admin && (q.include_inactive || q.role !== undefined || q.status !== undefined || q.email_verified !== undefined)) throw Forbidden()
        let after: number | undefined
        if (q.after !== undefined) {
          after = decodeCursor(q.after)
          if (after === undefined) throw new RequestValidationError([{ field: 'query.after', message: 'Invalid cursor', type: 'value_error' }])
          if (q.skip > 0) throw new RequestValidationError([{ field: 'query.skip', message: 'Use either skip or after, not both', type: 'value_error' }])
        }
        const active = q.status === undefined ? undefined : q.status === 'active'
        const page = users.page({
          after,
          skip: q.skip,
          limit: q.limit,
          includeInactive: q.include_inactive,
          q: q.q?.trim() || undefined,
          matchEmail: admin,
          role: q.role as 'user' | 'admin' | undefined,
          active,
          verified: q.email_verified === undefined ? undefined : q.email_verified === 'true'
        })
        return then(page, (page) => ({
          version: '2.0' as const,
          users: page.rows.map((u) => viewUser(u, actor, directory)),
          includes_inactive: active === undefined ? q.include_inactive : !active,
          next_cursor: page.nextCursor
        }))
      },
      {
        auth: 'users:read',
        response: { 200: V2List, ...errorResponses(401, 403, 422) },
        detail: {
          tags: ['v2'],
          summary: 'List users (v2) with keyset pagination',
          description:
            'Follow next_cursor with `after` for pages whose cost does not grow with depth. `skip` is O(skip) and capped. ' +
            '`q` finds users whose username (for admins: or e-mail) starts with it, case-insensitively; `include_inactive`, `role`, `status` and `email_verified` are for admins (403 otherwise). Filters keep the keyset order by id. ' +
            DIRECTORY_NOTE,
          parameters: v2Query.parameters
        }
      }
    )
}
