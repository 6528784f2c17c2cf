// Request metrics on a prom-client registry of our own (never the global one:
// every app built in one process, the tests' included, keeps its own).
// Requests are labelled by route *template* (`/users/:id`), never by the raw
// path, so the label set stays small whatever clients send.
//
// The request counter and the duration histogram are kept here, as plain
// numbers per label set, and handed to the registry only when it is scraped:
// prom-client's own Counter and Histogram hash the label object on every
// increment (a labels() child too) and search the buckets with a closure per
// observation, a visible share of an authenticated GET's CPU profile. The
// exposition format is prom-client's: the registry formats what get() returns.
import { Gauge, type Registry } from 'prom-client'

export interface RequestMetrics {
  started(): void
  finished(method: string, route: string, status: number, seconds: number): void
}

export const DURATION_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10]

type Labels = Record<string, string>
interface Value {
  labels: Labels
  value: number
  metricName?: string
  sharedLabels?: Labels
}

/** Registers a collector the registry formats like one of its own metrics. */
function collector(registry: Registry, name: string, help: string, type: 'counter' | 'histogram', values: () => Value[]) {
  const metric = {
    name,
    help,
    type,
    aggregator: 'sum',
    async get() {
      return { name, help, type, aggregator: 'sum', values: values() }
    },
    reset() {}
  }
  registry.registerMetric(metric as never)
}

export function createRequestMetrics(registry: Registry): RequestMetrics {
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
  // Bounded: routes × methods × statuses.
  const counts = new Map<string, { labels: Labels; n: number }>()
  const timings = new Map<string, { labels: Labels; buckets: number[]; sum: number; count: number }>()
  collector(registry, 'http_requests_total', 'HTTP requests by route template, method and status', 'counter', () =>
    [...counts.values()].map((c) => ({ labels: c.labels, value: c.n }))
  )
  collector(registry, 'http_request_duration_seconds', 'Time from request to response handler end, by route template and method', 'histogram', () => {
    const out: Value[] = []
    const bucket = 'http_request_duration_seconds_bucket'
    for (const t of timings.values()) {
      let acc = 0
      DURATION_BUCKETS.forEach((le, i) => {
        acc += t.buckets[i]!
        out.push({ labels: { le: String(le) }, sharedLabels: t.labels, value: acc, metricName: bucket })
      })
      out.push({ labels: { le: '+Inf' }, sharedLabels: t.labels, value: t.count, metricName: bucket })
      out.push({ labels: {}, sharedLabels: t.labels, value: t.sum, metricName: 'http_request_duration_seconds_sum' })
      out.push({ labels: {}, sharedLabels: t.labels, value: t.count, metricName: 'http_request_duration_seconds_count' })
    }
    return out
  })
  return {
    started() {
      active++
    },
    finished(method, route, status, seconds) {
      active = Math.max(0, active - 1)
      const rk = `${method} ${route}`
      const ck = `${rk} ${status}`
      let c = counts.get(ck)
      if (!c) counts.set(ck, (c = { labels: { method, route, status: String(status) }, n: 0 }))
      c.n++
      let t = timings.get(rk)
      if (!t) timings.set(rk, (t = { labels: { method, route }, buckets: DURATION_BUCKETS.map(() => 0), sum: 0, count: 0 }))
      t.sum += seconds
      t.count++
      let i = 0
      while (i < DURATION_BUCKETS.length && seconds > DURATION_BUCKETS[i]!) i++
      if (i < DURATION_BUCKETS.length) t.buckets[i]!++
    }
  }
}
