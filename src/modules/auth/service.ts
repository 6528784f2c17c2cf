// Login: the credential check. Timing is the same for an unknown user and a
// wrong password, and so is the error. Attempts are counted per account+IP and
// per IP before any hash is computed (see throttle.ts), and failures are recorded
// in the audit log (an unknown name as a failure with no target: the event, like
// the answer, names no account that does not exist).
import type { UserRow } from '../../db/schema'
import { AppError, TooManyRequests, Unauthorized } from '../../lib/errors'
import { dummyHash, hashPassword, needsRehash, verifyPassword } from '../../lib/password'
import { foldKey } from '../../lib/unicode'
import type { MaybePromise } from '../../lib/maybe'
import type { AuditService } from '../audit/service'
import type { ClientMeta } from '../sessions/service'
import type { UserService } from '../users/service'
import { createLoginThrottle, type LoginThrottle } from './throttle'

export const BAD_LOGIN = 'Incorrect username or password'
export const TOO_MANY_LOGINS = 'Too many login attempts'
export const NOT_VERIFIED = 'Email not verified'

export interface AuthOptions {
  audit?: AuditService
  /** REQUIRE_EMAIL_VERIFICATION: a correct password for an unverified account gets 403 and no session. */
  requireEmailVerification?: boolean
  /** Called for such a refused login: mails a fresh link (within the resend cap). */
  onUnverified?: (user: UserRow) => Promise<void>
  /** Bound on the throttled-login events remembered for de-duplication. */
  maxThrottleEvents?: number
}

/** The throttle as the login sees it: in memory (SQLite) or shared in the database (PostgreSQL). */
export type Throttle = {
  [K in 'retryAfter' | 'reserve' | 'release' | 'succeeded']: (...args: Parameters<LoginThrottle[K]>) => MaybePromise<ReturnType<LoginThrottle[K]>>
}

export function createAuthService(users: UserService, opts: AuthOptions = {}, throttle: Throttle = createLoginThrottle()) {
  const audit = opts.audit
  // One login.throttled event per blocked key and block, not one per refused
  // request: a flood against a blocked account must not become a flood of writes.
  const throttledUntil = new Map<string, number>()
  const maxThrottleEvents = opts.maxThrottleEvents ?? 10_000

  async function recordThrottled(key: string, waitSeconds: number, targetId: number | null, meta: ClientMeta): Promise<void> {
    const now = Date.now()
    const until = throttledUntil.get(key)
    if (until !== undefined && until > now) return
    throttledUntil.delete(key)
    throttledUntil.set(key, now + waitSeconds * 1000)
    for (const k of throttledUntil.keys()) {
      if (throttledUntil.size <= maxThrottleEvents) break
      throttledUntil.delete(k)
    }
    await audit?.record({
      type: 'login.throttled',
      origin: { actorId: null, ip: meta.ip, userAgent: meta.userAgent },
      targetId,
      details: { retry_after: Math.ceil(waitSeconds) }
    })
  }

  async function recordFailed(reason: string, targetId: number | null, meta: ClientMeta): Promise<void> {
    await audit?.record({ type: 'login.failed', origin: { actorId: null, ip: meta.ip, userAgent: meta.userAgent }, targetId, details: { reason } })
  }

  return {
    throttle,

    async checkCredentials(identifier: string, password: string, meta: ClientMeta): Promise<UserRow> {
      const user = await users.findForLogin(identifier)
      // One counter per account whichever name it is reached by (username or
      // e-mail); an unknown name is its own "account", so throttling says
      // nothing about which names exist.
      const account = user ? `u:${user.id}` : `n:${foldKey(identifier.trim())}`
      const from = meta.ip ?? 'unknown'
      const wait = await throttle.reserve(account, from)
      if (wait > 0) {
        await recordThrottled(`${from}\u0000${account}`, wait, user?.id ?? null, meta)
        throw TooManyRequests(TOO_MANY_LOGINS, wait)
      }
      // Verify against a dummy hash when there is no such user, so unknown
      // users take as long as wrong passwords.
      const ok = await verifyPassword(password, user?.hashedPassword ?? (await dummyHash()))
      // A failure keeps the place it reserved.
      if (!user || !ok || !user.isActive) {
        // The attempted name is not recorded: people type passwords into it.
        await recordFailed(!user ? 'unknown_user' : !ok ? 'bad_password' : 'inactive', user?.id ?? null, meta)
        throw Unauthorized(BAD_LOGIN)
      }
      // With TOTP on, the login is not over: a correct password gives its place
      // back but clears nothing; only a correct code does (otherwise each new
      // password login would reset the count of wrong codes).
      if (user.mfaEnabled) await throttle.release(account, from)
      else await throttle.succeeded(account, from)
      // Only replaces the hash it verified: a password change landing during
      // this second hash must not be overwritten with the old password.
      if (needsRehash(user.hashedPassword)) await users.rehash(user.id, user.hashedPassword, await hashPassword(password))
      if (opts.requireEmailVerification && !user.emailVerified) {
        await recordFailed('email_not_verified', user.id, meta)
        await opts.onUnverified?.(user)
        throw new AppError(403, NOT_VERIFIED)
      }
      return user
    }
  }
}

export type AuthService = ReturnType<typeof createAuthService>
