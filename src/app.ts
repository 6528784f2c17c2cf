// createApp composes plugins and modules. It never listens: index.ts does, and
// tests drive app.handle() on a fresh database.
import { Elysia } from 'elysia'
import { Registry } from 'prom-client'
import type { Server } from 'bun'
import type { Config } from './config'
import type { Db } from './db/client'
import { migrationStatus } from './db/migrate'
import { authenticate, authPlugin } from './http/auth'
import { createClientIp } from './http/client-ip'
import { corsPlugin } from './http/cors'
import { AppError, Forbidden, RequestValidationError, toFieldErrors } from './http/errors'
import { createRequestMetrics, metricsPlugin } from './http/metrics'
import { rateLimitPlugin } from './http/ratelimit'
import { securityHeadersPlugin } from './http/security-headers'
import { docsPlugin } from './http/openapi'
import { createLogger, type Logger } from './lib/log'
import { createMailService, type MailKicker } from './mail/service'
import { adminModule } from './modules/admin'
import { auditModule } from './modules/audit'
import { auditUserChanges } from './modules/audit/hooks'
import { createAuditService } from './modules/audit/service'
import { authModule } from './modules/auth'
import { filesModule } from './modules/files'
import { createFileService } from './modules/files/service'
import { createAuthService } from './modules/auth/service'
import { createTokenService } from './modules/auth/tokens'
import { healthModule } from './modules/health'
import { invitationsModule } from './modules/invitations'
import { createInvitationService } from './modules/invitations/service'
import { passwordResetModule } from './modules/password-reset'
import { createPasswordResetService } from './modules/password-reset/service'
import { sessionsModule } from './modules/sessions'
import { createMetricsService } from './modules/metrics/service'
import { createSessionService } from './modules/sessions/service'
import { usersModule, versionedUsersModule } from './modules/users'
import { createUserService, newUserHooks } from './modules/users/service'
import { verificationModule } from './modules/verification'
import { createVerificationService } from './modules/verification/service'

export interface AppDeps {
  config: Config
  db: Db
  secret: string
  logger?: Logger
  /** The running mail worker (index.ts `serve`); without it mail is only queued. */
  mailer?: MailKicker
}

const SANE_REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/

interface RequestMeta {
  id: string
  start: number
  /** Set by onError: its Response does not pass through `set.status`. */
  status?: number
}

/** Largest JSON (or form) body read; larger ones get 413 before being read in full. */
export const JSON_BODY_LIMIT = 1024 * 1024

/** Routes that take the OAuth2 password form besides JSON (the docs page's Authorize button). */
const FORM_ROUTES = new Set(['POST /auth/login'])

const tooLarge = () => new AppError(413, 'Request body too large')

/**
 * The body as text, never more than `limit` bytes read: a declared
 * Content-Length over it is refused unread; a chunked body is read until it
 * passes the limit, then dropped.
 */
async function readCapped(request: Request, limit: number): Promise<string> {
  const declared = request.headers.get('content-length')
  if (declared !== null) {
    if (Number(declared) > limit) throw tooLarge()
    // The server's framing stops the read at Content-Length.
    const text = await request.text()
    if (text.length > limit) throw tooLarge()
    return text
  }
  if (!request.body) return ''
  const reader = request.body.getReader()
  const chunks: Uint8Array[] = []
  let total = 0
  for (;;) {
    const { done, value } = await reader.read()
    if (done) break
    total += value.byteLength
    if (total > limit) {
      await reader.cancel().catch(() => {})
      throw tooLarge()
    }
    chunks.push(value)
  }
  return new TextDecoder().decode(Buffer.concat(chunks))
}

const jsonResponse = (status: number, body: unknown, headers?: Record<string, string>) =>
  new Response(JSON.stringify(body), {
    status,
    headers: { 'content-type': 'application/json; charset=utf-8', ...headers }
  })

export function createServices(deps: AppDeps) {
  const { config, db } = deps
  const hooks = newUserHooks()
  const users = createUserService(db, hooks)
  const audit = createAuditService(db)
  // Every user change is recorded in its own transaction.
  auditUserChanges(audit, hooks)
  const tokens = createTokenService(deps.secret, config.accessTokenExpireMinutes)
  const sessions = createSessionService(db, {
    refreshTokenExpireDays: config.refreshTokenExpireDays,
    userActive: (id) => users.getById(id)?.isActive === true,
    audit
  })
  // Password change, reset, deactivation and deletion end every session.
  hooks.credentialsRevoked.push((tx, userId) => sessions.revokeAll(tx, userId))
  const logger = deps.logger ?? createLogger(config.logLevel)
  const mail = createMailService(db, config, deps.mailer)
  const verification = createVerificationService({ db, users, mail, audit, publicUrl: config.publicUrl })
  // The welcome mail (with the verification link) is written in the new user's
  // transaction: both or neither. A new address gets its own link.
  hooks.created.push((tx, user) => verification.onCreated(tx, user))
  hooks.emailChanged.push((tx, user, oldEmail) => verification.onEmailChanged(tx, user, oldEmail))
  const auth = createAuthService(users, {
    audit,
    requireEmailVerification: config.requireEmailVerification,
    onUnverified: (user) => {
      try {
        verification.resend(user.id)
      } catch {
        // Over the hourly cap: the links already sent stand.
      }
    }
  })
  const invitations = createInvitationService({ db, users, mail, audit, publicUrl: config.publicUrl })
  const resets = createPasswordResetService({ db, users, mail, audit, publicUrl: config.publicUrl, logger })
  // A password change, deactivation or reset also kills outstanding reset links.
  hooks.credentialsRevoked.push((tx, userId) => resets.revokeAll(tx, userId))
  const files = createFileService(db, {
    dataDir: config.dataDir,
    maxUploadBytes: config.maxUploadBytes,
    uploadQuotaBytes: config.uploadQuotaBytes,
    logger
  })
  // Rows go with the user by FK cascade; the bytes are removed after the commit.
  hooks.deleting.push(files.onUserDeleting)
  const metrics = createMetricsService(db)
  return { users, tokens, sessions, auth, hooks, mail, resets, files, metrics, audit, verification, invitations }
}

export type Services = ReturnType<typeof createServices>

export function createApp(deps: AppDeps, services: Services = createServices(deps)) {
  const { config, db } = deps
  const logger = deps.logger ?? createLogger(config.logLevel)
  const { users, tokens, sessions, auth, mail, resets, files, audit, verification, invitations } = services
  const registry = new Registry()
  const requestMetrics = createRequestMetrics(registry)

  let server: Server<unknown> | null = null
  const clientIp = createClientIp(() => server, config.trustProxy)
  // Who is asking, from where: recorded with every audit event a request causes.
  const clientMeta = (request: Request) => ({ ip: clientIp(request), userAgent: request.headers.get('user-agent') })
  const meta = new WeakMap<Request, RequestMeta>()
  const logRequests = logger.enabled('info')

  const authP = authPlugin(tokens, users, sessions)
  const optionalActor = async (request: Request) => {
    const header = request.headers.get('authorization')
    if (!header) return undefined
    const u = authenticate(header, tokens, users, sessions)
    return { id: u.id, role: u.role }
  }

  // JSON bodies are parsed here rather than by Elysia: a body that is not a
  // JSON object must be reported as such (Elysia turns `[1,2]` into `{}`
  // before validating it), and at most JSON_BODY_LIMIT bytes are read.
  // Other content types are left to the route (a multipart upload parses its
  // own body, unread here) unless the route only takes JSON: then 415.
  async function parseBody({ request, contentType, route }: { request: Request; contentType: string; route: string }) {
    const type = contentType.toLowerCase()
    if (type === 'application/json') {
      const text = await readCapped(request, JSON_BODY_LIMIT)
      let value: unknown
      try {
        value = JSON.parse(text)
      } catch {
        throw new RequestValidationError([{ field: 'body', message: 'Body is not valid JSON', type: 'json_invalid' }])
      }
      if (typeof value !== 'object' || value === null || Array.isArray(value)) {
        throw new RequestValidationError([{ field: 'body', message: 'Input should be a valid object', type: 'model_attributes_type' }])
      }
      return value
    }
    // No Content-Type: nothing to parse; the body schema reports it (422).
    if (type === '') return
    const key = `${request.method} ${route}`
    if (type === 'application/x-www-form-urlencoded' && FORM_ROUTES.has(key)) {
      // Same cap as JSON; Elysia's own parser reads it when its length is declared.
      const declared = request.headers.get('content-length')
      if (declared !== null) {
        if (Number(declared) > JSON_BODY_LIMIT) throw tooLarge()
        return
      }
      return Object.fromEntries(new URLSearchParams(await readCapped(request, JSON_BODY_LIMIT)))
    }
    if (jsonOnlyRoutes().has(key)) throw new AppError(415, 'Unsupported Media Type: send application/json')
  }

  const app = new Elysia({ name: 'roster' })
    .onStart(({ server: s }) => {
      server = s ?? null
    })
    .onRequest(({ request, set }) => {
      const sent = request.headers.get('x-request-id')
      const id = sent && SANE_REQUEST_ID.test(sent) ? sent : crypto.randomUUID()
      meta.set(request, { id, start: performance.now() })
      set.headers['x-request-id'] = id
      requestMetrics.started()
    })
    .onParse(parseBody)
    // One place turns every failure into the contract's {"detail": ...}. Only
    // `request`, `code`, `error` and `set` are touched: destructuring params or
    // body here would make Elysia parse them on every request.
    .onError(({ code, error, request, set }) => {
      const m = meta.get(request)
      const requestId = m?.id ?? ''
      const base = { 'x-request-id': requestId }
      const json = (status: number, body: unknown, headers?: Record<string, string>) => {
        if (m) m.status = status
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
    .onAfterResponse(({ request, route, set }) => {
      const m = meta.get(request)
      const status = m?.status ?? (typeof set.status === 'number' ? set.status : 200)
      const ms = m ? performance.now() - m.start : 0
      // Refused before routing (429) or unknown paths have no route template.
      requestMetrics.finished(request.method, route || 'unmatched', status, ms / 1000)
      if (!logRequests) return
      logger.info('request', {
        method: request.method,
        route: route || 'unmatched',
        status,
        duration_ms: m ? Math.round(ms * 100) / 100 : undefined,
        request_id: m?.id
      })
    })
    // Order matters: CORS headers are set before the limiter may refuse, so a
    // browser can read the 429.
    .use(securityHeadersPlugin({ publicUrl: config.publicUrl }))
    .use(corsPlugin(config.corsOrigins))
    .use(rateLimitPlugin({ perMinute: config.rateLimitPerMinute, clientIp }))
    .use(
      metricsPlugin(registry, {
        service: services.metrics,
        metricsToken: config.metricsToken,
        requireAdmin: async (header) => {
          const u = authenticate(header, tokens, users, sessions)
          if (u.role !== 'admin') throw Forbidden()
        }
      })
    )
    .use(docsPlugin())
    .use(healthModule(() => {
      db.$client.query('SELECT 1').get()
      const s = migrationStatus(db)
      return s.applied >= s.known
    }))
    .use(authModule({ auth, tokens, sessions, users, clientIp }))
    .use(sessionsModule({ sessions, auth: authP, clientMeta }))
    .use(usersModule({ users, auth: authP, allowSignup: config.allowSignup, optionalActor, clientMeta }))
    .use(versionedUsersModule({ users, auth: authP }))
    .use(passwordResetModule({ resets, clientMeta }))
    .use(verificationModule({ verification, auth: authP, clientMeta }))
    .use(invitationsModule({ invitations, auth: authP, clientMeta }))
    .use(auditModule({ audit, auth: authP }))
    .use(adminModule({ mail, auth: authP }))
    .use(filesModule({ files, auth: authP, maxUploadBytes: config.maxUploadBytes }))

  // Routes whose body must be JSON: they declare a body schema and no parser
  // function of their own. Read once, after every route is registered.
  let jsonOnly: Set<string> | undefined
  function jsonOnlyRoutes(): Set<string> {
    if (jsonOnly) return jsonOnly
    jsonOnly = new Set()
    for (const r of app.routes) {
      const hooks = r.hooks as { body?: unknown; parse?: unknown }
      const parse = (Array.isArray(hooks.parse) ? hooks.parse : hooks.parse ? [hooks.parse] : []) as { fn?: unknown }[]
      // Elysia's named parsers ('json', 'urlencoded') only declare the media
      // types for the OpenAPI document; a function (the upload's) reads the body itself.
      const ownParser = parse.some((p) => {
        const fn = p?.fn ?? p
        return fn !== parseBody && typeof fn === 'function'
      })
      if (hooks.body && !ownParser) jsonOnly.add(`${r.method} ${r.path}`)
    }
    return jsonOnly
  }

  return app
}

export type App = ReturnType<typeof createApp>
