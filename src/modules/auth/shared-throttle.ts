// The failed-login throttle of several instances on one PostgreSQL database:
// the same windows and limits as the in-memory throttle (throttle.ts), counted
// in the shared `counters` table so that failures split across instances add
// up. SQLite (one instance) keeps the in-memory one.
import type { Counters } from '../../db/counters'
import { hashToken } from '../../lib/token'
import { DEFAULT_THROTTLE, type ThrottleOptions } from './throttle'

export function createSharedLoginThrottle(counters: Counters, opts: Pick<ThrottleOptions, 'perAccount' | 'perIp' | 'windowMs'> = DEFAULT_THROTTLE) {
  // Hashed: the names come from the client (any length, any character, NUL
  // included, which PostgreSQL text refuses), and the table need not hold them.
  const keys = (account: string, ip: string) => [
    { key: `login:a:${hashToken(`${ip}\u0000${account}`)}`, limit: opts.perAccount, windowMs: opts.windowMs },
    { key: `login:i:${hashToken(ip)}`, limit: opts.perIp, windowMs: opts.windowMs }
  ]
  return {
    /** Seconds to wait before another attempt, or 0 when one may be made now. */
    retryAfter(account: string, ip: string): Promise<number> {
      return counters.waitFor(keys(account, ip))
    },
    async failed(account: string, ip: string): Promise<void> {
      await counters.take(keys(account, ip))
    },
    /**
     * Counts an attempt before its password is checked: 0 when it may go ahead
     * (it now holds a place in both windows), else the seconds to wait (nothing
     * counted). One transaction, under the rows' locks: concurrent attempts on
     * any instance cannot all take the last place.
     */
    reserve(account: string, ip: string): Promise<number> {
      return counters.take(keys(account, ip))
    },
    /** A success clears the account's window (not the IP's: one good account must not reset a flood). */
    succeeded(account: string, ip: string): Promise<void> {
      return counters.clear(keys(account, ip)[0]!.key)
    }
  }
}
