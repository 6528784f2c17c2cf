// Prometheus metrics (prom-client on a registry of our own, never the global
// one: every app built in one process, the tests' included, keeps its own).
// Requests are labelled by route *template* (`/users/:id`), never by the raw
// path, so the label set stays small whatever clients send. The hot path does
// a Map lookup of cached label children and two increments.
import { Elysia, t } from 'elysia'
import { monitorEventLoopDelay } from 'node:perf_hooks'
import { timingSafeEqual } from 'node:crypto'
import { Counter, Gauge, Histogram, Registry } from 'prom-client'
import type { MetricsService } from '../modules/metrics/service'
import { errorResponses } from './schemas'
import { Unauthorized } from './errors'
import { authDetail } from './openapi'

// One event-loop delay monitor per process, started at the first app built.
type LoopDelay = ReturnType<typeof monitorEventLoopDelay>
let loopDelay: LoopDelay | undefined
function eventLoopDelay(): LoopDelay {
  if (!loopDelay) {
    loopDelay = monitorEventLoopDelay({ resolution: 20 })
    loopDelay.enable()
  }
  return loopDelay
}

export interface MetricsOptions {
  service: MetricsService
  /** Resolves an admin from an Authorization header, throwing 401/403 otherwise. */
  requireAdmin: (authorization: string | null) => Promise<void>
  metricsToken?: string
}

export interface RequestMetrics {
  started(): void
  finished(method: string, route: string, status: number, seconds: number): void
}

function sameSecret(a: string, b: string): boolean {
  const x = Buffer.from(a)
  const y = Buffer.from(b)
  return x.length === y.length && timingSafeEqual(x, y)
}

export function createRequestMetrics(registry: Registry): RequestMetrics {
  const requests = new Counter({
    name: 'http_requests_total',
    help: 'HTTP requests by route template, method and status',
    labelNames: ['method', 'route', 'status'] as const,
    registers: [registry]
  })
  const duration = new Histogram({
    name: 'http_request_duration_seconds',
    help: 'Time from request to response handler end, by route template and method',
    labelNames: ['method', 'route'] as const,
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    registers: [registry]
  })
  const inFlight = new Gauge({ name: 'http_requests_in_flight', help: 'Requests being handled', registers: [registry] })
  // prom-client hashes label objects on every call; the children are cached
  // per label combination instead (bounded: routes × methods × statuses).
  const counters = new Map<string, Counter.Internal>()
  const timers = new Map<string, Histogram.Internal<'method' | 'route'>>()
  let active = 0
  inFlight.set(0)
  return {
    started() {
      active++
      inFlight.set(active)
    },
    finished(method, route, status, seconds) {
      active = Math.max(0, active - 1)
      inFlight.set(active)
      const rk = `${method} ${route}`
      const ck = `${rk} ${status}`
      let c = counters.get(ck)
      if (!c) counters.set(ck, (c = requests.labels(method, route, String(status))))
      c.inc()
      let h = timers.get(rk)
      if (!h) timers.set(rk, (h = duration.labels(method, route)))
      h.observe(seconds)
    }
  }
}

/** GET /metrics: for an admin's token or METRICS_TOKEN. */
export function metricsPlugin(registry: Registry, { service, requireAdmin, metricsToken }: MetricsOptions) {
  new Gauge({
    name: 'roster_email_outbox',
    help: 'E-mail outbox rows by status',
    labelNames: ['status'] as const,
    registers: [registry],
    collect() {
      this.reset()
      for (const [status, n] of Object.entries(service.emailOutboxByStatus())) this.set({ status }, n)
    }
  })
  new Gauge({
    name: 'roster_database_size_bytes',
    help: 'SQLite database size: pages in use times page size, plus the WAL file',
    registers: [registry],
    collect() {
      this.set(service.databaseBytes())
    }
  })
  const loop = eventLoopDelay()
  new Gauge({
    name: 'roster_event_loop_lag_seconds',
    help: 'Event-loop delay since the previous scrape (perf_hooks monitorEventLoopDelay)',
    labelNames: ['quantile'] as const,
    registers: [registry],
    collect() {
      // Values are nanoseconds; an empty histogram reports NaN/huge numbers.
      const ok = loop.count > 0
      this.set({ quantile: '0.5' }, ok ? loop.percentile(50) / 1e9 : 0)
      this.set({ quantile: '0.99' }, ok ? loop.percentile(99) / 1e9 : 0)
      this.set({ quantile: '1' }, ok ? loop.max / 1e9 : 0)
      loop.reset()
    }
  })
  new Gauge({
    name: 'process_resident_memory_bytes',
    help: 'Resident memory size in bytes',
    registers: [registry],
    collect() {
      this.set(process.memoryUsage.rss())
    }
  })

  return new Elysia({ name: 'roster.metrics' }).get(
    '/metrics',
    async ({ request, set }) => {
      const header = request.headers.get('authorization')
      if (metricsToken && header?.startsWith('Bearer ') && sameSecret(header.slice(7).trim(), metricsToken)) {
        // the scraper's token
      } else {
        if (!header) throw Unauthorized()
        await requireAdmin(header)
      }
      set.headers['content-type'] = registry.contentType
      return registry.metrics()
    },
    {
      response: { 200: t.String({ description: 'Prometheus text exposition format 0.0.4' }), ...errorResponses(401, 403) },
      detail: {
        tags: ['metrics'],
        summary: 'Prometheus metrics',
        description: 'Prometheus text format. Send an admin access token or METRICS_TOKEN as `Authorization: Bearer <token>`.',
        ...authDetail('admin')
      }
    }
  )
}
