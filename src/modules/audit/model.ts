import { t } from 'elysia'
import { Type } from '@sinclair/typebox'
import { AUDIT_TYPES } from './service'

const NullableString = Type.Union([t.String(), Type.Null()])

export const AuditEventResponse = t.Object(
  {
    id: Type.Integer({ description: 'Position in the chain; ids have no gaps' }),
    at: t.String({ format: 'date-time' }),
    type: t.String({ enum: [...AUDIT_TYPES], description: 'See the audit event list in the docs' }),
    actor_id: Type.Union([Type.Integer(), Type.Null()], { description: 'Who acted; null for an anonymous request or Roster itself' }),
    target_id: Type.Union([Type.Integer(), Type.Null()], { description: 'The user the event is about, if any' }),
    ip: Type.Union([t.String(), Type.Null()], { description: "The actor's client IP" }),
    user_agent: NullableString,
    details: t.Record(t.String(), Type.Union([t.Boolean(), Type.Number(), t.String(), t.Array(t.String()), Type.Null()]), {
      description: 'Per type (see the event list in the docs): names, ids, flags and counts; never a password, hash, token or code'
    })
  },
  { additionalProperties: false }
)

export const AuditPage = t.Object({
  events: t.Array(AuditEventResponse, { description: 'Newest first' }),
  next_cursor: Type.Union([t.String(), Type.Null()], { description: 'Pass as `after` for the next (older) page; null on the last page' })
})
