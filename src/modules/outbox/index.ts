// E-mail outbox controller: queue inspection and retry, for admins. Routes only.
import { Elysia, t } from 'elysia'
import type { AuthPlugin } from '../auth/macro'
import { limitParam, querySpec, skipParam } from '../../http/query'
import { errorResponses } from '../../http/schemas'
import type { MailService } from '../../mail/service'
import { EmailIdParams, EmailList, EmailResponse, toEmailResponse } from './model'

const listQuery = querySpec({
  status: { type: 'string', maxLength: 16, enum: ['queued', 'sending', 'sent', 'dead'] as const, description: 'Only e-mails in this state' },
  limit: limitParam(50),
  after: { type: 'integer', min: 0, max: Number.MAX_SAFE_INTEGER, description: 'next_after of the previous page (keyset, by id)' },
  skip: skipParam('Rows to skip (O(skip); prefer after)')
})

const Conflict = t.Object({ detail: t.String() }, { description: 'Already sent, being sent, or a reset mail' })

export function outboxModule({ mail, auth }: { mail: MailService; auth: AuthPlugin }) {
  return new Elysia({ name: 'roster.outbox' })
    .use(auth)
    .get(
      '/admin/emails',
      async ({ query }) => {
        const q = listQuery.parse(query)
        const status = q.status as 'queued' | 'sending' | 'sent' | 'dead' | undefined
        const page = await mail.page({ status, after: q.after, skip: q.skip, limit: q.limit })
        return {
          emails: page.rows.map(toEmailResponse),
          counts: await mail.counts(),
          next_after: page.nextAfter
        }
      },
      {
        auth: 'admin',
        response: { 200: EmailList, ...errorResponses(401, 403, 422) },
        detail: {
          tags: ['admin'],
          summary: 'Inspect the e-mail outbox',
          description: 'Ordered by id. Bodies are never shown (a reset mail carries a credential).',
          parameters: listQuery.parameters
        }
      }
    )
    .post('/admin/emails/:email_id/retry', async ({ params }) => toEmailResponse(await mail.retry(params.email_id)), {
      auth: 'admin',
      params: EmailIdParams,
      response: { 200: EmailResponse, ...errorResponses(401, 403, 404, 422), 409: Conflict },
      detail: {
        tags: ['admin'],
        summary: 'Send a dead (or waiting) e-mail again now',
        description: 'Due at once with a fresh attempt budget. A sent e-mail is not resent; a dead password-reset e-mail neither (its link was blanked): the user asks for a new one.'
      }
    })
}
