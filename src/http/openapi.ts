// The OpenAPI document (/openapi.json) and the docs page (/docs).
//
// Elysia writes each operation from the route's own schemas (body, params,
// query, response). What every operation shares is added here, once, from
// what the route declares:
// - its auth level (the auth macro's `authDetail`): security, 401 with
//   WWW-Authenticate, 403 for admin routes; public routes say `security: []`;
// - its body: a JSON body can be refused with 413, 415 and 422;
// - its parameters: 422;
// - its rate-limit bucket: 429 with Retry-After, RateLimit-* headers;
// - every response: X-Request-ID; every operation: 500.
// Error bodies are the two shared schemas (Error, ValidationError); 204 and
// 304 carry no content; coerced path and query integers are plain integers.
//
// The page's assets come from the swagger-ui-dist package and are embedded in
// the program (the compiled binary too), so /docs loads nothing from another
// host, and it runs no inline script.
import { Elysia } from 'elysia'
import { toOpenAPISchema } from '@elysiajs/openapi'
// @ts-ignore: a file import gives a path that Bun.file can read, embedded by `bun build --compile`
import swaggerJs from '../../node_modules/swagger-ui-dist/swagger-ui-bundle.js' with { type: 'file' }
// @ts-ignore: as above
import swaggerCss from '../../node_modules/swagger-ui-dist/swagger-ui.css' with { type: 'file' }
// @ts-ignore: as above
import favicon from '../../node_modules/swagger-ui-dist/favicon-32x32.png' with { type: 'file' }
import type { Scope } from '../modules/access-tokens/model'
import { EXEMPT, STRICT_LIMITS } from './ratelimit'

const ASSETS = '/docs/assets'

/** The one security scheme: Swagger UI's Authorize logs in at /auth/login with it. */
export const SECURITY_SCHEME = 'OAuth2PasswordBearer'

/**
 * `true`: a session only (personal access tokens refused); a scope: a session,
 * or a personal access token with that scope (`admin` also needs an admin);
 * `optional`: the route works without a token, and does more with one (an admin creating users).
 */
export type AuthLevel = true | Scope | 'optional'

/** Marker the post-processing reads (and removes) to know an operation's auth level. */
const AUTH_MARK = 'x-roster-auth'

/** `detail` for a protected route (spread by the auth macro and routes that check tokens themselves). */
export function authDetail(level: AuthLevel) {
  const scheme = { [SECURITY_SCHEME]: [] as string[] }
  if (level === true || level === 'optional') {
    return { security: level === 'optional' ? [{}, scheme] : [scheme], [AUTH_MARK]: level === true ? 'user' : level }
  }
  // The scope a personal access token needs here, for clients and docs/mfa-and-tokens.md's table.
  return { security: [scheme], [AUTH_MARK]: level === 'admin' ? 'admin' : 'scoped', 'x-required-scope': level }
}

type Json = Record<string, any>

const ref = (name: string, kind = 'schemas') => ({ $ref: `#/components/${kind}/${name}` })

const integer = (description: string) => ({ description, schema: { type: 'integer' } })

const components = {
  schemas: {
    Error: {
      type: 'object',
      required: ['detail'],
      properties: { detail: { type: 'string' } },
      description: 'Every error except validation: `{"detail": "..."}`',
      examples: [{ detail: 'User not found' }]
    },
    ValidationError: {
      type: 'object',
      required: ['detail'],
      properties: {
        detail: {
          type: 'array',
          items: {
            type: 'object',
            required: ['field', 'message', 'type'],
            properties: {
              field: { type: 'string', description: 'body.<name>, query.<name>, path.<name>, or body' },
              message: { type: 'string' },
              type: { type: 'string' }
            }
          }
        }
      },
      description: 'One item per bad field; submitted values are never echoed'
    }
  },
  headers: {
    'X-Request-ID': {
      description: "The request's id (the client's X-Request-ID when it sent a sane one); it is in the server's log line for the request",
      required: true,
      schema: { type: 'string' }
    },
    'RateLimit-Limit': integer('Requests allowed per minute in the bucket that counted this request (absent when rate limiting is off)'),
    'RateLimit-Remaining': integer('Requests still allowed right now'),
    'RateLimit-Reset': integer('Seconds until the full quota is available again'),
    'Retry-After': { ...integer('Seconds to wait before retrying'), required: true },
    'WWW-Authenticate': { description: '`Bearer`', required: true, schema: { type: 'string' } }
  },
  securitySchemes: {
    [SECURITY_SCHEME]: {
      type: 'oauth2',
      description:
        'A bearer token in `Authorization: Bearer <token>`: the access_token from POST /auth/login (username or e-mail, and password; ' +
        'JSON or the OAuth2 password form, which the Authorize button uses), or a personal access token (`rst_...`, POST /auth/tokens) ' +
        'limited to the scope named in each operation\'s `x-required-scope`; token and session routes (/auth/*) take access tokens only.',
      flows: { password: { tokenUrl: '/auth/login', scopes: {} } }
    }
  }
}

const STANDARD: Record<string, string> = {
  '401': 'Missing, invalid, expired or revoked token',
  '403': 'Not enough permissions',
  '404': 'Not found',
  '413': 'Request body too large',
  '415': 'Unsupported Media Type: the body must be application/json',
  '422': 'Validation error',
  '429': 'Rate limit exceeded',
  '500': 'Internal server error'
}

const STATUS_TEXT: Record<string, string> = {
  '200': 'OK',
  '201': 'Created',
  '202': 'Accepted',
  '204': 'No Content',
  '503': 'Service Unavailable'
}

function isDetailString(schema: Json | undefined): boolean {
  return (
    schema?.type === 'object' &&
    schema.properties?.detail?.type === 'string' &&
    Object.keys(schema.properties).length === 1
  )
}

function isValidationList(schema: Json | undefined): boolean {
  return schema?.type === 'object' && schema.properties?.detail?.type === 'array' && Object.keys(schema.properties).length === 1
}

/** An error response: the route's own description when it has one, the shared body. */
function errorResponse(status: string, declared?: Json): Json {
  const json = declared?.content?.['application/json']?.schema as Json | undefined
  const generated = !declared || /^Response for status/.test(declared.description ?? '')
  const description = generated ? (json?.description ?? STANDARD[status] ?? 'Error') : declared.description
  let schema: Json = status === '422' ? ref('ValidationError') : ref('Error')
  // A route may document a body of its own; the usual shapes become the shared schemas.
  if (json && !isDetailString(json) && !isValidationList(json)) schema = json
  return { ...declared, description, content: { 'application/json': { schema } } }
}

/** Elysia's coercing t.Integer/t.Numeric show as `string (format integer) | integer`: clients see the integer. */
function plainNumber(schema: Json): Json {
  const branches = schema?.anyOf as Json[] | undefined
  if (!branches || branches.length !== 2) return schema
  const num = branches.find((b) => b.type === 'integer' || b.type === 'number')
  const str = branches.find((b) => b.type === 'string' && (b.format === 'integer' || b.format === 'numeric'))
  if (!num || !str) return schema
  const { anyOf: _, ...rest } = schema
  return { ...rest, ...num, ...(schema.description ? { description: schema.description } : {}) }
}

/** Adds what every operation shares to Elysia's document; see the top of this file. */
export function finishDocument(doc: Json): Json {
  for (const [path, ops] of Object.entries(doc.paths as Json)) {
    for (const op of Object.values(ops as Json) as Json[]) {
      const auth = op[AUTH_MARK] as 'user' | 'admin' | 'scoped' | 'optional' | undefined
      delete op[AUTH_MARK]
      // Public operations say so: the document has no top-level security.
      op.security ??= []
      const responses: Json = (op.responses ??= {})

      for (const p of (op.parameters ?? []) as Json[]) p.schema = plainNumber(p.schema)

      const jsonBody = op.requestBody?.content?.['application/json'] !== undefined
      const errors = new Set<string>(['500'])
      if (auth) errors.add('401')
      if (auth === 'admin') errors.add('403')
      if (auth === 'scoped') {
        responses['403'] ??= { description: 'A personal access token without this operation\'s scope: `{"detail":"Insufficient scope"}`' }
        errors.add('403')
      }
      if (jsonBody) for (const s of ['413', '415', '422']) errors.add(s)
      if (op.parameters?.length) errors.add('422')
      const limited = !EXEMPT.has(path)
      if (limited) errors.add('429')
      if ((op.parameters as Json[] | undefined)?.some((p) => p.in === 'path')) errors.add('404')

      for (const status of Object.keys(responses)) if (Number(status) >= 400) errors.add(status)
      for (const status of errors) responses[status] = errorResponse(status, responses[status])

      for (const [status, r] of Object.entries(responses) as [string, Json][]) {
        // Elysia's placeholder says nothing a reader does not see already.
        if (/^Response for status/.test(r.description ?? '')) r.description = STATUS_TEXT[status] ?? r.description
        // No body: Elysia writes t.Void as a bogus media type.
        if (status === '204' || status === '304') delete r.content
        const headers: Json = { ...r.headers, 'X-Request-ID': ref('X-Request-ID', 'headers') }
        if (limited) {
          headers['RateLimit-Limit'] = ref('RateLimit-Limit', 'headers')
          headers['RateLimit-Remaining'] = ref('RateLimit-Remaining', 'headers')
          headers['RateLimit-Reset'] = ref('RateLimit-Reset', 'headers')
        }
        if (status === '401') headers['WWW-Authenticate'] = ref('WWW-Authenticate', 'headers')
        if (status === '429') {
          headers['Retry-After'] = ref('Retry-After', 'headers')
          const strict = STRICT_LIMITS[path]
          if (strict !== undefined && !/own limit/.test(r.description)) {
            r.description += ` (this route also has its own limit of ${strict} requests per minute per client IP)`
          }
        }
        r.headers = headers
      }
    }
  }
  doc.components = {
    ...doc.components,
    schemas: { ...components.schemas, ...doc.components?.schemas },
    headers: components.headers,
    securitySchemes: components.securitySchemes
  }
  return doc
}

const documentation = {
  info: {
    title: 'User Management API',
    version: '2.0.0',
    description:
      'Roster: self-hosted user management. Errors are `{"detail": "..."}`; validation errors (422) list one `{field, message, type}` per bad field. ' +
      'Every response carries X-Request-ID; rate-limited routes carry RateLimit-* headers and answer 429 with Retry-After. ' +
      'Use the Authorize button with a username (or e-mail) and password to try the protected operations.',
    contact: { name: 'API Support', email: 'support@example.com' }
  },
  servers: [{ url: '/', description: 'This Roster instance' }],
  tags: [
    { name: 'auth', description: 'Log in, tokens, sessions, password reset' },
    { name: 'users', description: 'Accounts' },
    { name: 'v1', description: 'Versioned user listing, version 1' },
    { name: 'v2', description: 'Versioned user listing, version 2 (keyset pagination)' },
    { name: 'files', description: 'Uploads and downloads' },
    { name: 'admin', description: 'Operator tools (admins only)' },
    { name: 'health', description: 'Probes' },
    { name: 'metrics', description: 'Prometheus metrics' }
  ]
}

// The page runs no inline script: this is served as a file of its own.
const INIT_JS = `window.addEventListener('load', function () {
  var base = location.pathname.replace(/\\/docs\\/?$/, '')
  window.ui = SwaggerUIBundle({
    url: base + '/openapi.json',
    dom_id: '#swagger-ui',
    deepLinking: true,
    validatorUrl: null,
    persistAuthorization: false
  })
})
`

const PAGE = `<!DOCTYPE html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <meta name="viewport" content="width=device-width, initial-scale=1">
  <title>User Management API</title>
  <link rel="stylesheet" href="${ASSETS}/swagger-ui.css">
  <link rel="icon" type="image/png" href="${ASSETS}/favicon-32x32.png">
</head>
<body>
  <div id="swagger-ui"></div>
  <script src="${ASSETS}/swagger-ui-bundle.js"></script>
  <script src="${ASSETS}/init.js"></script>
</body>
</html>
`

// Swagger UI sets style attributes from script, and shows images from data: URLs.
const PAGE_CSP =
  "default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; connect-src 'self'; " +
  "font-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"

function asset(body: () => string | Blob, type: string) {
  return () =>
    new Response(body(), {
      headers: { 'content-type': type, 'cache-control': 'public, max-age=86400' }
    })
}

const hidden = { detail: { hide: true } }

export function docsPlugin() {
  const plugin = new Elysia({ name: 'roster.docs' })
  let cached: Json | undefined
  const page = () =>
    new Response(PAGE, {
      headers: { 'content-type': 'text/html; charset=utf-8', 'content-security-policy': PAGE_CSP, 'cache-control': 'no-cache' }
    })
  return plugin
    .get(`${ASSETS}/swagger-ui-bundle.js`, asset(() => Bun.file(swaggerJs as string), 'text/javascript; charset=utf-8'), hidden)
    .get(`${ASSETS}/swagger-ui.css`, asset(() => Bun.file(swaggerCss as string), 'text/css; charset=utf-8'), hidden)
    .get(`${ASSETS}/favicon-32x32.png`, asset(() => Bun.file(favicon as string), 'image/png'), hidden)
    .get(`${ASSETS}/init.js`, asset(() => INIT_JS, 'text/javascript; charset=utf-8'), hidden)
    .get('/docs', page, hidden)
    .get('/docs/', page, hidden)
    .get(
      '/openapi.json',
      () => {
        // Every route is registered before the first request: built once.
        if (!cached) {
          const generated = toOpenAPISchema(plugin as never, undefined, undefined, undefined, '3.1.1')
          cached = finishDocument({ openapi: '3.1.1', ...documentation, paths: generated.paths, components: generated.components })
        }
        return cached
      },
      hidden
    )
}
