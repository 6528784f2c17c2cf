// Audit controller: the admins' query over the whole log and each user's own
// trail. Read-only: no route changes or removes an event.
import { Elysia } from 'elysia'
import type { AuthPlugin } from '../auth/macro'
import { RequestValidationError, type FieldError } from '../../lib/errors'
import { querySpec } from '../../http/query'
import { errorResponses } from '../../http/schemas'
import { AuditPage } from './model'
import { decodeAuditCursor, type AuditEvent, type AuditService } from './service'

const MAX_ID = Number.MAX_SAFE_INTEGER

const pageParams = {
  after: { type: 'string', maxLength: 64, description: 'next_cursor of the previous page' },
  limit: { type: 'integer', min: 1, max: 100, default: 50, description: 'Page size, 1 to 100' }
} as const

const adminQuery = querySpec({
  type: { type: 'string', maxLength: 64, description: 'Only events of this type (see the event list in the docs); an unknown type matches nothing' },
  actor_id: { type: 'integer', min: 1, max: MAX_ID, description: 'Only events caused by this user' },
  target_id: { type: 'integer', min: 1, max: MAX_ID, description: 'Only events about this user' },
  since: { type: 'string', maxLength: 64, description: 'RFC 3339 time: events at or after it' },
  until: { type: 'string', maxLength: 64, description: 'RFC 3339 time: events before it' },
  ...pageParams
})

const ownQuery = querySpec({
  type: { type: 'string', maxLength: 64, description: 'Only events of this type (see the event list in the docs); an unknown type matches nothing' },
  ...pageParams
})

const RFC3339 = /^\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:\d{2})$/

/**
 * The query: the spec's fields, then the cursor and times, every bad field
 * reported together in one 422.
 */
function parseQuery<T extends { after?: string; since?: string; until?: string }>(parse: () => T, raw: Record<string, string | undefined>) {
  const errors: FieldError[] = []
  let q: T | undefined
  try {
    q = parse()
  } catch (err) {
    if (!(err instanceof RequestValidationError)) throw err
    errors.push(...err.errors)
  }
  const bounds = parseBounds({ after: raw.after, since: raw.since, until: raw.until }, errors)
  if (errors.length || !q) throw new RequestValidationError(errors)
  return { q, ...bounds }
}

function parseBounds(q: { after?: string; since?: string; until?: string }, errors: FieldError[]) {
  const time = (name: 'since' | 'until') => {
    const raw = q[name]
    if (raw === undefined || raw === '') return undefined
    const ms = RFC3339.test(raw) ? Date.parse(raw) : NaN
    if (Number.isNaN(ms)) {
      errors.push({ field: `query.${name}`, message: 'Input should be an RFC 3339 date-time', type: 'datetime_parsing' })
      return undefined
    }
    return new Date(ms).toISOString()
  }
  const since = time('since')
  const until = time('until')
  let before: number | undefined
  if (q.after !== undefined && q.after !== '') {
    before = decodeAuditCursor(q.after)
    if (before === undefined) errors.push({ field: 'query.after', message: 'Invalid cursor', type: 'value_error' })
  }
  return { since, until, before }
}

/** What a user sees of their own trail: another person's client address is theirs, not the user's. */
function forOwner(userId: number) {
  return (e: AuditEvent): AuditEvent => (e.actor_id !== null && e.actor_id !== userId ? { ...e, ip: null, user_agent: null } : e)
}

export function auditModule({ audit, auth }: { audit: AuditService; auth: AuthPlugin }) {
  return new Elysia({ name: 'roster.audit' })
    .use(auth)
    .get(
      '/admin/audit',
      async ({ query }) => {
        const { q, since, until, before } = parseQuery(() => adminQuery.parse(query), query)
        const page = await audit.list({ type: q.type, actorId: q.actor_id, targetId: q.target_id, since, until, before, limit: q.limit })
        return { events: page.events, next_cursor: page.nextCursor }
      },
      {
        auth: 'admin',
        response: { 200: AuditPage, ...errorResponses(401, 403, 422) },
        detail: {
          tags: ['admin'],
          summary: 'Query the audit log',
          description: 'Newest first, keyset paginated: pass `next_cursor` as `after`. Filters combine with AND.',
          parameters: adminQuery.parameters
        }
      }
    )
    .get(
      '/users/me/audit',
      async ({ query, user }) => {
        const { q, before } = parseQuery(() => ownQuery.parse(query), { after: query.after })
        const page = await audit.list({ type: q.type, involving: user.id, before, limit: q.limit })
        return { events: page.events.map(forOwner(user.id)), next_cursor: page.nextCursor }
      },
      {
        auth: 'users:read',
        response: { 200: AuditPage, ...errorResponses(401, 403, 422) },
        detail: {
          tags: ['users'],
          summary: "The caller's own security activity",
          description:
            'Events in which the caller is the actor or the target, newest first, keyset paginated. ' +
            "When another person acted (an admin), that person's IP and user agent are not shown.",
          parameters: ownQuery.parameters
        }
      }
    )
}
