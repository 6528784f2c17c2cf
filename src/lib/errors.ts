// Typed errors thrown by services: a status number and a plain sentence, no
// HTTP types. The error plugin (http/errors.ts) maps them to {"detail": ...}.

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
/** The one answer for an unknown, spent or expired one-time token (reset, verification, invitation). */
export const INVALID_TOKEN = 'Invalid or expired token'

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
