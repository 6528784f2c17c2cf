import { t } from 'elysia'
import { Type, type Static } from '@sinclair/typebox'
import { iso } from '../../lib/time'
import type { EmailView } from '../../mail/service'

const Status = t.Union([t.Literal('queued'), t.Literal('sending'), t.Literal('sent'), t.Literal('dead')])
const Time = t.String({ format: 'date-time' })

// No bodies: a password-reset mail's body is a credential.
export const EmailResponse = t.Object(
  {
    id: Type.Integer(),
    kind: t.String({ examples: ['welcome', 'password_reset'] }),
    to: t.String(),
    subject: t.String(),
    status: Status,
    attempts: Type.Integer({ description: 'Sends started so far' }),
    next_attempt_at: Time,
    last_error: Type.Union([t.String(), Type.Null()], { description: 'SMTP code and first reply line of the last failure, credentials scrubbed' }),
    created_at: Time,
    sent_at: Type.Union([Time, Type.Null()]),
    message_id: t.String({ description: 'The Message-ID the mail is (re)sent with' })
  },
  { additionalProperties: false }
)

export function toEmailResponse(e: EmailView): Static<typeof EmailResponse> {
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

export const EmailList = t.Object({
  emails: t.Array(EmailResponse),
  counts: t.Object({ queued: Type.Integer(), sending: Type.Integer(), sent: Type.Integer(), dead: Type.Integer() }, { description: 'The whole outbox by status' }),
  next_after: Type.Union([Type.Integer(), Type.Null()], { description: 'Pass as `after` for the next page; null on the last page' })
})

export const EmailIdParams = t.Object({ email_id: t.Integer({ description: 'Outbox id' }) })
