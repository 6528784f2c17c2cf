// Per-client request-rate limiting. GCRA (the "virtual scheduling" form of a
// token bucket): one number per client, the theoretical arrival time, so a
// check is O(1). Clients live in an LRU of at most `maxClients` entries: a
// flood of distinct addresses evicts the least recently seen client instead of
// growing the heap.
//
// The LRU is a Map in insertion order, but a hit does not move its entry to
// the back every time: in JavaScriptCore a delete + set of the same key fills
// the table with tombstones and rehashes, which was most of the limiter's cost
// per request (`bun run bench`, the limiter-off row). An entry moves only
// once `maxClients / 2` other moves or insertions have happened since its own,
// and otherwise is updated in place. So a client is never evicted while fewer
// than `maxClients / 2` other clients have been inserted or moved since its
// last request: the bound on memory stays exact, the recency is approximate.
import { Elysia, type Context } from 'elysia'
import type { Counters } from '../db/counters'
import { hashToken } from '../lib/token'
import { AppError } from '../lib/errors'

export interface RateDecision {
  allowed: boolean
  limit: number
  /** Requests still allowed right now. */
  remaining: number
  /** Seconds until the full quota is available again. */
  resetSeconds: number
  /** When refused: seconds until the next request would be allowed. */
  retryAfterSeconds: number
}

export interface RateLimiter {
  hit(key: string, now?: number): RateDecision
  readonly size: number
  readonly maxClients: number
}

interface Entry {
  /** Theoretical arrival time (ms): when the client's bucket is empty again. */
  tat: number
  /** The LRU clock when the entry was last put at the back of the Map. */
  seq: number
}

export function createRateLimiter(opts: { limit: number; windowMs?: number; maxClients?: number }): RateLimiter {
  const limit = opts.limit
  const windowMs = opts.windowMs ?? 60_000
  const maxClients = opts.maxClients ?? 100_000
  if (!(limit > 0)) throw new Error('limit must be positive')
  if (!(maxClients >= 1)) throw new Error('maxClients must be at least 1')
  // One request "costs" `interval`; a client may be at most one window ahead.
  const interval = windowMs / limit
  const entries = new Map<string, Entry>()
  const moveAfter = Math.max(1, Math.floor(maxClients / 2))
  let clock = 0

  /** Marks `key` as just seen: moved to the back only when it has drifted far enough forward. */
  function touch(key: string, e: Entry) {
    if (clock - e.seq < moveAfter) return
    entries.delete(key)
    entries.set(key, e)
    e.seq = ++clock
  }

  return {
    get size() {
      return entries.size
    },
    maxClients,
    hit(key, now = Date.now()) {
      const e = entries.get(key)
      const tat = e !== undefined && e.tat > now ? e.tat : now
      const next = tat + interval
      if (next - now > windowMs) {
        // Refused: nothing is charged. Still counts as seen, so an active
        // abuser is not the one evicted (which would hand it a fresh quota).
        if (e !== undefined) touch(key, e)
        return {
          allowed: false,
          limit,
          remaining: 0,
          resetSeconds: Math.ceil((tat - now) / 1000),
          retryAfterSeconds: Math.max(1, Math.ceil((next - windowMs - now) / 1000))
        }
      }
      if (e !== undefined) {
        e.tat = next
        touch(key, e)
      } else {
        entries.set(key, { tat: next, seq: ++clock })
        if (entries.size > maxClients) {
          // Map iterates in insertion order: the first key is the least recently seen.
          const oldest = entries.keys().next().value
          if (oldest !== undefined) entries.delete(oldest)
        }
      }
      return {
        allowed: true,
        limit,
        remaining: Math.floor((windowMs - (next - now)) / interval),
        resetSeconds: Math.ceil((next - now) / 1000),
        retryAfterSeconds: 0
      }
    }
  }
}

/**
 * The bucket a client address falls in. IPv6 clients are keyed by their /64:
 * one subscriber usually holds a whole /64 and could otherwise take a fresh
 * bucket per request (and flush the LRU). IPv4-mapped addresses count as IPv4.
 */
export function clientKey(ip: string): string {
  if (!ip.includes(':')) return ip
  const lower = ip.toLowerCase()
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/.exec(lower)
  if (mapped) return mapped[1]!
  const zone = lower.indexOf('%')
  const addr = zone < 0 ? lower : lower.slice(0, zone)
  const [head = '', tail] = addr.split('::', 2)
  const left = head ? head.split(':') : []
  const right = tail === undefined ? [] : tail ? tail.split(':') : []
  const groups = tail === undefined ? left : [...left, ...Array<string>(Math.max(0, 8 - left.length - right.length)).fill('0'), ...right]
  return groups.slice(0, 4).map((g) => g.replace(/^0+(?=.)/, '')).join(':') + '::/64'
}

/** Paths that never count: probes from a load balancer or a scraper are not client traffic. */
export const EXEMPT = new Set(['/health', '/ready', '/metrics'])

/**
 * Stricter buckets of their own (requests per minute, capped by the general
 * limit), keyed by the path without a trailing slash.
 */
export const STRICT_LIMITS: Record<string, number> = {
  '/auth/login': 10,
  '/auth/mfa/verify': 10,
  '/auth/password-reset': 5
}

export interface RateLimitOptions {
  perMinute: number
  clientIp: (request: Request) => string | null
  maxClients?: number
  /**
   * Several instances on one database (PostgreSQL): the strict buckets are
   * also counted there, in fixed one-minute windows, so N instances together
   * let the strict limit through, not N times it. The general limit stays per
   * instance.
   */
  shared?: Counters
}

/**
 * Global limiter. Runs in onRequest, before routing and body parsing, so a
 * refused request costs almost nothing. Every limited response carries
 * RateLimit-Limit / -Remaining / -Reset (IETF draft, delta seconds); a refused
 * one is `429 {"detail":"Rate limit exceeded"}` with Retry-After.
 */
export function rateLimitPlugin({ perMinute, clientIp, maxClients, shared }: RateLimitOptions) {
  const app = new Elysia({ name: 'roster.ratelimit' })
  if (perMinute <= 0) return app
  const general = createRateLimiter({ limit: perMinute, maxClients })
  const strict = new Map<string, RateLimiter>()
  for (const [path, n] of Object.entries(STRICT_LIMITS)) {
    strict.set(path, createRateLimiter({ limit: Math.min(n, perMinute), maxClients }))
  }

  // Header values are small integers: strings made once, not per request.
  const digits: string[] = []
  const str = (n: number) => (n < 1024 ? (digits[n] ??= String(n)) : String(n))

  // The hot path of every request, so its shape follows measurement
  // (`bun run bench`):
  // - The three headers are declared as defaults and overwritten per request:
  //   adding new keys to `set.headers` in the hook turned the object into a
  //   slow dictionary; overwriting keys it already has costs next to nothing.
  // - No early exit: Elysia searches each onRequest hook's text for the
  //   keyword and, if found, passes the hook's result through its
  //   early-response mapper on every request. The hook never answers by
  //   returning, so it is written with if/else and needs no mapping.
  // - The context is destructured in the parameter list, never taken whole:
  //   Elysia reads a hook's source to decide what to prepare per request.
  // What remains is mostly Bun's `server.requestIP()` (a getpeername system
  // call per request) and the three headers on the wire.
  const limit = ({ request, set, path }: OnRequestContext) => {
    if (EXEMPT.has(path)) {
      const h = set.headers as Record<string, string | undefined>
      delete h['ratelimit-limit']
      delete h['ratelimit-remaining']
      delete h['ratelimit-reset']
    } else {
      // Without a socket (app.handle in tests) every request shares one bucket.
      const ip = clientIp(request)
      const key = ip === null ? 'unknown' : clientKey(ip)
      const now = Date.now()
      // Elysia routes `/auth/login/` to `/auth/login` (one trailing slash is
      // ignored): both are one path for the strict buckets.
      const s = strict.get(path.length > 1 && path.charCodeAt(path.length - 1) === 47 ? path.slice(0, -1) : path)
      let d = s !== undefined && request.method === 'POST' ? s.hit(key, now) : undefined
      // A request refused by its strict bucket does not spend the general quota.
      if (d === undefined || d.allowed) {
        const g = general.hit(key, now)
        if (d === undefined || !g.allowed || g.remaining < d.remaining) d = g
      }
      const h = set.headers
      h['ratelimit-limit'] = str(d.limit)
      h['ratelimit-remaining'] = str(d.remaining)
      h['ratelimit-reset'] = str(d.resetSeconds)
      if (!d.allowed) throw new AppError(429, 'Rate limit exceeded', { 'retry-after': String(d.retryAfterSeconds) })
    }
  }
  const limited = app
    .headers({ 'ratelimit-limit': str(perMinute), 'ratelimit-remaining': str(perMinute), 'ratelimit-reset': '0' })
    .onRequest(limit as never)
  if (!shared) return limited
  // A second hook, async, registered only with a shared store: the in-process
  // one above stays synchronous for SQLite.
  const sharedStrict = async ({ request, path }: OnRequestContext) => {
    const n = STRICT_LIMITS[path]
    if (n !== undefined && request.method === 'POST') {
      const ip = clientIp(request)
      const key = hashToken(ip === null ? 'unknown' : clientKey(ip))
      const wait = await shared.take([{ key: `rate:${path}:${key}`, limit: Math.min(n, perMinute), windowMs: 60_000 }])
      if (wait > 0) throw new AppError(429, 'Rate limit exceeded', { 'retry-after': String(Math.max(1, Math.ceil(wait))) })
    }
  }
  return limited.onRequest(sharedStrict as never)
}

// Elysia computes `path` before onRequest (routing needs it) but leaves it out
// of the hook's type.
type OnRequestContext = { request: Request; set: Context['set']; path: string }
