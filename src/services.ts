// createServices wires every service and the hooks between them. It is the one
// way to build them: `serve`, each CLI verb and the tests all come through
// here, so no path gets a users service without its hooks (welcome mail,
// sessions ended on a credential change, files removed with their owner).
import type { Config } from './config'
import type { Data } from './db/data'
import type { Logger } from './lib/log'
import { createMailService, type MailKicker } from './mail/service'
import { welcomeMail } from './mail/templates'
import { createCounters } from './db/counters'
import { createAccessTokenService } from './modules/access-tokens/service'
import { createAuthService } from './modules/auth/service'
import { createSharedLoginThrottle } from './modules/auth/shared-throttle'
import { createLoginThrottle } from './modules/auth/throttle'
import { createTokenService } from './modules/auth/tokens'
import { createFileService } from './modules/files/service'
import { createMetricsService } from './modules/metrics/service'
import { createMfaService } from './modules/mfa/service'
import { createPasswordResetService } from './modules/password-reset/service'
import { createSessionService } from './modules/sessions/service'
import { createUserService, newUserHooks } from './modules/users/service'

export interface ServiceDeps {
  config: Config
  data: Data
  secret: string
  logger: Logger
  /** The running mail worker (`serve`); without it mail is only queued. */
  mailer?: MailKicker
  /** The clock of TOTP codes and personal access token expiry (tests set it; Date.now otherwise). */
  now?: () => number
}

export function createServices(deps: ServiceDeps) {
  const { config, data, logger } = deps
  const hooks = newUserHooks()
  const users = createUserService(data, hooks)
  const tokens = createTokenService(deps.secret, config.accessTokenExpireMinutes)
  const sessions = createSessionService(data, { refreshTokenExpireDays: config.refreshTokenExpireDays, secret: deps.secret })
  // Password change, reset, deactivation and deletion end every session.
  hooks.credentialsRevoked.push((tx, userId) => sessions.revokeAll(tx, userId))
  // Several instances share one PostgreSQL database: failed logins and the
  // strict /auth/* buckets add up there. One SQLite instance counts in memory.
  const counters = data.kind === 'pg' ? createCounters(data) : undefined
  const auth = createAuthService(users, counters ? createSharedLoginThrottle(counters) : createLoginThrottle())
  const accessTokens = createAccessTokenService(data, { now: deps.now })
  const mfa = createMfaService({ data, secretKey: deps.secret, throttle: auth.throttle, now: deps.now })
  // Personal access tokens and pending logins die with the credentials
  // (password change or reset, deactivation, deletion). TOTP itself stays on.
  hooks.credentialsRevoked.push((tx, userId) => accessTokens.revokeAll(tx, userId))
  hooks.credentialsRevoked.push((tx, userId) => mfa.revokeChallenges(tx, userId))
  const mail = createMailService(data, config, deps.mailer)
  const resets = createPasswordResetService({ data, users, mail, publicUrl: config.publicUrl, logger })
  // The welcome mail is written in the new user's transaction: both or neither.
  hooks.created.push(async (tx, user) => {
    await mail.enqueue(tx, welcomeMail({ to: user.email, username: user.username }))
  })
  // A password change, deactivation or reset also kills outstanding reset links.
  hooks.credentialsRevoked.push((tx, userId) => resets.revokeAll(tx, userId))
  const files = createFileService(data, {
    uploadDir: config.uploadDir,
    maxUploadBytes: config.maxUploadBytes,
    uploadQuotaBytes: config.uploadQuotaBytes,
    uploadMaxFiles: config.uploadMaxFiles,
    logger
  })
  // Rows go with the user by FK cascade; the bytes are removed after the commit.
  hooks.deleting.push(files.onUserDeleting)
  const metrics = createMetricsService(data)
  return { users, tokens, sessions, auth, hooks, mail, resets, files, metrics, accessTokens, mfa, counters }
}

export type Services = ReturnType<typeof createServices>
