// GET /metrics: the process, database and outbox gauges, and the request
// metrics the request-log plugin records into the same registry.
import { Elysia, t } from 'elysia'
import { monitorEventLoopDelay } from 'node:perf_hooks'
import { timingSafeEqual } from 'node:crypto'
import { Gauge, type Registry } from 'prom-client'
import { authDetail } from '../../http/openapi'
import { errorResponses } from '../../http/schemas'
import { Forbidden, Unauthorized } from '../../lib/errors'
import { resolveCaller, type AuthDeps } from '../auth/macro'
import type { MetricsService } from './service'

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
  /** Checks an admin's access token when the scraper's token is not sent. */
  auth: AuthDeps
  metricsToken?: string
}

function sameSecret(a: string, b: string): boolean {
  const x = Buffer.from(a)
  const y = Buffer.from(b)
  return x.length === y.length && timingSafeEqual(x, y)
}

/** GET /metrics: for an admin's token or METRICS_TOKEN. */
export function metricsModule(registry: Registry, { service, auth, metricsToken }: MetricsOptions) {
  new Gauge({
    name: 'roster_email_outbox',
    help: 'E-mail outbox rows by status',
    labelNames: ['status'] as const,
    registers: [registry],
    async collect() {
      const byStatus = await service.emailOutboxByStatus()
      this.reset()
      for (const [status, n] of Object.entries(byStatus)) this.set({ status }, n)
    }
  })
  new Gauge({
    name: 'roster_database_size_bytes',
    help: 'Database size: on SQLite pages in use times page size, plus the WAL file; on PostgreSQL pg_database_size',
    registers: [registry],
    async collect() {
      this.set(await service.databaseBytes())
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
        await resolveCaller(header, 'admin', auth)
      }
      set.headers['content-type'] = registry.contentType
      return registry.metrics()
    },
    {
      response: { 200: t.String({ description: 'Prometheus text exposition format 0.0.4' }), ...errorResponses(401, 403) },
      detail: {
        tags: ['metrics'],
        summary: 'Prometheus metrics',
        description: 'Prometheus text format. Send an admin access token (or a personal access token with the admin scope) or METRICS_TOKEN as `Authorization: Bearer <token>`.',
        ...authDetail('admin')
      }
    }
  )
}
