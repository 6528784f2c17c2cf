import { t } from 'elysia'
import type { Static } from '@sinclair/typebox'
import type { SessionRow } from '../../db/schema'
import { iso } from '../../lib/time'

export const SessionResponse = t.Object({
  id: t.String({ description: 'Public session id (not a credential)' }),
  created_at: t.String({ format: 'date-time', description: 'Login time' }),
  last_used_at: t.String({ format: 'date-time', description: 'Last login or refresh' }),
  expires_at: t.String({ format: 'date-time', description: 'The session ends then, however often it is refreshed' }),
  user_agent: t.Union([t.String(), t.Null()]),
  ip: t.Union([t.String(), t.Null()], { description: 'Client IP at the last login or refresh' }),
  current: t.Boolean({ description: 'The session of the access token making this request' })
})

/** No token material: the hashes stay in the row. */
export function toSessionResponse(r: SessionRow, currentId: string | undefined): Static<typeof SessionResponse> {
  return {
    id: r.id,
    created_at: iso(r.createdAt),
    last_used_at: iso(r.lastUsedAt),
    expires_at: iso(r.expiresAt),
    user_agent: r.userAgent,
    ip: r.ip,
    current: r.id === currentId
  }
}

export const SessionIdParams = t.Object({
  session_id: t.String({ minLength: 1, maxLength: 64 })
})
