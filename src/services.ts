// createServices wires every service and the hooks between them. It is the one
// way to build them: `serve`, each CLI verb and the tests all come through
// here, so no path gets a users service without its hooks (welcome mail,
// sessions ended on a credential change, files removed with their owner).
import type { Config } from './config'
import type { Data } from './db/data'
import type { Logger } from './lib/log'
import { createMailService, type MailKicker } from './mail/service'
import { createCounters } from './db/counters'
import { createAccessTokenService } from './modules/access-tokens/service'
import { auditUserChanges } from './modules/audit/hooks'
import { createAuditService } from './modules/audit/service'
import { createReentryCheck } from './modules/auth/reentry'
import { createAuthService } from './modules/auth/service'
import { createSharedLoginThrottle } from './modules/auth/shared-throttle'
import { createLoginThrottle } from './modules/auth/throttle'
import { createTokenService } from './modules/auth/tokens'
import { createFileService } from './modules/files/service'
import { createInvitationService } from './modules/invitations/service'
import { createMetricsService } from './modules/metrics/service'
import { createMfaService } from './modules/mfa/service'
import { createPasswordResetService } from './modules/password-reset/service'
import { createSessionService } from './modules/sessions/service'
import { createUserService, newUserHooks } from './modules/users/service'
import { createVerificationService } from './modules/verification/service'

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
  // Several instances share one PostgreSQL database: failed logins and the
  // strict /auth/* buckets add up there. One SQLite instance counts in memory.
  const counters = data.kind === 'pg' ? createCounters(data) : undefined
  // The failed-login throttle, which also counts passwords re-entered by signed-in users.
  const throttle = counters ? createSharedLoginThrottle(counters) : createLoginThrottle()
  const reenter = createReentryCheck(throttle)
  const users = createUserService(data, hooks, reenter)
  const audit = createAuditService(data)
  // Every user change is recorded in the transaction that makes it.
  auditUserChanges(audit, hooks)
  const tokens = createTokenService(deps.secret, config.accessTokenExpireMinutes)
  const sessions = createSessionService(data, {
    refreshTokenExpireDays: config.refreshTokenExpireDays,
    secret: deps.secret,
    audit
  })
  // Password change, reset, deactivation and deletion end every session.
  hooks.credentialsRevoked.push((tx, userId) => sessions.revokeAll(tx, userId))
  const mail = createMailService(data, config, deps.mailer)
  const verification = createVerificationService({ data, users, mail, audit, publicUrl: config.publicUrl })
  // The welcome mail (with the verification link) is written in the new user's
  // transaction: both or neither. A new address gets its own link.
  hooks.created.push((tx, user) => verification.onCreated(tx, user))
  hooks.emailChanged.push((tx, user, oldEmail) => verification.onEmailChanged(tx, user, oldEmail))
  const authOptions = {
    audit,
    requireEmailVerification: config.requireEmailVerification,
    onUnverified: async (user: { id: number }) => {
      try {
        await verification.resend(user.id)
      } catch {
        // Over the hourly cap: the links already sent stand.
      }
    }
  }
  const auth = createAuthService(users, authOptions, throttle)
  const accessTokens = createAccessTokenService(data, { now: deps.now, audit })
  const mfa = createMfaService({ data, secretKey: deps.secret, throttle, reenter, now: deps.now, audit })
  // Personal access tokens and pending logins die with the credentials
  // (password change or reset, deactivation, deletion). TOTP itself stays on.
  hooks.credentialsRevoked.push((tx, userId) => accessTokens.revokeAll(tx, userId))
  hooks.credentialsRevoked.push((tx, userId) => mfa.revokeChallenges(tx, userId))
  const invitations = createInvitationService({ data, users, mail, audit, publicUrl: config.publicUrl })
  const resets = createPasswordResetService({ data, users, mail, audit, publicUrl: config.publicUrl, logger })
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
  return { users, tokens, sessions, auth, hooks, mail, resets, files, metrics, accessTokens, mfa, counters, audit, verification, invitations }
}

export type Services = ReturnType<typeof createServices>
