// Scale-out benchmark on PostgreSQL: authenticated GET /users/{id} and login,
// with one and with two `roster serve` instances on one database, against a
// raw Bun.SQL baseline (a bare Bun.serve running the same two primary-key
// reads) in the same run, on a throwaway cluster (test/pg.ts).
// Prints req/s and the app processes' CPU per request (from /proc; PostgreSQL's
// own CPU is not included).
//   bun test/bench/pg-scale.bench.ts [seconds=10] [connections=32]
import { SQL } from 'bun'
import { readFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { freshDatabase } from '../pg'
import { killServers, SOURCE, startServer, type Server } from '../server'
import { ensureWrk, writeScript, wrk, type WrkResult } from './wrk'

const seconds = Number(process.argv[2] ?? 10)
const connections = Number(process.argv[3] ?? 32)
const SECRET = 'bench-secret-that-is-long-enough-0123456789'
const PASSWORD = 'Secret123'
const log = (s: string) => process.stdout.write(s + '\n')

/** CPU seconds (user + system) a process has used so far. */
function cpuOf(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ')
  return (Number(fields[11]) + Number(fields[12])) / 100
}

ensureWrk(log)
const url = await freshDatabase()
const env = { DATABASE_URL: url, SECRET_KEY: SECRET, RATE_LIMIT_PER_MINUTE: '0', LOG_LEVEL: 'info', DATA_DIR: join(tmpdir(), `roster-pgbench-${process.pid}`) }
const a = await startServer(SOURCE, { env })
const signup = await fetch(`${a.url}/users`, {
  method: 'POST',
  headers: { 'content-type': 'application/json' },
  body: JSON.stringify({ username: 'bench', email: 'bench@example.com', password: PASSWORD })
})
const user = (await signup.json()) as { id: number }
const login = (await (
  await fetch(`${a.url}/auth/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ username: 'bench', password: PASSWORD }) })
).json()) as { access_token: string }

const dir = join(tmpdir(), `roster-pgbench-lua-${process.pid}`)
const getScript = writeScript(dir, 'get', `wrk.headers["Authorization"] = "Bearer ${login.access_token}"\n`)
const loginScript = writeScript(
  dir,
  'login',
  `wrk.method = "POST"\nwrk.headers["Content-Type"] = "application/json"\nwrk.body = '{"username":"bench","password":"${PASSWORD}"}'\n`
)

// The baseline: the same two reads the auth path makes, through Bun.SQL, no framework.
const sql = new SQL(url, { max: 10 })
const [session] = await sql`SELECT id FROM sessions WHERE user_id = ${user.id} LIMIT 1`
const baseline = Bun.serve({
  port: 0,
  hostname: '127.0.0.1',
  async fetch(req) {
    const id = Number(new URL(req.url).pathname.split('/').pop())
    const [[u], [s]] = await Promise.all([
      sql`SELECT id, username, email, age, role, is_active, created_at FROM users WHERE id = ${id}`,
      sql`SELECT revoked_at, expires_at, user_id FROM sessions WHERE id = ${session.id}`
    ])
    return Response.json({ ...u, live: s !== undefined })
  }
})

async function measure(name: string, targets: { url: string; pid: number }[], path: string, script: string) {
  const before = targets.map((t) => cpuOf(t.pid))
  const results: WrkResult[] = await Promise.all(
    targets.map((t) => wrk({ url: `${t.url}${path}`, script, seconds, connections: Math.max(1, Math.floor(connections / targets.length)), threads: 1 }))
  )
  const cpu = targets.reduce((sum, t, i) => sum + cpuOf(t.pid) - before[i]!, 0)
  const requests = results.reduce((s, r) => s + r.requests, 0)
  const rps = results.reduce((s, r) => s + r.rps, 0)
  const errors = results.reduce((s, r) => s + r.errors, 0)
  log(`${name.padEnd(40)} ${rps.toFixed(0).padStart(7)} req/s  ${((cpu / requests) * 1e6).toFixed(0).padStart(6)} µs CPU/request  errors ${errors}`)
}

const one: Server[] = [a]
log(`PostgreSQL scale-out, ${seconds} s per row, ${connections} connections in total`)
await measure('GET /users/{id}: raw Bun.SQL baseline', [{ url: `http://127.0.0.1:${baseline.port}`, pid: process.pid }], `/users/${user.id}`, getScript)
await measure('GET /users/{id}: 1 instance', one.map((s) => ({ url: s.url, pid: s.proc.pid })), `/users/${user.id}`, getScript)
const b = await startServer(SOURCE, { env })
const two: Server[] = [a, b]
await measure('GET /users/{id}: 2 instances', two.map((s) => ({ url: s.url, pid: s.proc.pid })), `/users/${user.id}`, getScript)
await measure('POST /auth/login: 1 instance', one.map((s) => ({ url: s.url, pid: s.proc.pid })), '/auth/login', loginScript)
await measure('POST /auth/login: 2 instances', two.map((s) => ({ url: s.url, pid: s.proc.pid })), '/auth/login', loginScript)

baseline.stop(true)
await sql.close()
await killServers()
process.exit(0)
