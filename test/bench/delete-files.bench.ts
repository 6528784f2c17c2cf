// How long other requests wait while a user with thousands of files is deleted.
//
//   bun test/bench/delete-files.bench.ts [files=5000] [rounds=3]
//
// Starts the real server (`src/index.ts serve`) with a fresh DATA_DIR and a
// bootstrap admin, gives a user `files` stored files (rows and bytes written
// directly: uploading them would only slow the bench), then deletes the user
// while one client keeps exactly one GET /health in flight, back to back, until
// the last byte is gone. The same client first polls /health for the same
// number of requests on the idle server: the floor of this machine right now.
// Reports the /health latency (p50, p99, max) idle and during the removal, and
// the DELETE's own answer time. Target: /health under 50 ms throughout.
import { Database } from 'bun:sqlite'
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { SOURCE, startServer } from '../server'

const FILES = Number(process.argv[2] ?? 5000)
const ROUNDS = Number(process.argv[3] ?? 3)
const ADMIN = { username: 'root', email: 'root@example.com', password: 'Bench1234' }

const pct = (sorted: number[], p: number) => sorted[Math.min(sorted.length - 1, Math.floor((sorted.length * p) / 100))]!
const fmt = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b)
  return `n=${s.length} p50=${pct(s, 50).toFixed(2)} ms p99=${pct(s, 99).toFixed(2)} ms max=${s[s.length - 1]!.toFixed(2)} ms`
}

async function timedHealth(url: string): Promise<number> {
  const t0 = performance.now()
  const r = await fetch(`${url}/health`)
  await r.arrayBuffer()
  if (r.status !== 200) throw new Error(`/health answered ${r.status}`)
  return performance.now() - t0
}

async function round(n: number) {
  const dataDir = mkdtempSync(join(tmpdir(), 'roster-bench-delete-'))
  const server = await startServer(SOURCE, {
    env: {
      DATA_DIR: dataDir,
      SECRET_KEY: 'bench-secret-key-that-is-long-enough-0123456789',
      LOG_LEVEL: 'warn',
      RATE_LIMIT_PER_MINUTE: '0',
      ADMIN_USERNAME: ADMIN.username,
      ADMIN_EMAIL: ADMIN.email,
      ADMIN_PASSWORD: ADMIN.password
    }
  })
  try {
    const url = server.url
    const json = async (method: string, path: string, body?: unknown, token?: string) => {
      const headers: Record<string, string> = { 'content-type': 'application/json' }
      if (token) headers.authorization = `Bearer ${token}`
      const r = await fetch(url + path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) })
      return { status: r.status, body: r.status === 204 ? null : await r.json() }
    }
    const login = await fetch(`${url}/auth/login`, { method: 'POST', body: new URLSearchParams({ username: ADMIN.username, password: ADMIN.password }) })
    const { access_token: token } = (await login.json()) as { access_token: string }
    const bob = await json('POST', '/users', { username: 'bob', email: 'bob@example.com', password: ADMIN.password, full_name: 'Bob' })
    if (bob.status !== 201) throw new Error(`signup answered ${bob.status}`)
    const bobId = (bob.body as { id: number }).id

    const uploads = join(dataDir, 'uploads')
    mkdirSync(uploads, { recursive: true })
    const names = Array.from({ length: FILES }, (_, i) => `${n}`.padStart(4, '0') + i.toString(16).padStart(28, '0'))
    for (const name of names) writeFileSync(join(uploads, name), 'x')
    const db = new Database(join(dataDir, 'roster.db'))
    db.run('PRAGMA busy_timeout = 5000')
    const insert = db.prepare(
      "INSERT INTO files (owner_id, storage_name, filename, content_type, size, sha256, created_at) VALUES (?, ?, 'f.txt', 'text/plain', 1, 'x', '2026-01-01T00:00:00Z')"
    )
    db.transaction(() => {
      for (const name of names) insert.run(bobId, name)
    })()
    db.close()

    // The idle floor: as many requests as the removal is likely to see.
    for (let i = 0; i < 50; i++) await timedHealth(url) // warm-up
    const idle: number[] = []
    for (let i = 0; i < 300; i++) idle.push(await timedHealth(url))

    const t0 = performance.now()
    const deleted = await json('DELETE', `/users/${bobId}`, undefined, token)
    const deleteMs = performance.now() - t0
    if (deleted.status !== 204) throw new Error(`DELETE answered ${deleted.status}`)
    const during: number[] = []
    // Only this user's files (the folder also holds the upload staging area).
    const ours = new Set(names)
    const remaining = () => readdirSync(uploads).filter((f) => ours.has(f)).length
    let left = remaining()
    const leftAtAnswer = left
    while (left > 0) {
      during.push(await timedHealth(url))
      left = remaining()
    }
    const removalMs = performance.now() - t0
    if (names.some((name) => existsSync(join(uploads, name)))) throw new Error('files left behind')
    console.log(`round ${n}: DELETE answered in ${deleteMs.toFixed(1)} ms with ${leftAtAnswer} of ${FILES} files still on disk; all removed after ${removalMs.toFixed(0)} ms`)
    console.log(`  /health idle:           ${fmt(idle)}`)
    console.log(`  /health during removal: ${fmt(during)}`)
    return { during, idle }
  } finally {
    server.proc.kill()
    await server.exited
    rmSync(dataDir, { recursive: true, force: true })
  }
}

const all = { idle: [] as number[], during: [] as number[] }
for (let i = 1; i <= ROUNDS; i++) {
  const r = await round(i)
  all.idle.push(...r.idle)
  all.during.push(...r.during)
}
console.log(`all rounds, ${FILES} files per user:`)
console.log(`  /health idle:           ${fmt(all.idle)}`)
console.log(`  /health during removal: ${fmt(all.during)}`)
