// Edge protection over HTTP: rate limiting, CORS, body limits, security
// headers and /metrics.
import { describe, expect, test } from 'bun:test'
import { Elysia } from 'elysia'
import { JSON_BODY_LIMIT } from '../src/http/body'
import { clientKey, createRateLimiter } from '../src/http/ratelimit'
import { connect } from 'node:net'
import { admin, expectNoSecrets, makeApp, PASSWORD, req, SECRET, tempDir, userBody, userWithToken } from './helpers'
import { SOURCE, startServer } from './server'
import { cleanups } from './cleanup'

const ip = (n: number) => ({ 'x-forwarded-for': `203.0.113.${n}` })

describe('rate limit', () => {
  test('over the limit: 429 in the contract shape with Retry-After and RateLimit-* headers', async () => {
    const t = await makeApp({ RATE_LIMIT_PER_MINUTE: '3', TRUST_PROXY: 'true' })
    const seen: number[] = []
    for (let i = 0; i < 3; i++) {
      const r = await req(t, 'GET', '/users/me', { headers: ip(1) })
      expect(r.status).toBe(401)
      expect(r.headers.get('ratelimit-limit')).toBe('3')
      seen.push(Number(r.headers.get('ratelimit-remaining')))
      expect(Number(r.headers.get('ratelimit-reset'))).toBeGreaterThan(0)
    }
    expect(seen).toEqual([2, 1, 0])
    const r = await req(t, 'GET', '/users/me', { headers: ip(1) })
    expect(r.status).toBe(429)
    expect(r.json).toEqual({ detail: 'Rate limit exceeded' })
    expect(r.headers.get('content-type')).toContain('application/json')
    expect(Number(r.headers.get('retry-after'))).toBeGreaterThanOrEqual(1)
    expect(Number(r.headers.get('retry-after'))).toBeLessThanOrEqual(20)
    expect(r.headers.get('ratelimit-remaining')).toBe('0')
    expect(r.headers.get('x-request-id')).toBeTruthy()
    // Another client is not affected; probes never count.
    expect((await req(t, 'GET', '/users/me', { headers: ip(2) })).status).toBe(401)
    const probe = await req(t, 'GET', '/health', { headers: ip(1) })
    expect(probe.status).toBe(200)
    expect(probe.headers.get('ratelimit-limit')).toBeNull()
    expect(probe.headers.get('x-content-type-options')).toBe('nosniff')
    // The refusal is logged like any request (after the response is sent).
    await Bun.sleep(1)
    expect(t.logs.some((l) => l.includes('"status":429'))).toBe(true)
  })

  test('RATE_LIMIT_PER_MINUTE=0 turns it off: no headers, never 429', async () => {
    const t = await makeApp({ RATE_LIMIT_PER_MINUTE: '0' })
    for (let i = 0; i < 120; i++) {
      const r = await req(t, 'GET', '/health/nope')
      expect(r.status).toBe(404)
      expect(r.headers.get('ratelimit-limit')).toBeNull()
    }
  })

  test('X-Forwarded-For is ignored unless TRUST_PROXY is set', async () => {
    const t = await makeApp({ RATE_LIMIT_PER_MINUTE: '2' })
    await req(t, 'GET', '/users', { headers: ip(1) })
    await req(t, 'GET', '/users', { headers: ip(2) })
    // Different forwarded addresses, one real peer: the same bucket.
    expect((await req(t, 'GET', '/users', { headers: ip(3) })).status).toBe(429)
  })

  test('with TRUST_PROXY the right-most X-Forwarded-For entry is the client', async () => {
    const t = await makeApp({ RATE_LIMIT_PER_MINUTE: '1', TRUST_PROXY: 'true' })
    expect((await req(t, 'GET', '/users', { headers: { 'x-forwarded-for': '1.1.1.1, 198.51.100.7' } })).status).toBe(401)
    // A client forging the left part does not get a fresh bucket.
    expect((await req(t, 'GET', '/users', { headers: { 'x-forwarded-for': '9.9.9.9, 198.51.100.7' } })).status).toBe(429)
  })

  test('/auth/login has a stricter bucket of its own; refusals there do not spend the general quota', async () => {
    const t = await makeApp({ RATE_LIMIT_PER_MINUTE: '100', TRUST_PROXY: 'true' })
    // A different name each time: the failed-login throttle (5 per account and
    // IP) must not be what answers here, only the request-rate bucket.
    const bad = (i: number) => ({ username: `nobody${i}`, password: 'Wrong1234' })
    for (let i = 0; i < 10; i++) expect((await req(t, 'POST', '/auth/login', { body: bad(i), headers: ip(5) })).status).toBe(401)
    // Other routes still work for that client, under the general limit.
    const before = await req(t, 'GET', '/users', { headers: ip(5) })
    expect(before.status).toBe(401)
    expect(before.headers.get('ratelimit-limit')).toBe('100')
    for (let i = 10; i < 13; i++) {
      const r = await req(t, 'POST', '/auth/login', { body: bad(i), headers: ip(5) })
      expect(r.status).toBe(429)
      expect(r.headers.get('ratelimit-limit')).toBe('10')
    }
    // The 3 refused logins were not charged to the general quota: only this
    // request was. (Compared across a few milliseconds, not across the slow
    // argon2 logins, during which the quota refills.)
    const after = await req(t, 'GET', '/users', { headers: ip(5) })
    const spent = Number(before.headers.get('ratelimit-remaining')) - Number(after.headers.get('ratelimit-remaining'))
    expect(spent).toBeGreaterThanOrEqual(0)
    expect(spent).toBeLessThanOrEqual(1)
  })

  test('/auth/password-reset has a stricter bucket of its own', async () => {
    const t = await makeApp({ RATE_LIMIT_PER_MINUTE: '100', TRUST_PROXY: 'true' })
    const statuses: number[] = []
    for (let i = 0; i < 6; i++) statuses.push((await req(t, 'POST', '/auth/password-reset', { body: { email: 'a@example.com' }, headers: ip(6) })).status)
    // The route itself belongs to another feature (404 until it exists); the bucket is here.
    expect(statuses[5]).toBe(429)
    expect(statuses.slice(0, 5)).not.toContain(429)
  })

  test('a trailing slash reaches the same route and counts in the same strict bucket', async () => {
    const t = await makeApp({ RATE_LIMIT_PER_MINUTE: '100', TRUST_PROXY: 'true' })
    const paths = ['/auth/password-reset/', '/auth/password-reset', '/auth/password-reset/']
    const statuses: number[] = []
    for (let i = 0; i < 6; i++) {
      statuses.push((await req(t, 'POST', paths[i % 3]!, { body: { email: 'a@example.com' }, headers: ip(7) })).status)
    }
    expect(statuses.slice(0, 5)).toEqual([202, 202, 202, 202, 202])
    expect(statuses[5]).toBe(429)
    // Login: one name per attempt, so the failed-login throttle stays out of it.
    const login = (path: string, i: number) =>
      req(t, 'POST', path, { body: { username: `nobody${i}`, password: 'Wrong1234' }, headers: ip(8) })
    for (let i = 0; i < 10; i++) expect((await login(i % 2 ? '/auth/login/' : '/auth/login', i)).status).toBe(401)
    expect((await login('/auth/login/', 10)).status).toBe(429)
    expect((await login('/auth/login', 11)).status).toBe(429)
  })

  test('memory stays bounded: 100,000 distinct clients never hold more than the cap', () => {
    const cap = 10_000
    const limiter = createRateLimiter({ limit: 5, maxClients: cap })
    let max = 0
    const now = Date.now()
    for (let i = 0; i < 100_000; i++) {
      const d = limiter.hit(`10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`, now)
      expect(d.allowed).toBe(true)
      if (limiter.size > max) max = limiter.size
    }
    expect(max).toBe(cap)
    expect(limiter.size).toBeLessThanOrEqual(limiter.maxClients)
  })

  test('eviction is least-recently-used: an active client keeps its state', () => {
    const limiter = createRateLimiter({ limit: 2, maxClients: 3 })
    const now = 1_000_000
    limiter.hit('a', now)
    limiter.hit('a', now)
    expect(limiter.hit('a', now).allowed).toBe(false)
    limiter.hit('b', now)
    limiter.hit('c', now)
    expect(limiter.hit('a', now).allowed).toBe(false) // refreshes a
    limiter.hit('d', now) // evicts b, the least recently seen
    expect(limiter.size).toBe(3)
    expect(limiter.hit('a', now).allowed).toBe(false)
    expect(limiter.hit('b', now).remaining).toBe(1) // fresh
  })

  test('a client that keeps coming back keeps its state through a flood of 100,000 others', () => {
    const cap = 1_000
    const limiter = createRateLimiter({ limit: 2, maxClients: cap })
    const now = 1_000_000
    limiter.hit('abuser', now)
    limiter.hit('abuser', now)
    limiter.hit('idle', now)
    for (let i = 0; i < 100_000; i++) {
      limiter.hit(`10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`, now)
      // Once every 100 newcomers (under cap / 2): never far enough back to be evicted.
      if (i % 100 === 0) expect(limiter.hit('abuser', now).allowed).toBe(false)
      expect(limiter.size).toBeLessThanOrEqual(cap)
    }
    expect(limiter.hit('abuser', now).allowed).toBe(false)
    // The client that went quiet was evicted: it starts with a fresh quota.
    expect(limiter.hit('idle', now).remaining).toBe(1)
  })

  test('IPv6 clients share a bucket per /64; IPv4-mapped addresses count as IPv4', async () => {
    expect(clientKey('203.0.113.9')).toBe('203.0.113.9')
    expect(clientKey('::ffff:203.0.113.9')).toBe('203.0.113.9')
    expect(clientKey('2001:db8:1:2:aaaa::1')).toBe('2001:db8:1:2::/64')
    expect(clientKey('2001:0DB8:0001:0002:ffff:1:2:3')).toBe('2001:db8:1:2::/64')
    expect(clientKey('2001:db8::1')).toBe('2001:db8:0:0::/64')
    expect(clientKey('::1')).toBe('0:0:0:0::/64')
    const t = await makeApp({ RATE_LIMIT_PER_MINUTE: '2', TRUST_PROXY: 'true' })
    await req(t, 'GET', '/users', { headers: { 'x-forwarded-for': '2001:db8:1:2::1' } })
    await req(t, 'GET', '/users', { headers: { 'x-forwarded-for': '2001:db8:1:2::2' } })
    expect((await req(t, 'GET', '/users', { headers: { 'x-forwarded-for': '2001:db8:1:2:ffff::3' } })).status).toBe(429)
    expect((await req(t, 'GET', '/users', { headers: { 'x-forwarded-for': '2001:db8:1:3::1' } })).status).toBe(401)
  })

  test('the quota refills at limit per minute (sliding, not a fixed window)', () => {
    const limiter = createRateLimiter({ limit: 60 })
    const t0 = 5_000_000
    for (let i = 0; i < 60; i++) expect(limiter.hit('x', t0).allowed).toBe(true)
    const refused = limiter.hit('x', t0)
    expect(refused.allowed).toBe(false)
    expect(refused.retryAfterSeconds).toBe(1)
    expect(limiter.hit('x', t0 + 999).allowed).toBe(false)
    expect(limiter.hit('x', t0 + 1000).allowed).toBe(true)
    expect(limiter.hit('x', t0 + 1000).allowed).toBe(false)
    // One request ahead at t0+1s: full again one window after that.
    expect(limiter.hit('x', t0 + 61_000).remaining).toBe(59)
  })
})

describe('CORS', () => {
  const ORIGIN = 'https://app.example.com'
  const env = { CORS_ORIGINS: `${ORIGIN},http://localhost:5173` }

  test('a listed origin gets its origin back with credentials', async () => {
    const t = await makeApp(env)
    const r = await req(t, 'GET', '/health', { headers: { origin: ORIGIN } })
    expect(r.headers.get('access-control-allow-origin')).toBe(ORIGIN)
    expect(r.headers.get('access-control-allow-credentials')).toBe('true')
    expect(r.headers.get('access-control-expose-headers')).toContain('X-Request-ID')
    expect(r.headers.get('vary')).toBe('Origin')
  })

  test('preflight from a listed origin: 204 with methods, headers and Max-Age', async () => {
    const t = await makeApp(env)
    const r = await req(t, 'OPTIONS', '/users/1', {
      headers: { origin: ORIGIN, 'access-control-request-method': 'PATCH', 'access-control-request-headers': 'authorization, content-type' }
    })
    expect(r.status).toBe(204)
    expect(r.headers.get('access-control-allow-origin')).toBe(ORIGIN)
    expect(r.headers.get('access-control-allow-credentials')).toBe('true')
    expect(r.headers.get('access-control-allow-methods')).toContain('PATCH')
    expect(r.headers.get('access-control-allow-headers')?.toLowerCase()).toContain('authorization')
    expect(Number(r.headers.get('access-control-max-age'))).toBeGreaterThan(0)
  })

  const refused: [string, string][] = [
    ['an unlisted origin', 'https://evil.example.com'],
    ['Origin: null', 'null'],
    ['the same host over another scheme', 'http://app.example.com'],
    ['a prefix match', 'https://app.example.com.evil.com'],
    ['a prototype key', 'constructor']
  ]
  for (const [name, origin] of refused) {
    test(`${name} gets no CORS headers, on requests and preflights`, async () => {
      const t = await makeApp(env)
      for (const r of [
        await req(t, 'GET', '/health', { headers: { origin } }),
        await req(t, 'OPTIONS', '/users', { headers: { origin, 'access-control-request-method': 'POST' } })
      ]) {
        for (const [k] of r.headers) expect(k.startsWith('access-control-')).toBe(false)
      }
    })
  }

  test('no CORS_ORIGINS: no CORS headers, and OPTIONS is not a route', async () => {
    const t = await makeApp()
    const r = await req(t, 'OPTIONS', '/users', { headers: { origin: ORIGIN, 'access-control-request-method': 'POST' } })
    expect(r.status).toBe(404)
    for (const [k] of r.headers) expect(k.startsWith('access-control-')).toBe(false)
  })

  test('a request without Origin gets no CORS headers', async () => {
    const t = await makeApp(env)
    const r = await req(t, 'GET', '/health')
    for (const [k] of r.headers) expect(k.startsWith('access-control-')).toBe(false)
  })

  test('a 429 still carries the CORS headers so the browser can read it', async () => {
    const t = await makeApp({ ...env, RATE_LIMIT_PER_MINUTE: '1' })
    await req(t, 'GET', '/users', { headers: { origin: ORIGIN } })
    const r = await req(t, 'GET', '/users', { headers: { origin: ORIGIN } })
    expect(r.status).toBe(429)
    expect(r.headers.get('access-control-allow-origin')).toBe(ORIGIN)
  })
})

describe('body limits and content types', () => {
  const big = (bytes: number) => JSON.stringify({ ...userBody('bigbody'), pad: 'x'.repeat(bytes) })

  test('a JSON body over 1 MiB (Content-Length) gets 413 in the contract shape', async () => {
    const t = await makeApp()
    const r = await req(t, 'POST', '/users', { raw: big(JSON_BODY_LIMIT) })
    expect(r.status).toBe(413)
    expect(r.json).toEqual({ detail: 'Request body too large' })
    expect(r.headers.get('x-request-id')).toBeTruthy()
  })

  test('a chunked JSON body over 1 MiB is cut off at the limit: 413', async () => {
    const t = await makeApp()
    let pulled = 0
    const chunk = new TextEncoder().encode('x'.repeat(64 * 1024))
    const stream = new ReadableStream<Uint8Array>({
      pull(c) {
        pulled += chunk.byteLength
        // An endless body: only the cap stops the reading.
        c.enqueue(chunk)
      }
    })
    const res = await t.app.handle(
      new Request('http://localhost/users', { method: 'POST', headers: { 'content-type': 'application/json' }, body: stream, duplex: 'half' } as RequestInit)
    )
    expect(res.status).toBe(413)
    expect(await res.json()).toEqual({ detail: 'Request body too large' })
    expect(pulled).toBeLessThan(JSON_BODY_LIMIT + 4 * chunk.byteLength)
  })

  test('a body just under 1 MiB is read (and validated)', async () => {
    const t = await makeApp()
    const r = await req(t, 'POST', '/users', { raw: big(JSON_BODY_LIMIT - 1000) })
    expect(r.status).toBe(201)
  })

  test('a chunked JSON body under the limit is parsed', async () => {
    const t = await makeApp()
    const bytes = new TextEncoder().encode(JSON.stringify(userBody('chunky')))
    const stream = new ReadableStream<Uint8Array>({
      start(c) {
        c.enqueue(bytes.slice(0, 10))
        c.enqueue(bytes.slice(10))
        c.close()
      }
    })
    const res = await t.app.handle(
      new Request('http://localhost/users', { method: 'POST', headers: { 'content-type': 'application/json' }, body: stream, duplex: 'half' } as RequestInit)
    )
    expect(res.status).toBe(201)
  })

  const wrongTypes = ['text/plain', 'application/x-www-form-urlencoded', 'multipart/form-data; boundary=x', 'application/xml']
  for (const type of wrongTypes) {
    test(`POST /users with ${type.split(';')[0]} gets 415`, async () => {
      const t = await makeApp()
      const r = await req(t, 'POST', '/users', { raw: 'username=x', headers: { 'content-type': type } })
      expect(r.status).toBe(415)
      expect(typeof r.json.detail).toBe('string')
    })
  }

  test('login still takes the OAuth2 form', async () => {
    const t = await makeApp()
    await userWithToken(t, 'alice')
    const r = await req(t, 'POST', '/auth/login', { form: { username: 'alice', password: PASSWORD } })
    expect(r.status).toBe(200)
  })

  test('login with a form over the limit gets 413', async () => {
    const t = await makeApp()
    const r = await req(t, 'POST', '/auth/login', { form: { username: 'alice', password: 'x'.repeat(JSON_BODY_LIMIT) } })
    expect(r.status).toBe(413)
    expect(r.json).toEqual({ detail: 'Request body too large' })
  })

  test('Content-Type with charset and upper case is JSON', async () => {
    const t = await makeApp()
    const r = await req(t, 'POST', '/users', { body: userBody('casey'), headers: { 'content-type': 'Application/JSON; charset=utf-8' } })
    expect(r.status).toBe(201)
  })

  test('a multipart body for a route with its own parser is not read by the JSON checks', async () => {
    // The app's parse hook in front of a route that parses its own body (as
    // POST /upload does); 2 MiB is over the JSON limit and must not matter.
    const t = await makeApp()
    const probe = new Elysia().use(t.app).post('/upload-probe', ({ body }) => ({ got: typeof body }), {
      parse: ({ request }) => ({ size: Number(request.headers.get('content-length')) }),
      body: (await import('elysia')).t.Object({ size: (await import('elysia')).t.Number() })
    })
    const form = new FormData()
    form.append('file', new Blob(['x'.repeat(2 * JSON_BODY_LIMIT)]), 'a.bin')
    const res = await probe.handle(new Request('http://localhost/upload-probe', { method: 'POST', body: form }))
    expect(res.status).toBe(200)
  })
})

describe('security headers', () => {
  const paths: [string, string, number][] = [
    ['GET', '/health', 200],
    ['GET', '/users/me', 401],
    ['GET', '/nope', 404],
    ['POST', '/auth/login', 422]
  ]
  for (const [method, path, status] of paths) {
    test(`${method} ${path} (${status}) carries them`, async () => {
      const t = await makeApp()
      const r = await req(t, method, path, method === 'POST' ? { body: {} } : {})
      expect(r.status).toBe(status)
      expect(r.headers.get('x-content-type-options')).toBe('nosniff')
      expect(r.headers.get('referrer-policy')).toBe('no-referrer')
      expect(r.headers.get('x-frame-options')).toBe('DENY')
      expect(r.headers.get('cache-control')).toBe('no-store')
      expect(r.headers.get('strict-transport-security')).toBeNull()
    })
  }

  test('a successful login is no-store', async () => {
    const t = await makeApp()
    await userWithToken(t, 'alice')
    const r = await req(t, 'POST', '/auth/login', { body: { username: 'alice', password: PASSWORD } })
    expect(r.status).toBe(200)
    expect(r.headers.get('cache-control')).toBe('no-store')
  })

  test('HSTS when PUBLIC_URL is https', async () => {
    const t = await makeApp({ PUBLIC_URL: 'https://roster.example.com' })
    const r = await req(t, 'GET', '/health')
    expect(r.headers.get('strict-transport-security')).toContain('max-age=')
  })

  test('docs assets keep their own caching', async () => {
    const t = await makeApp()
    const r = await req(t, 'GET', '/docs/assets/swagger-ui.css')
    expect(r.status).toBe(200)
    expect(r.headers.get('cache-control')).toContain('max-age')
    expect(r.headers.get('x-content-type-options')).toBe('nosniff')
  })
})

describe('GET /metrics', () => {
  test('unauthenticated: 401; a non-admin: 403; a wrong METRICS_TOKEN: 401', async () => {
    const t = await makeApp({ METRICS_TOKEN: 'scrape-token-0123456789' })
    const alice = await userWithToken(t, 'alice')
    expect((await req(t, 'GET', '/metrics')).status).toBe(401)
    expect((await req(t, 'GET', '/metrics', { token: alice.token })).status).toBe(403)
    const wrong = await req(t, 'GET', '/metrics', { token: 'scrape-token-0123456788' })
    expect(wrong.status).toBe(401)
    expect(wrong.json).toEqual({ detail: 'Could not validate credentials' })
  })

  test('an admin reads Prometheus text with every family', async () => {
    const t = await makeApp()
    const root = await admin(t)
    await req(t, 'GET', '/users/1', { token: root.token })
    await req(t, 'GET', '/users/2', { token: root.token })
    await req(t, 'GET', '/nothing-here/123')
    const now = Date.now()
    // The admin's own welcome mail is already queued: start from an empty outbox.
    await t.sql('DELETE FROM email_outbox')
    for (const status of ['queued', 'queued', 'dead']) {
      await t.sql(
        "INSERT INTO email_outbox (kind, to_address, subject, text_body, html_body, status, next_attempt_at, created_at) VALUES ('welcome', 'a@example.com', 's', 't', 'h', ?, ?, ?)",
        status,
        now,
        now
      )
    }
    await Bun.sleep(1) // requests are recorded once their response is sent
    const r = await req(t, 'GET', '/metrics', { token: root.token })
    expect(r.status).toBe(200)
    expect(r.headers.get('content-type')).toContain('text/plain')
    const body = r.text
    // By route template, never by raw path.
    expect(body).toMatch(/http_requests_total\{method="GET",route="\/users\/:user_id",status="200"\} 1/)
    expect(body).toMatch(/http_requests_total\{method="GET",route="\/users\/:user_id",status="404"\} 1/)
    expect(body).toMatch(/http_requests_total\{method="GET",route="unmatched",status="404"\} 1/)
    expect(body).not.toContain('/users/2')
    expect(body).not.toContain('nothing-here')
    expect(body).toContain('http_request_duration_seconds_bucket{le="0.005",method="GET",route="/users/:user_id"}')
    expect(body).toMatch(/http_requests_in_flight 1/) // the scrape itself
    expect(body).toContain('roster_email_outbox{status="queued"} 2')
    expect(body).toContain('roster_email_outbox{status="dead"} 1')
    expect(body).toContain('roster_email_outbox{status="sent"} 0')
    expect(body).toMatch(/roster_database_size_bytes [1-9]\d*/)
    expect(body).toMatch(/roster_event_loop_lag_seconds\{quantile="0.99"\} [\d.e-]+/)
    expectNoSecrets(body, [root.token])
  })

  test('METRICS_TOKEN works without any user', async () => {
    const t = await makeApp({ METRICS_TOKEN: 'scrape-token-0123456789' })
    const r = await req(t, 'GET', '/metrics', { token: 'scrape-token-0123456789' })
    expect(r.status).toBe(200)
    expect(r.text).toContain('# TYPE http_requests_total counter')
  })

  test('refused (429) requests are counted', async () => {
    const t = await makeApp({ RATE_LIMIT_PER_MINUTE: '1', METRICS_TOKEN: 'scrape-token-0123456789' })
    await req(t, 'GET', '/users')
    await req(t, 'GET', '/users')
    await Bun.sleep(1)
    const r = await req(t, 'GET', '/metrics', { token: 'scrape-token-0123456789' })
    expect(r.text).toMatch(/http_requests_total\{method="GET",route="unmatched",status="429"\} 1/)
  })
})

describe('over a real socket (127.0.0.1, port 0)', () => {
  test('the limiter keys on the peer address; X-Forwarded-For is ignored by default', async () => {
    const t = await makeApp({ RATE_LIMIT_PER_MINUTE: '2' })
    t.app.listen({ port: 0, hostname: '127.0.0.1' })
    try {
      const base = `http://127.0.0.1:${t.app.server!.port}`
      const statuses: number[] = []
      for (let i = 0; i < 3; i++) {
        const res = await fetch(`${base}/users`, { headers: { 'x-forwarded-for': `198.51.100.${i}` } })
        statuses.push(res.status)
        await res.arrayBuffer()
      }
      expect(statuses).toEqual([401, 401, 429])
    } finally {
      await t.app.stop(true)
    }
  })

  test('a chunked JSON body over 1 MiB gets 413 with a body; a small one is parsed', async () => {
    const t = await makeApp()
    t.app.listen({ port: 0, hostname: '127.0.0.1' })
    try {
      const url = `http://127.0.0.1:${t.app.server!.port}/users`
      const chunk = new TextEncoder().encode('x'.repeat(256 * 1024))
      let sent = 0
      const stream = new ReadableStream<Uint8Array>({
        pull(c) {
          if (sent >= 8 * chunk.byteLength) return c.close()
          sent += chunk.byteLength
          c.enqueue(chunk)
        }
      })
      const big = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: stream, duplex: 'half' } as RequestInit)
      expect(big.status).toBe(413)
      expect(await big.json()).toEqual({ detail: 'Request body too large' })
      const ok = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(userBody('sockety')) })
      expect(ok.status).toBe(201)
    } finally {
      await t.app.stop(true)
    }
  })
})

describe('size refusals over a real server always carry the JSON body', () => {
  /** Sends only the head of a request (a huge Content-Length, no body) and reads the answer. */
  function headOnly(url: string, path: string, contentLength: string, contentType: string, token?: string): Promise<{ status: number; body: string }> {
    const { hostname, port } = new URL(url)
    return new Promise((resolve, reject) => {
      const sock = connect(Number(port), hostname, () => {
        const auth = token ? `Authorization: Bearer ${token}\r\n` : ''
        sock.write(`POST ${path} HTTP/1.1\r\nHost: ${hostname}\r\n${auth}Content-Type: ${contentType}\r\nContent-Length: ${contentLength}\r\nConnection: close\r\n\r\n`)
      })
      let raw = ''
      sock.on('data', (d) => (raw += d.toString('latin1')))
      sock.on('error', reject)
      sock.on('close', () => {
        const status = Number(/^HTTP\/1\.1 (\d{3})/.exec(raw)?.[1] ?? 0)
        resolve({ status, body: raw.slice(raw.indexOf('\r\n\r\n') + 4) })
      })
    })
  }

  test('a Content-Length far over every limit: 413 {"detail":...} from Roster, not an empty one from the server', async () => {
    const s = await startServer(SOURCE, { env: { DATA_DIR: tempDir(), SECRET_KEY: SECRET, MAX_UPLOAD_BYTES: '1024', LOG_LEVEL: 'warn' } })
    // The server outlived the test run before (bun test's exit does not always
    // run the launcher's exit hook): stopped here, whatever the outcome.
    cleanups.push(async () => {
      s.proc.kill('SIGKILL')
      await s.exited
    })
    const post = (path: string, body: unknown) =>
      fetch(`${s.url}${path}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) }).then((r) => r.json() as Promise<any>)
    await post('/users', userBody('big'))
    const token = (await post('/auth/login', { username: 'big', password: PASSWORD })).access_token as string
    for (const length of ['1000000000000', String(64 * 1024 * 1024)]) {
      const r = await headOnly(s.url, '/upload', length, 'multipart/form-data; boundary=x', token)
      expect({ length, status: r.status, body: r.body }).toEqual({ length, status: 413, body: JSON.stringify({ detail: 'File too large' }) })
    }
    const cases: [string, string, string, number, string][] = [
      ['/upload', '1000000000000', 'multipart/form-data; boundary=x', 401, 'Could not validate credentials'],
      ['/users', '1000000000000', 'application/json', 413, 'Request body too large'],
      ['/auth/login', String(256 * 1024 * 1024), 'application/json', 413, 'Request body too large'],
      ['/auth/login', '1000000000000', 'application/x-www-form-urlencoded', 413, 'Request body too large'],
      // No route reads it: the answer is the route's own, still in the contract's shape.
      ['/nowhere', '1000000000000', 'application/json', 404, 'Not Found']
    ]
    for (const [path, length, type, status, detail] of cases) {
      const r = await headOnly(s.url, path, length, type)
      expect({ path, length, status: r.status, body: r.body }).toEqual({ path, length, status, body: JSON.stringify({ detail }) })
    }
  })
})
