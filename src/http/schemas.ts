// Error bodies as documented in the OpenAPI document, and the response maps
// routes spread into their `response` so every route lists its error replies.
import { t } from 'elysia'

const ValidationErrorBody = t.Object(
  {
    detail: t.Array(
      t.Object({
        field: t.String({ description: 'body.<name>, query.<name>, path.<name>, or body' }),
        message: t.String(),
        type: t.String()
      })
    )
  },
  { description: 'Validation error: one item per bad field; submitted values are never echoed' }
)

export const errors = {
  400: t.Object({ detail: t.String() }, { description: 'Bad request' }),
  401: t.Object({ detail: t.String() }, { description: 'Missing, invalid, expired or revoked token' }),
  403: t.Object({ detail: t.String() }, { description: 'Not enough permissions' }),
  404: t.Object({ detail: t.String() }, { description: 'Not found' }),
  422: ValidationErrorBody,
  429: t.Object({ detail: t.String() }, { description: 'Too many requests; see the Retry-After header (seconds)' })
} as const

type Code = keyof typeof errors
export function errorResponses<const C extends Code[]>(...codes: C): { [K in C[number]]: (typeof errors)[K] } {
  const out: Record<number, unknown> = {}
  for (const c of codes) out[c] = errors[c]
  return out as { [K in C[number]]: (typeof errors)[K] }
}
