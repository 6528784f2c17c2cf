// A revoked session, a password change, a deactivation and a revoked personal
// access token are refused on the very next request, also when the change is
// made by another process on the same database (the CLI's way in; on
// PostgreSQL, another instance). Each credential is used just before the
// change, so anything the serving process kept from that request (verified
// JWTs are remembered until they expire) is warm when the next one comes.
import { describe, expect, test } from 'bun:test'
import { join } from 'node:path'
import { DB_FILE } from '../src/db/client'
import { BACKEND, databaseUrlOf, login, makeApp, PASSWORD, req, SECRET, signup, type TestApp } from './helpers'


interface Caller {
  id: number
  jwt: string
  sessionId: string
  pat: string
  tokenId: number
}

async function caller(t: TestApp): Promise<Caller> {
  const u = await signup(t, 'alice')
  const jwt = await login(t, 'alice')
  const sessionId = JSON.parse(Buffer.from(jwt.split('.')[1]!, 'base64url').toString()).sid as string
  const created = await req(t, 'POST', '/auth/tokens', { token: jwt, body: { name: 'script', scopes: ['users:read'] } })
  expect(created.status).toBe(201)
  return { id: u.id, jwt, sessionId, pat: created.json.token, tokenId: created.json.id }
}

/** Both credentials work, several times in a row (warm), right before the change. */
async function warm(t: TestApp, c: Caller): Promise<void> {
  for (let i = 0; i < 3; i++) {
    expect((await req(t, 'GET', '/users/me', { token: c.jwt })).status).toBe(200)
    expect((await req(t, 'GET', `/users/${c.id}`, { token: c.jwt })).status).toBe(200)
    expect((await req(t, 'GET', `/users/${c.id}`, { token: c.pat })).status).toBe(200)
  }
}

/** Runs test/revoke-elsewhere.ts in its own process on the test's database. */
async function elsewhere(t: TestApp, job: Record<string, unknown>): Promise<void> {
  const url = databaseUrlOf(t.data)
  const env: Record<string, string> = { PATH: process.env.PATH ?? '/usr/bin:/bin', SECRET_KEY: SECRET, LOG_LEVEL: 'error', ...(url ? { DATABASE_URL: url } : { DATA_DIR: t.dataDir }) }
  if (!url) expect(t.data.file).toBe(join(t.dataDir, DB_FILE))
  const p = Bun.spawn([process.execPath, join(import.meta.dir, 'revoke-elsewhere.ts'), JSON.stringify(job)], { env, stdout: 'pipe', stderr: 'pipe' })
  const code = await p.exited
  if (code !== 0) throw new Error(`revoke-elsewhere failed: ${await new Response(p.stderr).text()}`)
}

const cases: { name: string; job: (c: Caller) => Record<string, unknown>; jwt: number; pat: number }[] = [
  { name: 'a revoked session', job: (c) => ({ action: 'revoke-session', userId: c.id, sessionId: c.sessionId }), jwt: 401, pat: 200 },
  { name: 'a password change', job: (c) => ({ action: 'change-password', userId: c.id, password: PASSWORD }), jwt: 401, pat: 401 },
  { name: 'a deactivation', job: (c) => ({ action: 'deactivate', userId: c.id }), jwt: 401, pat: 401 },
  { name: 'a revoked access token', job: (c) => ({ action: 'revoke-token', userId: c.id, tokenId: c.tokenId }), jwt: 200, pat: 401 }
]

describe(`changes made by another ${BACKEND === 'pg' ? 'instance' : 'process'} take effect on the very next request`, () => {
  for (const k of cases) {
    test(k.name, async () => {
      const t = await makeApp()
      const c = await caller(t)
      await warm(t, c)
      await elsewhere(t, k.job(c))
      expect((await req(t, 'GET', '/users/me', { token: c.jwt })).status).toBe(k.jwt)
      expect((await req(t, 'GET', `/users/${c.id}`, { token: c.jwt })).status).toBe(k.jwt)
      expect((await req(t, 'GET', `/users/${c.id}`, { token: c.pat })).status).toBe(k.pat)
    })
  }
})

describe('changes made through the API take effect on the very next request', () => {
  const api: { name: string; change: (t: TestApp, c: Caller) => Promise<number>; jwt: number; pat: number }[] = [
    { name: 'logout', change: async (t, c) => (await req(t, 'DELETE', `/auth/sessions/${c.sessionId}`, { token: c.jwt })).status, jwt: 401, pat: 200 },
    {
      name: 'a password change',
      change: async (t, c) => (await req(t, 'PUT', '/users/me/password', { token: c.jwt, body: { current_password: PASSWORD, new_password: 'Changed123' } })).status,
      jwt: 401,
      pat: 401
    },
    {
      name: 'a deactivation by an admin',
      change: async (t, c) => {
        await t.services.users.create({ username: 'root', email: 'root@example.com', password: PASSWORD, role: 'admin' }, { id: 0, role: 'admin' })
        const root = await login(t, 'root')
        return (await req(t, 'PATCH', `/users/${c.id}`, { token: root, body: { is_active: false } })).status
      },
      jwt: 401,
      pat: 401
    },
    { name: 'a revoked access token', change: async (t, c) => (await req(t, 'DELETE', `/auth/tokens/${c.tokenId}`, { token: c.jwt })).status, jwt: 200, pat: 401 }
  ]
  for (const k of api) {
    test(k.name, async () => {
      const t = await makeApp()
      const c = await caller(t)
      await warm(t, c)
      expect(await k.change(t, c)).toBeLessThan(300)
      expect((await req(t, 'GET', '/users/me', { token: c.jwt })).status).toBe(k.jwt)
      expect((await req(t, 'GET', `/users/${c.id}`, { token: c.pat })).status).toBe(k.pat)
    })
  }
})
