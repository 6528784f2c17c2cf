// Personal access tokens: schemas defined once for validation, responses and docs.
import { t } from 'elysia'
import { Type, type Static } from '@sinclair/typebox'

/** What a personal access token may do; a session (JWT) may do everything its role allows. */
export const SCOPES = ['users:read', 'users:write', 'files:read', 'files:write', 'admin'] as const
export type Scope = (typeof SCOPES)[number]

export const TokenCreate = t.Object({
  name: t.String({ minLength: 1, maxLength: 100, description: 'A label for the owner (e.g. "ci-deploy")' }),
  scopes: t.Array(t.Union(SCOPES.map((s) => t.Literal(s))), {
    minItems: 1,
    maxItems: SCOPES.length,
    uniqueItems: true,
    description: '`admin` only for admins; it grants admin rights only while the owner is an admin'
  }),
  // TypeBox's own Integer: Elysia's t.Integer would accept "30" in a JSON body.
  expires_in_days: t.Optional(Type.Integer({ minimum: 1, maximum: 3650, description: 'Omit for a token that does not expire' }))
})
export type TokenCreate = Static<typeof TokenCreate>

const tokenFields = {
  id: Type.Integer(),
  name: t.String(),
  scopes: t.Array(t.String()),
  created_at: t.String({ format: 'date-time' }),
  expires_at: Type.Union([t.String({ format: 'date-time' }), Type.Null()]),
  last_used_at: Type.Union([t.String({ format: 'date-time' }), Type.Null()], { description: 'To the minute' })
}

export const TokenInfo = t.Object(tokenFields, { additionalProperties: false })
export type TokenInfo = Static<typeof TokenInfo>

export const TokenCreated = t.Object(
  { ...tokenFields, token: t.String({ description: 'rst_...: shown only in this response, stored only as a hash' }) },
  { additionalProperties: false }
)

export const TokenIdParams = t.Object({ token_id: t.Integer({ description: 'Token id' }) })
