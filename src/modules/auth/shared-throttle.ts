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
    /** Gives a reservation back without judging it (the attempt checked nothing). */
    async release(account: string, ip: string): Promise<void> {
      for (const k of keys(account, ip)) await counters.giveBack(k.key)
    },
    /**
     * A success clears the account's window and gives its place in the IP's
     * window back (not more: one good account must not reset a flood).
     */
    async succeeded(account: string, ip: string): Promise<void> {
      const [acc, from] = keys(account, ip)
      await counters.clear(acc!.key)
      await counters.giveBack(from!.key)
    }
  }
}
