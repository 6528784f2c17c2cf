// Routes of the wire contract (shared/api-contract.md) that this server's OpenAPI
// document may not list yet. The console is typed from the generated document
// (openapi.gen.ts); an entry here only fills in a path the document lacks, and is
// overridden by the document's own entry as soon as the route exists.
type Json<T> = { content: { 'application/json': T } }
type Errors = { 400: Json<{ detail: string }>; 401: Json<{ detail: string }>; 403: Json<{ detail: string }>; 404: Json<{ detail: string }>; 422: Json<{ detail: unknown }>; 429: Json<{ detail: string }> }
type Params<Query, Path> = { query?: Query; header?: never; cookie?: never } & ([Path] extends [never] ? { path?: never } : { path: Path })
type BodyOf<Body> = [Body] extends [never] ? { requestBody?: never } : { requestBody: Json<Body> }
type Op<Body, Ok, Query = never, Path = never> = {
  parameters: Params<Query, Path>
  responses: { 200: Json<Ok>; 201: Json<Ok> } & Errors
} & BodyOf<Body>
type NoContent<Body, Path = never> = {
  parameters: Params<never, Path>
  responses: { 204: { content?: never } } & Errors
} & BodyOf<Body>

export interface AuditEvent {
  id: number
  at: string
  type: string
  actor_id: number | null
  target_id: number | null
  ip: string | null
  user_agent: string | null
  details: Record<string, unknown>
}
export interface AuditPage {
  events: AuditEvent[]
  next_cursor: string | null
}
export interface Invitation {
  id: number
  email: string
  role: 'user' | 'admin'
  created_at: string
  expires_at: string
}
export interface AccessToken {
  id: number
  name: string
  scopes: string[]
  created_at: string
  expires_at: string | null
  last_used_at: string | null
}
type AuditQuery = { type?: string; actor_id?: number; target_id?: number; since?: string; until?: string; after?: string; limit?: number }
type UserId = { user_id: number }

export interface PendingPaths {
  '/auth/verify-email': { post: NoContent<{ token: string }> }
  '/auth/verify-email/resend': { post: NoContent<never> }
  '/auth/accept-invite': { post: Op<{ token: string; username: string; password: string; age?: number | null }, unknown> }
  '/auth/mfa/verify': { post: Op<{ mfa_token: string; code: string }, { access_token: string; token_type: 'bearer'; expires_in: number; refresh_token: string }> }
  '/auth/mfa/totp/setup': { post: Op<{ password: string }, { secret: string; otpauth_url: string }> }
  '/auth/mfa/totp/enable': { post: Op<{ code: string }, { recovery_codes: string[] }> }
  '/auth/mfa/totp/disable': { post: NoContent<{ password: string; code: string }> }
  '/users/{user_id}/mfa': { delete: NoContent<never, UserId> }
  '/auth/tokens': {
    get: Op<never, AccessToken[]>
    post: Op<{ name: string; scopes: string[]; expires_in_days?: number }, AccessToken & { token: string }>
  }
  '/auth/tokens/{id}': { delete: NoContent<never, { id: number }> }
  '/admin/invitations': {
    get: Op<never, Invitation[]>
    post: Op<{ email: string; role: 'user' | 'admin' }, Invitation>
  }
  '/admin/invitations/{id}': { delete: NoContent<never, { id: number }> }
  '/admin/audit': { get: Op<never, AuditPage, AuditQuery> }
  '/users/me/audit': { get: Op<never, AuditPage, AuditQuery> }
}
