// Login: the credential check. Timing is the same for an unknown user and a
// wrong password, and so is the error. Attempts are counted per account+IP and
// per IP before any hash is computed (see throttle.ts).
import type { UserRow } from '../../db/schema'
import { TooManyRequests, Unauthorized } from '../../lib/errors'
import { dummyHash, hashPassword, needsRehash, verifyPassword } from '../../lib/password'
import { foldKey } from '../../lib/unicode'
import type { MaybePromise } from '../../lib/maybe'
import type { UserService } from '../users/service'
import { createLoginThrottle, type LoginThrottle } from './throttle'

export const BAD_LOGIN = 'Incorrect username or password'
export const TOO_MANY_LOGINS = 'Too many login attempts'

/** The throttle as the login sees it: in memory (SQLite) or shared in the database (PostgreSQL). */
export type Throttle = {
  [K in 'retryAfter' | 'reserve' | 'release' | 'succeeded']: (...args: Parameters<LoginThrottle[K]>) => MaybePromise<ReturnType<LoginThrottle[K]>>
}

export function createAuthService(users: UserService, throttle: Throttle = createLoginThrottle()) {
  return {
    throttle,

    async checkCredentials(identifier: string, password: string, ip: string | null): Promise<UserRow> {
      const user = await users.findForLogin(identifier)
      // One counter per account whichever name it is reached by (username or
      // e-mail); an unknown name is its own "account", so throttling says
      // nothing about which names exist.
      const account = user ? `u:${user.id}` : `n:${foldKey(identifier.trim())}`
      const from = ip ?? 'unknown'
      const wait = await throttle.reserve(account, from)
      if (wait > 0) throw TooManyRequests(TOO_MANY_LOGINS, wait)
      // Verify against a dummy hash when there is no such user, so unknown
      // users take as long as wrong passwords.
      const ok = await verifyPassword(password, user?.hashedPassword ?? (await dummyHash()))
      // A failure keeps the place it reserved.
      if (!user || !ok || !user.isActive) throw Unauthorized(BAD_LOGIN)
      // With TOTP on, the login is not over: a correct password gives its place
      // back but clears nothing; only a correct code does (otherwise each new
      // password login would reset the count of wrong codes).
      if (user.mfaEnabled) await throttle.release(account, from)
      else await throttle.succeeded(account, from)
      // Only replaces the hash it verified: a password change landing during
      // this second hash must not be overwritten with the old password.
      if (needsRehash(user.hashedPassword)) await users.rehash(user.id, user.hashedPassword, await hashPassword(password))
      return user
    }
  }
}

export type AuthService = ReturnType<typeof createAuthService>
