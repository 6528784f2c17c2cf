// E-mail verification controller: spend a link's token; ask for a new link.
import { Elysia, t } from 'elysia'
import type { AuthPlugin } from '../auth/macro'
import { bodyPlugin } from '../../http/body'
import { errorResponses } from '../../http/schemas'
import type { ClientMeta } from '../sessions/service'
import { RESEND_ACCEPTED, ResendAccepted, VerifyEmailBody } from './model'
import { MAX_RESENDS_PER_HOUR, type VerificationService } from './service'

interface Deps {
  verification: VerificationService
  auth: AuthPlugin
  clientMeta: (request: Request) => ClientMeta
}

export function verificationModule({ verification, auth, clientMeta }: Deps) {
  return new Elysia({ name: 'roster.verification' })
    .use(bodyPlugin)
    .use(auth)
    .post(
      '/auth/verify-email',
      async ({ body, request, set }) => {
        await verification.verify(body.token, { actorId: null, ...clientMeta(request) })
        set.status = 204
      },
      {
        accepts: 'json',
        body: VerifyEmailBody,
        response: {
          204: t.Void({ description: 'The address the link was sent to is verified' }),
          400: t.Object({ detail: t.String() }, { description: '`Invalid or expired token`: unknown, already used, expired, or for an address the account no longer has' }),
          ...errorResponses(422)
        },
        detail: {
          tags: ['auth'],
          summary: 'Verify an e-mail address with the token from its link',
          description: 'Single use, valid 48 hours. Loading the link page spends nothing: only this POST does.'
        }
      }
    )
    .post(
      '/auth/verify-email/resend',
      async ({ user, set }) => {
        await verification.resend(user.id)
        set.status = 202
        return RESEND_ACCEPTED
      },
      {
        auth: true,
        response: {
          202: ResendAccepted,
          ...errorResponses(401, 429)
        },
        detail: {
          tags: ['auth'],
          summary: 'Mail a new verification link to the caller',
          description: `At most ${MAX_RESENDS_PER_HOUR} per hour per user; beyond, 429 \`{"detail":"Too many verification e-mails"}\` with Retry-After.`
        }
      }
    )
}
