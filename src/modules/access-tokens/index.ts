// Personal access tokens controller: create, list, revoke the caller's own.
// Reached with a session only: a token cannot mint or list tokens.
import { Elysia, t } from 'elysia'
import { bodyPlugin } from '../../http/body'
import type { AuthPlugin } from '../auth/macro'
import { errorResponses } from '../../http/schemas'
import { TokenCreate, TokenCreated, TokenIdParams, TokenInfo } from './model'
import type { ClientMeta } from '../sessions/service'
import { toTokenInfo, type AccessTokenService } from './service'

interface Deps {
  accessTokens: AccessTokenService
  auth: AuthPlugin
  clientMeta: (request: Request) => ClientMeta
}

export function accessTokensModule({ accessTokens, auth, clientMeta }: Deps) {
  return new Elysia({ name: 'roster.access-tokens' })
    .use(bodyPlugin)
    .use(auth)
    .post(
      '/auth/tokens',
      async ({ actor, body, request, set }) => {
        const { row, token } = await accessTokens.create(actor, body, { actorId: actor.id, ...clientMeta(request) })
        set.status = 201
        set.headers['cache-control'] = 'no-store'
        return { ...toTokenInfo(row), token }
      },
      {
        auth: true,
        accepts: 'json',
        body: TokenCreate,
        response: { 201: TokenCreated, ...errorResponses(400, 401, 403, 422) },
        detail: {
          tags: ['tokens'],
          summary: 'Create a personal access token for scripts',
          description:
            'The token (`rst_...`) is shown only in this response and stored as a hash. Send it as `Authorization: Bearer rst_...`. ' +
            'Scopes: users:read, users:write, files:read, files:write, admin (admins only: 403 otherwise). At most 50 tokens per user (400). ' +
            'A password change or reset, deactivation or deletion revokes every token.'
        }
      }
    )
    .get('/auth/tokens', async ({ user }) => (await accessTokens.list(user.id)).map(toTokenInfo), {
      auth: true,
      response: { 200: t.Array(TokenInfo), ...errorResponses(401) },
      detail: { tags: ['tokens'], summary: "The caller's personal access tokens (never the secret)" }
    })
    .delete(
      '/auth/tokens/:token_id',
      async ({ user, params, request, set }) => {
        await accessTokens.revoke(user.id, params.token_id, { actorId: user.id, ...clientMeta(request) })
        set.status = 204
      },
      {
        auth: true,
        params: TokenIdParams,
        response: { 204: t.Void({ description: 'Revoked: the token stops working at once' }), ...errorResponses(401, 404, 422) },
        detail: { tags: ['tokens'], summary: 'Revoke one of the caller’s tokens', description: 'Another user’s token is 404 `{"detail":"Token not found"}`.' }
      }
    )
}
