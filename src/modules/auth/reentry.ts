// A password typed again by a signed-in user (to change it, to turn TOTP on or
// off) is a password guess like a login's: whoever holds a stolen access token
// could otherwise try passwords there without limit. So it is counted in the
// login throttle, in the account's own counter (`u:<id>` per client IP, the one
// login uses), before the hash, and settled the way login settles it.
import type { UserRow } from '../../db/schema'
import { BadRequest, TooManyRequests } from '../../lib/errors'
import { verifyPassword } from '../../lib/password'
import type { Throttle } from './service'

export const INCORRECT_PASSWORD = 'Incorrect password'
export const TOO_MANY_PASSWORDS = 'Too many password attempts'

/** A re-entered password that was right, still holding its place in the throttle until settled. */
export interface Reentry {
  /** The whole attempt succeeded: clears the account's counter, as a login does. */
  succeeded(): Promise<void>
  /** The attempt was not judged (it failed for another reason): its place goes back. */
  release(): Promise<void>
}

export function createReentryCheck(throttle: Throttle) {
  return async function reenter(user: Pick<UserRow, 'id' | 'hashedPassword'>, password: string, ip: string | null): Promise<Reentry> {
    const account = `u:${user.id}`
    const from = ip ?? 'unknown'
    const wait = await throttle.reserve(account, from)
    if (wait > 0) throw TooManyRequests(TOO_MANY_PASSWORDS, wait)
    // A wrong password keeps the place it reserved.
    if (!(await verifyPassword(password, user.hashedPassword))) throw BadRequest(INCORRECT_PASSWORD)
    return {
      succeeded: async () => {
        await throttle.succeeded(account, from)
      },
      release: async () => {
        await throttle.release(account, from)
      }
    }
  }
}

export type ReentryCheck = ReturnType<typeof createReentryCheck>
