// The two baselines Roster is measured against, on the same database file:
//   raw     plain Bun.serve + prepared bun:sqlite statements: no framework, no
//           auth, no validation, no logging;
//   elysia  a bare Elysia app with one route per request doing the same lookups.
// Both answer the same primary-key lookup and the same 10-row listing as Roster,
// with the same JSON, so Roster/raw is the price of the real work Roster does
// and elysia/raw the price of the framework alone.
//
// Usage (started by run.ts): bun test/bench/baseline.ts <database file> [raw|elysia]
// Prints `listening <port>` once ready; listens on 127.0.0.1, port 0.
import { Database } from 'bun:sqlite'
import { Elysia } from 'elysia'

const file = process.argv[2]
const kind = process.argv[3] ?? 'raw'
if (!file || (kind !== 'raw' && kind !== 'elysia')) throw new Error('usage: baseline.ts <database file> [raw|elysia]')

const db = new Database(file, { readonly: true })
db.run('PRAGMA cache_size = -16000')

type Row = { id: number; username: string; email: string; age: number | null; role: string; is_active: number; mfa_enabled: number; created_at: string }
const COLUMNS = 'id, username, email, age, role, is_active, mfa_enabled, created_at'
const byId = db.query<Row, [number]>(`SELECT ${COLUMNS} FROM users WHERE id = ?`)
const list = db.query<Row, [number, number]>(`SELECT ${COLUMNS} FROM users WHERE is_active = 1 ORDER BY id LIMIT ? OFFSET ?`)

// Roster's default user directory (restricted): the caller sees their own full
// row and only id, username and created_at of everyone else. The bench always
// calls as user 1.
const VIEWER = 1
const toJson = (r: Row) =>
  r.id === VIEWER
    ? {
        id: r.id,
        username: r.username,
        email: r.email,
        age: r.age,
        role: r.role,
        is_active: r.is_active === 1,
        mfa_enabled: r.mfa_enabled === 1,
        created_at: r.created_at
      }
    : { id: r.id, username: r.username, created_at: r.created_at }

const JSON_TYPE = { 'content-type': 'application/json; charset=utf-8' }
const NOT_FOUND = '{"detail":"User not found"}'

function raw(req: Request): Response {
  const url = new URL(req.url)
  const path = url.pathname
  if (path.startsWith('/users/')) {
    const row = byId.get(Number(path.slice(7)))
    if (!row) return new Response(NOT_FOUND, { status: 404, headers: JSON_TYPE })
    return new Response(JSON.stringify(toJson(row)), { headers: JSON_TYPE })
  }
  if (path === '/users') {
    const limit = Number(url.searchParams.get('limit') ?? 10)
    const skip = Number(url.searchParams.get('skip') ?? 0)
    return new Response(JSON.stringify(list.all(limit, skip).map(toJson)), { headers: JSON_TYPE })
  }
  return new Response('{"detail":"Not Found"}', { status: 404, headers: JSON_TYPE })
}

function elysia() {
  return new Elysia()
    .get('/users/:id', ({ params, set }) => {
      const row = byId.get(Number(params.id))
      if (!row) {
        set.status = 404
        return NOT_FOUND
      }
      return toJson(row)
    })
    .get('/users', ({ query }) => list.all(Number(query.limit ?? 10), Number(query.skip ?? 0)).map(toJson))
}

let port: number
let stop: () => void
if (kind === 'raw') {
  const server = Bun.serve({ hostname: '127.0.0.1', port: 0, fetch: raw })
  port = server.port!
  stop = () => server.stop(true)
} else {
  const app = elysia().listen({ hostname: '127.0.0.1', port: 0, reusePort: false })
  port = app.server!.port!
  stop = () => void app.stop(true)
}

process.stdout.write(`listening ${port}\n`)
process.on('SIGTERM', () => {
  stop()
  db.close()
  process.exit(0)
})
