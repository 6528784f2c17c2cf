// Failed-login throttle: counts attempts per account+client IP and per client
// IP in fixed windows, in memory. An attempt is counted (reserved) *before* its
// password hash, synchronously, so parallel guesses cannot all pass a check made
// before any of them is counted: at most `perAccount` and `perIp` password
// checks per window whatever the concurrency. A success gives its reservation
// back. A blocked attempt costs a map lookup. Independent of the global rate
// limit (it works with RATE_LIMIT_PER_MINUTE=0).
//
// The account limit is keyed by account *and* IP: a stranger elsewhere can
// never lock the owner out. Memory is bounded: each map holds at most
// `maxEntries` keys; when full, the least recently failed keys are dropped.

export interface ThrottleOptions {
  /** Failed (or in-flight) attempts allowed per account+IP per window. */
  perAccount: number
  /** Failed (or in-flight) attempts allowed per IP (any account) per window. */
  perIp: number
  windowMs: number
  /** Bound on the keys each map may hold. */
  maxEntries: number
  now?: () => number
}

export const DEFAULT_THROTTLE: ThrottleOptions = {
  perAccount: 5,
  perIp: 50,
  windowMs: 15 * 60 * 1000,
  maxEntries: 50_000
}

interface Window {
  count: number
  resetAt: number
}

class BoundedCounter {
  // Map iteration is insertion order; a key is re-inserted at each failure, so
  // the first keys are the least recently failed ones.
  private readonly map = new Map<string, Window>()
  constructor(
    private readonly limit: number,
    private readonly windowMs: number,
    private readonly maxEntries: number
  ) {}

  /** Seconds until the key may try again, or 0 when it may now. */
  blockedFor(key: string, now: number): number {
    const w = this.map.get(key)
    if (!w) return 0
    if (w.resetAt <= now) {
      this.map.delete(key)
      return 0
    }
    return w.count >= this.limit ? (w.resetAt - now) / 1000 : 0
  }

  /** Counts one attempt; callers check blockedFor first. */
  take(key: string, now: number): void {
    const w = this.map.get(key)
    this.map.delete(key)
    if (w && w.resetAt > now) {
      w.count++
      this.map.set(key, w)
    } else {
      this.map.set(key, { count: 1, resetAt: now + this.windowMs })
    }
    if (this.map.size > this.maxEntries) this.evict(now)
  }

  /** Marks a key as just seen without counting: a refused attacker is not the one evicted. */
  touch(key: string): void {
    const w = this.map.get(key)
    if (!w) return
    this.map.delete(key)
    this.map.set(key, w)
  }

  /** Gives one attempt back (a success). */
  giveBack(key: string, now: number): void {
    const w = this.map.get(key)
    if (!w) return
    if (w.resetAt <= now || w.count <= 1) this.map.delete(key)
    else w.count--
  }

  clear(key: string): void {
    this.map.delete(key)
  }

  // O(1) per failure: only the front of the map is touched, so a flood of new
  // keys cannot make every insert scan the map. Expired keys elsewhere are
  // dropped when next looked up, or reach the front in time.
  private evict(now: number): void {
    for (const [k, w] of this.map) {
      if (this.map.size <= this.maxEntries && w.resetAt > now) return
      this.map.delete(k)
    }
  }

  get size(): number {
    return this.map.size
  }
}

export function createLoginThrottle(opts: ThrottleOptions = DEFAULT_THROTTLE) {
  const now = opts.now ?? Date.now
  const accounts = new BoundedCounter(opts.perAccount, opts.windowMs, opts.maxEntries)
  const ips = new BoundedCounter(opts.perIp, opts.windowMs, opts.maxEntries)
  const accountKey = (account: string, ip: string) => `${ip}\u0000${account}`

  const retryAfter = (key: string, ip: string, t: number) => Math.max(accounts.blockedFor(key, t), ips.blockedFor(ip, t))

  return {
    /** Seconds to wait before another attempt, or 0 when one may be made now. Counts nothing. */
    retryAfter(account: string, ip: string): number {
      return retryAfter(accountKey(account, ip), ip, now())
    },
    /**
     * Counts an attempt before its password is checked: 0 when it may go ahead
     * (it now holds a place in both windows), else the seconds to wait (nothing
     * counted). Synchronous from the check to the count, so concurrent attempts
     * cannot all see the same free place.
     */
    reserve(account: string, ip: string): number {
      const t = now()
      const key = accountKey(account, ip)
      const wait = retryAfter(key, ip, t)
      if (wait > 0) {
        accounts.touch(key)
        ips.touch(ip)
        return wait
      }
      accounts.take(key, t)
      ips.take(ip, t)
      return 0
    },
    /** Gives a reservation back without judging it (the attempt checked nothing). */
    release(account: string, ip: string): void {
      const t = now()
      accounts.giveBack(accountKey(account, ip), t)
      ips.giveBack(ip, t)
    },
    /**
     * A successful login clears the account's counter and gives its place in
     * the IP's window back (the IP's failures stay: one good account must not
     * reset a flood). A failure keeps what it reserved.
     */
    succeeded(account: string, ip: string): void {
      const t = now()
      accounts.clear(accountKey(account, ip))
      ips.giveBack(ip, t)
    },
    get size(): { accounts: number; ips: number } {
      return { accounts: accounts.size, ips: ips.size }
    }
  }
}

export type LoginThrottle = ReturnType<typeof createLoginThrottle>
