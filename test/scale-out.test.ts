// Several `roster serve` processes on one PostgreSQL database, with a real SMTP
// server: every promise holds across instances (mail delivered once, logout,
// the refresh grace window, the login throttle, the reset cap, start-up).
// Runs in the default (SQLite) pass: it brings its own PostgreSQL database.
import { afterEach, describe, expect, test } from 'bun:test'
import { SQL } from 'bun'
import { BACKEND, PASSWORD, SECRET, tempDir } from './helpers'
import { startSmtp, until, type TestSmtp } from './mail-helpers'
import { emptyDatabase, freshDatabase } from './pg'
import { killServers, SOURCE, startServer, type Server } from './server'

// Each test starts its own instances; none outlives it.
afterEach(killServers)

interface Call {
  status: number
  json: any
}

async function call(server: Server, method: string, path: string, body?: unknown, headers: Record<string, string> = {}): Promise<Call> {
  const res = await fetch(`${server.url}${path}`, {
    method,
    headers: { ...(body === undefined ? {} : { 'content-type': 'application/json' }), ...headers },
    body: body === undefined ? undefined : JSON.stringify(body)
  })
  const text = await res.text()
  return { status: res.status, json: text ? JSON.parse(text) : undefined }
}

const bearer = (token: string) => ({ authorization: `Bearer ${token}` })
const user = (name: string) => ({ username: name, email: `${name}@example.com`, password: PASSWORD })

async function instances(n: number, extra: Record<string, string> = {}, url?: string) {
  const databaseUrl = url ?? (await freshDatabase())
  const smtp = await startSmtp()
  // One uploads volume shared by every instance, as behind a load balancer.
  const dataDir = tempDir()
  const env = {
    DATABASE_URL: databaseUrl,
    DATA_DIR: dataDir,
    SECRET_KEY: SECRET,
    SMTP_URL: smtp.url,
    RATE_LIMIT_PER_MINUTE: '0',
    TRUST_PROXY: 'true',
    LOG_LEVEL: 'info',
    ...extra
  }
  const servers = await Promise.all(Array.from({ length: n }, () => startServer(SOURCE, { env })))
  const db = new SQL(databaseUrl, { max: 1 })
  return { servers, smtp, db, env, close: () => Promise.all([smtp.close(), db.close()]) }
}

async function loginOn(server: Server, name: string) {
  const r = await call(server, 'POST', '/auth/login', { username: name, password: PASSWORD })
  expect(r.status).toBe(200)
  return r.json as { access_token: string; refresh_token: string }
}

/** Every mail has arrived and, a moment later, no extra one has. */
async function settled(smtp: TestSmtp, n: number) {
  await smtp.waitFor(n, 20_000)
  await Bun.sleep(1_500)
}

describe.skipIf(BACKEND === 'pg')('two instances on one PostgreSQL database', () => {
  test('N signups spread over both give N mails, each once, no Message-ID twice', async () => {
    const { servers, smtp, close } = await instances(2)
    try {
      const n = 12
      const results = await Promise.all(Array.from({ length: n }, (_, i) => call(servers[i % 2]!, 'POST', '/users', user(`member${i}`))))
      expect(results.map((r) => r.status)).toEqual(Array(n).fill(201))
      await settled(smtp, n)
      expect(smtp.messages).toHaveLength(n)
      expect(new Set(smtp.messages.map((m) => m.messageId)).size).toBe(n)
      expect(smtp.messages.map((m) => m.to[0]).sort()).toEqual(Array.from({ length: n }, (_, i) => `member${i}@example.com`).sort())
    } finally {
      await close()
    }
  })

  test('logout on A is 401 on B, for the access and the refresh token', async () => {
    const { servers, close } = await instances(2)
    const [a, b] = servers as [Server, Server]
    try {
      expect((await call(a, 'POST', '/users', user('alice'))).status).toBe(201)
      const s = await loginOn(a, 'alice')
      expect((await call(b, 'GET', '/users/me', undefined, bearer(s.access_token))).status).toBe(200)
      expect((await call(a, 'POST', '/auth/logout', { refresh_token: s.refresh_token })).status).toBe(204)
      expect((await call(b, 'GET', '/users/me', undefined, bearer(s.access_token))).status).toBe(401)
      expect((await call(b, 'POST', '/auth/refresh', { refresh_token: s.refresh_token })).status).toBe(401)
    } finally {
      await close()
    }
  })

  test("a second tab refreshing on B within the grace window gets A's successor", async () => {
    const { servers, close } = await instances(2)
    const [a, b] = servers as [Server, Server]
    try {
      expect((await call(a, 'POST', '/users', user('alice'))).status).toBe(201)
      const s = await loginOn(a, 'alice')
      const first = await call(a, 'POST', '/auth/refresh', { refresh_token: s.refresh_token })
      expect(first.status).toBe(200)
      const second = await call(b, 'POST', '/auth/refresh', { refresh_token: s.refresh_token })
      expect(second.status).toBe(200)
      expect(second.json.refresh_token).toBe(first.json.refresh_token)
      // And the successor goes on working, on either instance.
      expect((await call(b, 'POST', '/auth/refresh', { refresh_token: first.json.refresh_token })).status).toBe(200)
    } finally {
      await close()
    }
  })

  test('5 wrong passwords split over A and B: the next attempt is 429 on both', async () => {
    const { servers, close } = await instances(2)
    const [a, b] = servers as [Server, Server]
    try {
      expect((await call(a, 'POST', '/users', user('alice'))).status).toBe(201)
      const from = { 'x-forwarded-for': '203.0.113.9' }
      for (let i = 0; i < 5; i++) {
        const r = await call(servers[i % 2]!, 'POST', '/auth/login', { username: 'alice', password: 'Wrong1234' }, from)
        expect(r.status).toBe(401)
      }
      expect((await call(b, 'POST', '/auth/login', { username: 'alice', password: PASSWORD }, from)).status).toBe(429)
      expect((await call(a, 'POST', '/auth/login', { username: 'alice', password: PASSWORD }, from)).status).toBe(429)
    } finally {
      await close()
    }
  })

  test('the strict /auth/login bucket is shared: 10 per minute across both, not 10 each', async () => {
    const { servers, close } = await instances(2, { RATE_LIMIT_PER_MINUTE: '100' })
    try {
      const from = (i: number) => ({ 'x-forwarded-for': '198.51.100.4', 'x-probe': String(i) })
      const statuses: number[] = []
      for (let i = 0; i < 16; i++) {
        statuses.push((await call(servers[i % 2]!, 'POST', '/auth/login', { username: `nobody${i}`, password: 'Wrong1234' }, from(i))).status)
      }
      expect(statuses.filter((s) => s === 401)).toHaveLength(10)
      expect(statuses.slice(10)).toEqual(Array(6).fill(429))
    } finally {
      await close()
    }
  })

  test('10 concurrent reset requests over both instances issue at most the cap', async () => {
    const { servers, db, close } = await instances(2)
    try {
      expect((await call(servers[0]!, 'POST', '/users', user('alice'))).status).toBe(201)
      const answers = await Promise.all(Array.from({ length: 10 }, (_, i) => call(servers[i % 2]!, 'POST', '/auth/password-reset', { email: 'alice@example.com' })))
      expect(answers.map((r) => r.status)).toEqual(Array(10).fill(202))
      // The work happens right after the 202: wait until both instances are done.
      let last = -1
      await until(async () => {
        const [row] = await db`SELECT count(*)::int AS n FROM password_reset_tokens`
        const done = row.n === last
        last = row.n
        return done && row.n > 0
      }, 15_000, 500)
      const [tokens] = await db`SELECT count(*)::int AS n FROM password_reset_tokens`
      const [mails] = await db`SELECT count(*)::int AS n FROM email_outbox WHERE kind = 'password_reset'`
      expect(tokens.n).toBe(3)
      expect(mails.n).toBe(3)
    } finally {
      await close()
    }
  })

  test('an upload on A downloads on B, and a third instance starting up keeps it', async () => {
    const { servers, close, env } = await instances(2)
    const [a, b] = servers as [Server, Server]
    try {
      expect((await call(a, 'POST', '/users', user('alice'))).status).toBe(201)
      const s = await loginOn(a, 'alice')
      const form = new FormData()
      form.append('file', new Blob(['shared bytes'], { type: 'text/plain' }), 'note.txt')
      const up = await fetch(`${a.url}/upload`, { method: 'POST', headers: bearer(s.access_token), body: form })
      expect(up.status).toBe(201)
      const { id } = (await up.json()) as { id: number }
      await startServer(SOURCE, { env })
      const down = await fetch(`${b.url}/files/${id}`, { headers: bearer(s.access_token) })
      expect(down.status).toBe(200)
      expect(await down.text()).toBe('shared bytes')
    } finally {
      await close()
    }
  })

  test('4 instances started at once on an empty database all come up, with one bootstrap admin', async () => {
    const url = await emptyDatabase()
    const admin = { ADMIN_USERNAME: 'root', ADMIN_EMAIL: 'root@example.com', ADMIN_PASSWORD: 'Admin1234' }
    const { servers, db, close } = await instances(4, admin, url)
    try {
      for (const s of servers) expect((await call(s, 'GET', '/ready')).status).toBe(200)
      const [row] = await db`SELECT count(*)::int AS n FROM users WHERE role = 'admin'`
      expect(row.n).toBe(1)
      for (const s of servers) expect(s.lines.join('\n')).not.toContain('"level":"error"')
    } finally {
      await close()
    }
  })
})
