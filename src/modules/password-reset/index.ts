// Password-reset controller: routes only. The work lives in service.ts.
import { Elysia, t } from 'elysia'
import { bodyPlugin } from '../../http/body'
import { errorResponses } from '../../http/schemas'
import { RESET_ACCEPTED, ResetAccepted, ResetConfirm, ResetRequest } from './model'
import type { ClientMeta } from '../sessions/service'
import type { PasswordResetService } from './service'

export function passwordResetModule({ resets, clientMeta }: { resets: PasswordResetService; clientMeta: (request: Request) => ClientMeta }) {
  return new Elysia({ name: 'roster.password-reset' })
    .use(bodyPlugin)
    .post(
      '/auth/password-reset',
      ({ body, request, set }) => {
        resets.request(body.email, { actorId: null, ...clientMeta(request) })
        set.status = 202
        return RESET_ACCEPTED
      },
      {
        accepts: 'json',
        body: ResetRequest,
        response: { 202: ResetAccepted, ...errorResponses(422) },
        detail: {
          tags: ['auth'],
          summary: 'Ask for a password-reset link by e-mail',
          description:
            'Answers 202 with the same body, at once, whether or not the address is registered. A registered, active address gets a link valid one hour, at most 3 per hour.'
        }
      }
    )
    .post(
      '/auth/password-reset/confirm',
      async ({ body, request, set }) => {
        await resets.confirm(body.token, body.new_password, { actorId: null, ...clientMeta(request) })
        set.status = 204
      },
      {
        accepts: 'json',
        body: ResetConfirm,
        response: { 204: t.Void({ description: 'Password set; the token, every earlier reset link, every access token and session are revoked' }), ...errorResponses(400, 422) },
        detail: { tags: ['auth'], summary: 'Set a new password with a reset token' }
      }
    )
}
