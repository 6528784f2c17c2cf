// Strict query-string parsing. Elysia's coercion of query numbers reports one
// error at a time and loses the field name when a bound fails (elysia#1660), so
// query parameters are declared here once: the same spec validates (every bad
// field reported together, in the contract's shape) and documents (OpenAPI
// `parameters`).
import type { OpenAPIV3 } from 'openapi-types'
import { MAX_SKIP } from '../lib/page'
import { RequestValidationError, type FieldError } from '../lib/errors'

type Param =
  | { type: 'integer'; min: number; max: number; default?: number; description?: string }
  | { type: 'boolean'; default: boolean; description?: string }
  | { type: 'string'; maxLength: number; enum?: readonly string[]; description?: string }

type Spec = Record<string, Param>

type Out<P extends Param> = P extends { type: 'integer'; default: number }
  ? number
  : P extends { type: 'integer' }
    ? number | undefined
    : P extends { type: 'boolean' }
      ? boolean
      : string | undefined

export type Parsed<S extends Spec> = { [K in keyof S]: Out<S[K]> }

const INTEGER = /^-?\d{1,15}$/

/** The offset parameter every listing shares, bounded by MAX_SKIP. */
export const skipParam = (description: string) => ({ type: 'integer', min: 0, max: MAX_SKIP, default: 0, description }) as const

/** The page-size parameter every listing shares: 1 to 100. */
export const limitParam = (fallback: number) => ({ type: 'integer', min: 1, max: 100, default: fallback, description: 'Page size, 1 to 100' }) as const

export function querySpec<const S extends Spec>(spec: S) {
  const parameters: OpenAPIV3.ParameterObject[] = Object.entries(spec).map(([name, p]) => ({
    name,
    in: 'query',
    required: false,
    description: p.description,
    schema:
      p.type === 'integer'
        ? { type: 'integer' as const, minimum: p.min, maximum: p.max, default: p.default }
        : p.type === 'boolean'
          ? { type: 'boolean' as const, default: p.default }
          : { type: 'string' as const, maxLength: p.maxLength, enum: p.enum ? [...p.enum] : undefined }
  }))

  function parse(query: Record<string, string | undefined>): Parsed<S> {
    const out: Record<string, unknown> = {}
    const errors: FieldError[] = []
    for (const [name, p] of Object.entries(spec)) {
      const raw = query[name]
      const field = `query.${name}`
      if (raw === undefined || raw === '') {
        out[name] = 'default' in p ? p.default : undefined
        continue
      }
      if (p.type === 'integer') {
        if (!INTEGER.test(raw)) {
          errors.push({ field, message: 'Input should be a valid integer', type: 'int_parsing' })
          continue
        }
        const n = Number(raw)
        if (n < p.min) errors.push({ field, message: `Input should be greater than or equal to ${p.min}`, type: 'greater_than_equal' })
        else if (n > p.max) errors.push({ field, message: `Input should be less than or equal to ${p.max}`, type: 'less_than_equal' })
        else out[name] = n
      } else if (p.type === 'boolean') {
        const v = raw.toLowerCase()
        if (v === 'true' || v === '1') out[name] = true
        else if (v === 'false' || v === '0') out[name] = false
        else errors.push({ field, message: 'Input should be a valid boolean', type: 'bool_parsing' })
      } else {
        if (raw.length > p.maxLength) errors.push({ field, message: `String should have at most ${p.maxLength} characters`, type: 'string_too_long' })
        else if (p.enum && !p.enum.includes(raw)) errors.push({ field, message: `Input should be ${p.enum.map((e) => `'${e}'`).join(' or ')}`, type: 'enum' })
        else out[name] = raw
      }
    }
    if (errors.length) throw new RequestValidationError(errors)
    return out as Parsed<S>
  }

  return { parameters, parse }
}
