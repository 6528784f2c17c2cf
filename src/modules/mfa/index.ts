// TOTP controller: setup, enable, disable, and the admin reset. The login's
// second step (POST /auth/mfa/verify) lives with login in modules/auth.
import { Elysia, t } from 'elysia'
import { bodyPlugin } from '../../http/body'
import type { AuthPlugin } from '../auth/macro'
import { errorResponses } from '../../http/schemas'
import { UserIdParams } from '../users/model'
import { RecoveryCodesResponse, TotpDisableBody, TotpEnableBody, TotpSetupBody, TotpSetupResponse } from './model'
import type { ClientMeta } from '../sessions/service'
import type { MfaService } from './service'

interface Deps {
  mfa: MfaService
  auth: AuthPlugin
  clientMeta: (request: Request) => ClientMeta
}

export function mfaModule({ mfa, auth, clientMeta }: Deps) {
  return new Elysia({ name: 'roster.mfa' })
    .use(bodyPlugin)
    .use(auth)
    .post(
      '/auth/mfa/totp/setup',
      async ({ user, body, request, set }) => {
        const out = await mfa.setup(user, body.password, clientMeta(request).ip)
        set.headers['cache-control'] = 'no-store'
        return out
      },
      {
        auth: true,
        accepts: 'json',
        body: TotpSetupBody,
        response: { 200: TotpSetupResponse, ...errorResponses(400, 401, 422, 429) },
        detail: {
          tags: ['mfa'],
          summary: 'Start TOTP setup: a new secret for the authenticator app',
          description:
            'The password is re-entered (400 `{"detail":"Incorrect password"}`; it counts in the failed-login throttle: 429 `{"detail":"Too many password attempts"}` with Retry-After). Nothing is active until /auth/mfa/totp/enable receives a code made from this secret; ' +
            'calling setup again replaces the pending secret. 400 `{"detail":"TOTP is already enabled"}` when it is on. The secret is stored encrypted and never shown again.'
        }
      }
    )
    .post(
      '/auth/mfa/totp/enable',
      async ({ user, body, request, set }) => {
        const codes = await mfa.enable(user.id, body.code, { actorId: user.id, ...clientMeta(request) })
        set.headers['cache-control'] = 'no-store'
        return { recovery_codes: codes }
      },
      {
        auth: true,
        accepts: 'json',
        body: TotpEnableBody,
        response: { 200: RecoveryCodesResponse, ...errorResponses(400, 401, 422) },
        detail: {
          tags: ['mfa'],
          summary: 'Turn TOTP on with a first valid code',
          description:
            'Returns ten recovery codes, shown only in this response. 400 `{"detail":"Invalid code"}` for a wrong code or before setup; ' +
            'from then on, logging in asks for a code (see POST /auth/login).'
        }
      }
    )
    .post(
      '/auth/mfa/totp/disable',
      async ({ user, body, request, set }) => {
        await mfa.disable(user, body.password, body.code, { actorId: user.id, ...clientMeta(request) })
        set.status = 204
      },
      {
        auth: true,
        accepts: 'json',
        body: TotpDisableBody,
        response: { 204: t.Void({ description: 'TOTP is off; the secret and recovery codes are deleted' }), ...errorResponses(400, 401, 422, 429) },
        detail: {
          tags: ['mfa'],
          summary: 'Turn TOTP off (password and a code)',
          description:
            'The code may be a current TOTP code or an unused recovery code. 400 `{"detail":"Incorrect password"}`, `{"detail":"Invalid code"}`, or `{"detail":"TOTP is not enabled"}`. ' +
            'Each attempt counts in the failed-login throttle (a wrong password or code keeps its place; both right clear the count): over it, 429 `{"detail":"Too many password attempts"}` with Retry-After.'
        }
      }
    )
    .delete(
      '/users/:user_id/mfa',
      async ({ params, user, request, set }) => {
        await mfa.reset(params.user_id, { actorId: user.id, ...clientMeta(request) })
        set.status = 204
      },
      {
        auth: 'admin',
        params: UserIdParams,
        response: { 204: t.Void({ description: 'TOTP is off for that user; their secret, recovery codes and pending logins are deleted' }), ...errorResponses(401, 403, 404, 422) },
        detail: { tags: ['mfa'], summary: "Reset a user's TOTP (admins): for a user who lost their authenticator" }
      }
    )
}
