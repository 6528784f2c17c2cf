// createApp composes plugins and modules. It never listens (cli/serve.ts does),
// and builds no service: they come from createServices (services.ts).
import { Elysia } from 'elysia'
import { Registry } from 'prom-client'
import type { Server } from 'bun'
import type { Config } from './config'
import type { Data } from './db/data'
import { bodyPlugin } from './http/body'
import { createClientIp } from './http/client-ip'
import { corsPlugin } from './http/cors'
import { errorPlugin } from './http/errors'
// Path ids: plain decimal only (replaces Elysia's lenient "integer" format).
import './http/path-ids'
import { createRequestMetrics } from './http/metrics'
import { docsPlugin } from './http/openapi'
import { rateLimitPlugin } from './http/ratelimit'
import { requestLogPlugin } from './http/request-log'
import { securityHeadersPlugin } from './http/security-headers'
import type { Logger } from './lib/log'
import { accessTokensModule } from './modules/access-tokens'
import { auditModule } from './modules/audit'
import { authModule } from './modules/auth'
import { authPlugin } from './modules/auth/macro'
import { consoleModule } from './modules/console'
import { filesModule } from './modules/files'
import { healthModule } from './modules/health'
import { invitationsModule } from './modules/invitations'
import { metricsModule } from './modules/metrics'
import { mfaModule } from './modules/mfa'
import { outboxModule } from './modules/outbox'
import { passwordResetModule } from './modules/password-reset'
import { sessionsModule } from './modules/sessions'
import { usersModule, versionedUsersModule } from './modules/users'
import { verificationModule } from './modules/verification'
import type { Services } from './services'

export interface AppDeps {
  config: Config
  data: Data
  logger: Logger
}

export function createApp({ config, data, logger }: AppDeps, services: Services) {
  const { users, tokens, sessions, auth, mail, resets, files, accessTokens, mfa } = services
  const registry = new Registry()

  let server: Server<unknown> | null = null
  const clientIp = createClientIp(() => server, config.trustProxy)
  // Who is asking, from where: recorded with every audit event a request causes.
  const clientMeta = (request: Request) => ({ ip: clientIp(request), userAgent: request.headers.get('user-agent') })
  const authDeps = { tokens, users, sessions, accessTokens }
  const authP = authPlugin(authDeps, data.kind === 'sqlite')

  return (
    new Elysia({ name: 'roster' })
      .onStart(({ server: s }) => {
        server = s ?? null
      })
      .use(requestLogPlugin({ logger, metrics: createRequestMetrics(registry) }))
      .use(bodyPlugin)
      .use(errorPlugin(logger))
      // Order matters: CORS headers are set before the limiter may refuse, so a
      // browser can read the 429.
      .use(securityHeadersPlugin({ publicUrl: config.publicUrl }))
      .use(corsPlugin(config.corsOrigins))
      .use(rateLimitPlugin({ perMinute: config.rateLimitPerMinute, clientIp, shared: services.counters }))
      .use(metricsModule(registry, { service: services.metrics, auth: authDeps, metricsToken: config.metricsToken }))
      .use(docsPlugin())
      .use(
        healthModule(async () => {
          // The database answers and every migration this program carries is applied.
          const s = await data.migrationStatus()
          return s.applied >= s.known
        })
      )
      .use(authModule({ auth, tokens, sessions, mfa, clientIp }))
      .use(mfaModule({ mfa, auth: authP, clientMeta }))
      .use(accessTokensModule({ accessTokens, auth: authP, clientMeta }))
      .use(sessionsModule({ sessions, auth: authP, clientMeta }))
      .use(usersModule({ users, auth: authP, allowSignup: config.allowSignup, directory: config.userDirectory, clientMeta }))
      .use(versionedUsersModule({ users, auth: authP, directory: config.userDirectory }))
      .use(passwordResetModule({ resets, clientMeta }))
      .use(verificationModule({ verification: services.verification, auth: authP, clientMeta }))
      .use(invitationsModule({ invitations: services.invitations, auth: authP, clientMeta }))
      .use(auditModule({ audit: services.audit, auth: authP }))
      .use(outboxModule({ mail, auth: authP }))
      .use(filesModule({ files, auth: authP, maxUploadBytes: config.maxUploadBytes }))
      .use(consoleModule())
  )
}
