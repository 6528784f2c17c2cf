// Typed errors thrown by services, and their mapping to the contract's shapes.
// Services know nothing of HTTP beyond a status number; the one onError in
// app.ts turns these into {"detail": ...}.
import { ValueErrorType, type ValueError } from '@sinclair/typebox/errors'

export class AppError extends Error {
  constructor(
    readonly status: number,
    readonly detail: string,
    readonly headers?: Record<string, string>
  ) {
    super(detail)
    this.name = 'AppError'
  }
}

export const BadRequest = (detail: string) => new AppError(400, detail)
export const Unauthorized = (detail = 'Could not validate credentials') =>
  new AppError(401, detail, { 'www-authenticate': 'Bearer' })
export const Forbidden = (detail = 'Not enough permissions') => new AppError(403, detail)
export const NotFound = (detail: string) => new AppError(404, detail)
export const TooManyRequests = (detail: string, retryAfterSeconds: number) =>
  new AppError(429, detail, { 'retry-after': String(Math.max(1, Math.ceil(retryAfterSeconds))) })

export interface FieldError {
  field: string
  message: string
  type: string
}

/** A 422 raised by code (not by schema validation), in the same shape. */
export class RequestValidationError extends Error {
  constructor(readonly errors: FieldError[]) {
    super('validation failed')
    this.name = 'RequestValidationError'
  }
}

const LOCATION: Record<string, string> = {
  body: 'body',
  query: 'query',
  params: 'path',
  headers: 'header',
  cookie: 'cookie'
}

function describe(e: ValueError): { message: string; type: string } {
  const s = e.schema as Record<string, unknown>
  switch (e.type) {
    case ValueErrorType.ObjectRequiredProperty:
      return { message: 'Field required', type: 'missing' }
    case ValueErrorType.String:
      return { message: 'Input should be a valid string', type: 'string_type' }
    case ValueErrorType.StringMinLength:
      return { message: `String should have at least ${s.minLength} characters`, type: 'string_too_short' }
    case ValueErrorType.StringMaxLength:
      return { message: `String should have at most ${s.maxLength} characters`, type: 'string_too_long' }
    case ValueErrorType.StringFormat:
    case ValueErrorType.StringPattern:
      // The string branch of Elysia's coerced path/query numbers.
      if (s.format === 'integer' || s.format === 'numeric') return { message: 'Input should be a valid integer', type: 'int_parsing' }
      return {
        message: typeof s['x-error'] === 'string' ? s['x-error'] : formatMessage(String(s.format)),
        type: 'value_error'
      }
    case ValueErrorType.Integer:
      return { message: 'Input should be a valid integer', type: 'int_type' }
    case ValueErrorType.Number:
      return { message: 'Input should be a valid number', type: 'float_type' }
    case ValueErrorType.NumberMinimum:
    case ValueErrorType.IntegerMinimum:
      return { message: `Input should be greater than or equal to ${s.minimum}`, type: 'greater_than_equal' }
    case ValueErrorType.NumberMaximum:
    case ValueErrorType.IntegerMaximum:
      return { message: `Input should be less than or equal to ${s.maximum}`, type: 'less_than_equal' }
    case ValueErrorType.Boolean:
      return { message: 'Input should be a valid boolean', type: 'bool_type' }
    case ValueErrorType.Literal:
      return { message: `Input should be ${JSON.stringify(s.const)}`, type: 'literal_error' }
    case ValueErrorType.Object:
      return { message: 'Input should be a valid object', type: 'model_attributes_type' }
    case ValueErrorType.Array:
      return { message: 'Input should be a valid array', type: 'list_type' }
    case ValueErrorType.ObjectAdditionalProperties:
      return { message: 'Extra inputs are not permitted', type: 'extra_forbidden' }
    default:
      return { message: 'Invalid value', type: 'value_error' }
  }
}

// Messages for the formats Roster registers (see model.ts files); the generic
// fallback never repeats the submitted value.
const FORMAT_MESSAGES: Record<string, string> = {
  email: 'value is not a valid email address',
  alnum: 'Username must be alphanumeric',
  'strong-password': 'Password must contain at least one digit and one uppercase letter'
}

function formatMessage(format: string): string {
  return FORMAT_MESSAGES[format] ?? `Input should match format ${format}`
}

/**
 * For a union (e.g. `integer | null`), the branch errors say more than "expected
 * union value": report the first error of the branch that is not the null one.
 */
function unwrapUnion(e: ValueError): ValueError {
  if (e.type !== ValueErrorType.Union || !e.errors?.length) return e
  for (const iterator of e.errors) {
    const first = iterator.First()
    if (first && first.type !== ValueErrorType.Null) return unwrapUnion(first)
  }
  return e
}

/**
 * Converts schema errors into the contract's 422 items: one per field, the
 * location joined with dots, and never the submitted value (it may be a password).
 */
export function toFieldErrors(location: string, errors: Iterable<ValueError>, value?: unknown): FieldError[] {
  const prefix = LOCATION[location] ?? location
  const isObject = typeof value === 'object' && value !== null && !Array.isArray(value)
  // Elysia's compiled checker reports neither "not an object" nor "required":
  // both are read off the submitted value (which is never echoed).
  if (location === 'body' && !isObject) {
    return [{ field: 'body', message: 'Input should be a valid object', type: 'model_attributes_type' }]
  }
  const seen = new Map<string, FieldError>()
  for (const raw of errors) {
    if (raw.path === '' && raw.type === ValueErrorType.Object) return [{ field: prefix, ...describe(raw) }]
    const e = unwrapUnion(raw)
    const path = raw.path
      .split('/')
      .filter((p) => p !== '')
      .map((p) => p.replace(/~1/g, '/').replace(/~0/g, '~'))
    const field = [prefix, ...path].join('.')
    if (seen.has(field)) continue
    const missing = path.length === 1 && isObject && (value as Record<string, unknown>)[path[0]!] === undefined
    seen.set(field, missing ? { field, message: 'Field required', type: 'missing' } : { field, ...describe(e) })
  }
  return [...seen.values()]
}
