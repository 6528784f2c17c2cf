// Request id, request log and request metrics: one plugin, because all three
// need the request's start time and final status. The id comes from a sane
// X-Request-Id or is generated, and is echoed in the response.
import { Elysia } from 'elysia'
import type { Logger } from '../lib/log'
import type { RequestMetrics } from './metrics'

const SANE_REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/

interface RequestMeta {
  id: string
  start: number
  /** Set by the error plugin: its Response does not pass through `set.status`. */
  status?: number
}

// Keyed by the Request object: it belongs to one app, and goes with it.
const meta = new WeakMap<Request, RequestMeta>()

/** The id assigned to this request ('' before the request-log plugin saw it). */
export const requestIdOf = (request: Request): string => meta.get(request)?.id ?? ''

/** Records the status of a Response built outside the handler (the error plugin's). */
export function noteStatus(request: Request, status: number): void {
  const m = meta.get(request)
  if (m) m.status = status
}

export function requestLogPlugin({ logger, metrics }: { logger: Logger; metrics: RequestMetrics }) {
  const logRequests = logger.enabled('info')
  return new Elysia({ name: 'roster.request-log' })
    .onRequest(({ request, set }) => {
      const sent = request.headers.get('x-request-id')
      const id = sent && SANE_REQUEST_ID.test(sent) ? sent : crypto.randomUUID()
      meta.set(request, { id, start: performance.now() })
      set.headers['x-request-id'] = id
      metrics.started()
    })
    .onAfterResponse({ as: 'global' }, ({ request, route, set }) => {
      const m = meta.get(request)
      const status = m?.status ?? (typeof set.status === 'number' ? set.status : 200)
      const ms = m ? performance.now() - m.start : 0
      // Refused before routing (429) or unknown paths have no route template.
      metrics.finished(request.method, route || 'unmatched', status, ms / 1000)
      if (!logRequests) return
      logger.info('request', {
        method: request.method,
        route: route || 'unmatched',
        status,
        duration_ms: m ? Math.round(ms * 100) / 100 : undefined,
        request_id: m?.id
      })
    })
}
