// The raw baseline: plain Bun.serve + prepared bun:sqlite statements, no
// framework, no auth, no validation, no logging. It answers the same primary-key
// lookup and the same 10-row listing as Roster, with the same JSON, so the
// ratio Roster/baseline is the price of the real work Roster does.
//
// Usage (started by run.ts): bun test/bench/baseline.ts <database file>
// Prints `listening <port>` once ready; listens on 127.0.0.1, port 0.
import { Database } from 'bun:sqlite'

const file = process.argv[2]
if (!file) throw new Error('usage: baseline.ts <database file>')

const db = new Database(file, { readonly: true })
db.run('PRAGMA cache_size = -16000')

type Row = { id: number; username: string; email: string; age: number | null; role: string; is_active: number; created_at: string }
const COLUMNS = 'id, username, email, age, role, is_active, created_at'
const byId = db.query<Row, [number]>(`SELECT ${COLUMNS} FROM users WHERE id = ?`)
const list = db.query<Row, [number, number]>(`SELECT ${COLUMNS} FROM users WHERE is_active = 1 ORDER BY id LIMIT ? OFFSET ?`)

const toJson = (r: Row) => ({
  id: r.id,
  username: r.username,
  email: r.email,
  age: r.age,
  role: r.role,
  is_active: r.is_active === 1,
  created_at: r.created_at
})

const JSON_TYPE = { 'content-type': 'application/json; charset=utf-8' }

const server = Bun.serve({
  hostname: '127.0.0.1',
  port: 0,
  fetch(req) {
    const url = new URL(req.url)
    const path = url.pathname
    if (path.startsWith('/users/')) {
      const row = byId.get(Number(path.slice(7)))
      if (!row) return new Response('{"detail":"User not found"}', { status: 404, headers: JSON_TYPE })
      return new Response(JSON.stringify(toJson(row)), { headers: JSON_TYPE })
    }
    if (path === '/users') {
      const limit = Number(url.searchParams.get('limit') ?? 10)
      const skip = Number(url.searchParams.get('skip') ?? 0)
      return new Response(JSON.stringify(list.all(limit, skip).map(toJson)), { headers: JSON_TYPE })
    }
    return new Response('{"detail":"Not Found"}', { status: 404, headers: JSON_TYPE })
  }
})

process.stdout.write(`listening ${server.port}\n`)
process.on('SIGTERM', () => {
  server.stop(true)
  db.close()
  process.exit(0)
})
