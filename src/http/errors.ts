// The one place that turns every failure into the contract's {"detail": ...}:
// the typed errors services throw (lib/errors.ts), schema validation (one
// item per bad field, never the submitted value), unknown routes, and anything
// else as a generic 500 logged with the request id.
import { Elysia } from 'elysia'
import { ValueErrorType, type ValueError } from '@sinclair/typebox/errors'
import { AppError, RequestValidationError, type FieldError } from '../lib/errors'
import type { Logger } from '../lib/log'
import { noteStatus, requestIdOf } from './request-log'

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

const jsonResponse = (status: number, body: unknown, headers?: Record<string, string>) =>
  new Response(JSON.stringify(body), {
    status,
    headers: { 'content-type': 'application/json; charset=utf-8', ...headers }
  })

// Only `request`, `code`, `error` and `set` are touched: destructuring params
// or body here would make Elysia parse them on every request.
export function errorPlugin(logger: Logger) {
  return new Elysia({ name: 'roster.errors' }).onError({ as: 'global' }, ({ code, error, request, set }) => {
    const requestId = requestIdOf(request)
    const base = { 'x-request-id': requestId }
    const json = (status: number, body: unknown, headers?: Record<string, string>) => {
      noteStatus(request, status)
      return jsonResponse(status, body, headers)
    }
    // Elysia wraps whatever a parse hook throws in a ParseError: the body
    // limit (413), the media type (415) and not-an-object (422) are ours.
    const cause = code === 'PARSE' ? (error as { cause?: unknown }).cause : undefined
    const own = cause instanceof AppError || cause instanceof RequestValidationError ? cause : error
    if (own instanceof AppError) return json(own.status, { detail: own.detail }, { ...base, ...own.headers })
    if (own instanceof RequestValidationError) return json(422, { detail: own.errors }, base)
    switch (code) {
      case 'VALIDATION': {
        const location = error.type === 'property' ? 'params' : error.type
        const items = toFieldErrors(location, error.all as never, error.value)
        return json(422, { detail: items.length ? items : [{ field: location === 'params' ? 'path' : 'body', message: 'Invalid input', type: 'value_error' }] }, base)
      }
      case 'PARSE':
        return json(422, { detail: [{ field: 'body', message: 'Body is not valid JSON', type: 'json_invalid' }] }, base)
      case 'NOT_FOUND':
        return json(404, { detail: 'Not Found' }, base)
    }
    const status = typeof set.status === 'number' && set.status >= 400 && set.status < 500 ? set.status : 500
    if (status === 500) {
      // The class name only: messages can hold SQL text, paths or values.
      const name = error instanceof Error ? error.name : typeof error
      const sqliteCode = (error as { code?: unknown })?.code
      logger.error('unhandled error', {
        request_id: requestId,
        method: request.method,
        error: name,
        code: typeof sqliteCode === 'string' ? sqliteCode : undefined
      })
      return json(500, { detail: 'Internal server error' }, base)
    }
    return json(status, { detail: 'Bad request' }, base)
  })
}
