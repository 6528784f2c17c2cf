// A bare Bun.serve answering like GET /users/{id} with Roster's usual headers,
// for test/bench/wire-cost.sh. argv[2]=1 adds the three RateLimit-* headers;
// argv[3]=1 calls server.requestIP() as the limiter does. Prints its port.
const extra = process.argv[2] === '1'
const ip = process.argv[3] === '1'
const base = {
  'content-type': 'application/json',
  'x-request-id': 'f3a1c2d4-5b6e-4f70-8a9b-0c1d2e3f4a5b',
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
  'x-frame-options': 'DENY',
  'cache-control': 'no-store'
}
const more = { ...base, 'ratelimit-limit': '100', 'ratelimit-remaining': '99', 'ratelimit-reset': '1' }
const body = '{"id":1,"username":"bench","email":"bench@example.com","age":null,"role":"admin","is_active":true,"created_at":"2026-01-01T00:00:00.000Z"}'
const s = Bun.serve({
  hostname: '127.0.0.1',
  port: 0,
  fetch(req, srv) {
    if (ip) srv.requestIP(req)
    return new Response(body, { headers: extra ? more : base })
  }
})
console.log(s.port)
