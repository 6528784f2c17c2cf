// Request metrics (prom-client on a registry of our own, never the global
// one: every app built in one process, the tests' included, keeps its own).
// Requests are labelled by route *template* (`/users/:id`), never by the raw
// path, so the label set stays small whatever clients send. The hot path does
// a Map lookup of cached label children and two increments.
import { Counter, Gauge, Histogram, type Registry } from 'prom-client'

export interface RequestMetrics {
  started(): void
  finished(method: string, route: string, status: number, seconds: number): void
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
  let active = 0
  // Read at scrape time: setting a gauge hashes its labels, twice per request.
  new Gauge({
    name: 'http_requests_in_flight',
    help: 'Requests being handled',
    registers: [registry],
    collect() {
      this.set(active)
    }
  })
  // prom-client hashes label objects on every call; the children are cached
  // per label combination instead (bounded: routes × methods × statuses).
  const counters = new Map<string, Counter.Internal>()
  const timers = new Map<string, Histogram.Internal<'method' | 'route'>>()
  return {
    started() {
      active++
    },
    finished(method, route, status, seconds) {
      active = Math.max(0, active - 1)
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
