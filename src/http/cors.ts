// CORS for the origins listed in CORS_ORIGINS, matched exactly. Written here
// rather than taken from @elysiajs/cors 1.4.2, which (read in its source): sets
// Access-Control-Allow-Credentials and the allow/expose header lists on every
// response, listed origin or not; answers preflights from any origin with
// CORS headers; matches listed origins with `from in {}` (so `Origin:
// constructor` is "listed") and also without the scheme; and lists the
// request's header names on every request that has no Origin at all.
import { Elysia } from 'elysia'

const ALLOW_METHODS = 'GET, POST, PUT, PATCH, DELETE, OPTIONS'
const ALLOW_HEADERS = 'Authorization, Content-Type, X-Request-ID, Range'
// Response headers a browser script may read besides the CORS-safelisted ones.
const EXPOSE_HEADERS =
  'X-Request-ID, Retry-After, RateLimit-Limit, RateLimit-Remaining, RateLimit-Reset, Content-Disposition, Content-Range, WWW-Authenticate'

export const CORS_MAX_AGE_SECONDS = 600

export function corsPlugin(origins: readonly string[]) {
  const app = new Elysia({ name: 'roster.cors' })
  // Nothing configured: no hook at all, so no cost.
  if (origins.length === 0) return app
  // A Set of exact strings: `Origin: null` (sandboxed frames, file://) and any
  // prototype key never match; CORS_ORIGINS itself only accepts real origins.
  const allowed = new Set(origins)

  return (
    app
      // No early exit (see the rate limiter's hook): a hook whose text holds
      // that keyword has its result mapped as a possible response every time.
      .onRequest(({ request, set }) => {
        const origin = request.headers.get('origin')
        if (origin !== null) {
          // The answer depends on Origin: shared caches must keep them apart.
          set.headers.vary = 'Origin'
          if (allowed.has(origin)) {
            set.headers['access-control-allow-origin'] = origin
            set.headers['access-control-allow-credentials'] = 'true'
            set.headers['access-control-expose-headers'] = EXPOSE_HEADERS
          }
        }
      })
      // Preflight. A route (not an early return from onRequest) so that it is
      // counted and logged like any request. Other origins get a bare 204.
      .options(
        '/*',
        ({ request, set }) => {
          set.status = 204
          const origin = request.headers.get('origin')
          if (origin !== null && allowed.has(origin) && request.headers.has('access-control-request-method')) {
            set.headers['access-control-allow-methods'] = ALLOW_METHODS
            set.headers['access-control-allow-headers'] = ALLOW_HEADERS
            set.headers['access-control-max-age'] = String(CORS_MAX_AGE_SECONDS)
          }
          return undefined
        },
        { detail: { hide: true } }
      )
  )
}
