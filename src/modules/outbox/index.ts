// E-mail outbox controller: queue inspection and retry, for admins. Routes only.
import { Elysia, t } from 'elysia'
import type { AuthPlugin } from '../auth/macro'
import { querySpec } from '../../http/query'
import { trimPage } from '../../lib/page'
import { errorResponses } from '../../http/schemas'
import type { EmailView, MailService } from '../../mail/service'
import { EmailIdParams, EmailList, EmailResponse } from './model'

const listQuery = querySpec({
  status: { type: 'string', maxLength: 16, enum: ['queued', 'sending', 'sent', 'dead'] as const, description: 'Only e-mails in this state' },
  limit: { type: 'integer', min: 1, max: 100, default: 50, description: 'Page size, 1 to 100' },
  after: { type: 'integer', min: 0, max: Number.MAX_SAFE_INTEGER, description: 'next_after of the previous page (keyset, by id)' },
  skip: { type: 'integer', min: 0, max: 10_000, default: 0, description: 'Rows to skip (O(skip); prefer after)' }
})

const iso = (ms: number) => new Date(ms).toISOString()

function toEmailResponse(e: EmailView) {
  return {
    id: e.id,
    kind: e.kind,
    to: e.toAddress,
    subject: e.subject,
    status: e.status,
    attempts: e.attempts,
    next_attempt_at: iso(e.nextAttemptAt),
    last_error: e.lastError,
    created_at: iso(e.createdAt),
    sent_at: e.sentAt === null ? null : iso(e.sentAt),
    message_id: e.messageId
  }
}

const Conflict = t.Object({ detail: t.String() }, { description: 'Already sent, being sent, or a reset mail' })

export function outboxModule({ mail, auth }: { mail: MailService; auth: AuthPlugin }) {
  return new Elysia({ name: 'roster.outbox' })
    .use(auth)
    .get(
      '/admin/emails',
      ({ query }) => {
        const q = listQuery.parse(query)
        const status = q.status as 'queued' | 'sending' | 'sent' | 'dead' | undefined
        const { rows, next } = trimPage(mail.list({ status, after: q.after, skip: q.skip, limit: q.limit + 1 }), q.limit)
        return {
          emails: rows.map(toEmailResponse),
          counts: mail.counts(),
          next_after: next ? next.id : null
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
    .post('/admin/emails/:email_id/retry', ({ params }) => toEmailResponse(mail.retry(params.email_id)), {
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
