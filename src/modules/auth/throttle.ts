// Failed-login throttle: counts failures per account+client IP and per client
// IP in fixed windows, in memory. Checked before any password hash is computed,
// so a blocked attempt costs a map lookup. Independent of the global rate limit
// (it works with RATE_LIMIT_PER_MINUTE=0).
//
// The account limit is keyed by account *and* IP: a stranger elsewhere can
// never lock the owner out. Memory is bounded: each map holds at most
// `maxEntries` keys; when full, the least recently failed keys are dropped.

export interface ThrottleOptions {
  /** Failures allowed per account+IP per window. */
  perAccount: number
  /** Failures allowed per IP (any account) per window. */
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

  fail(key: string, now: number): void {
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

  return {
    /** Seconds to wait before another attempt, or 0 when one may be made now. */
    retryAfter(account: string, ip: string): number {
      const t = now()
      return Math.max(accounts.blockedFor(accountKey(account, ip), t), ips.blockedFor(ip, t))
    },
    failed(account: string, ip: string): void {
      const t = now()
      accounts.fail(accountKey(account, ip), t)
      ips.fail(ip, t)
    },
    /** A successful login clears the account's counter (not the IP's: one good account must not reset a flood). */
    succeeded(account: string, ip: string): void {
      accounts.clear(accountKey(account, ip))
    },
    get size(): { accounts: number; ips: number } {
      return { accounts: accounts.size, ips: ips.size }
    }
  }
}

export type LoginThrottle = ReturnType<typeof createLoginThrottle>
