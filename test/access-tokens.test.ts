// Personal access tokens over HTTP: create, list, revoke; the scope of every
// route class refused and granted; never accepted on /auth/*; the admin scope
// only while the owner is an admin; last_used_at to the minute; revocation on
// every credential event; no secret in any list or log line.
import { describe, expect, test } from 'bun:test'
import { hashToken } from '../src/lib/token'
import { SCOPES, type Scope } from '../src/modules/access-tokens/model'
import { admin, expectNoSecrets, makeApp, PASSWORD, readRes, req, settledLogs, signup, userBody, type Res, type TestApp } from './helpers'

const INSUFFICIENT = { detail: 'Insufficient scope' }
const UNAUTH = { detail: 'Could not validate credentials' }
const T0 = Date.UTC(2031, 0, 1, 12, 0, 5)

async function count(t: TestApp, query: string, ...params: unknown[]): Promise<number> {
  const [row] = await t.sql<{ n: number | string }>(query, ...params)
  return Number(row!.n)
}

interface W {
  t: TestApp & { clock: { t: number } }
  root: { id: number; token: string }
  alice: { id: number; token: string }
  fileId: number
}

async function loginToken(t: TestApp, username: string, password = PASSWORD) {
  const r = await req(t, 'POST', '/auth/login', { body: { username, password } })
  expect(r.status).toBe(200)
  return r.json.access_token as string
}

async function upload(t: TestApp, token: string): Promise<Res> {
  const fd = new FormData()
  fd.append('file', new Blob(['hello']), 'a.txt')
  return readRes(await t.app.handle(new Request('http://localhost/upload', { method: 'POST', body: fd, headers: { authorization: `Bearer ${token}` } })))
}

async function w(): Promise<W> {
  const clock = { t: T0 }
  const t = Object.assign(await makeApp({}, { now: () => clock.t }), { clock })
  const root = await admin(t)
  const a = await signup(t, 'alice')
  const alice = { id: a.id, token: await loginToken(t, 'alice') }
  const file = await upload(t, alice.token)
  expect(file.status).toBe(201)
  return { t, root, alice, fileId: file.json.id }
}

async function pat(t: TestApp, sessionToken: string, scopes: readonly Scope[], extra: Record<string, unknown> = {}) {
  const r = await req(t, 'POST', '/auth/tokens', { token: sessionToken, body: { name: 'script', scopes, ...extra } })
  expect(r.status).toBe(201)
  return r.json as { id: number; token: string; scopes: string[]; last_used_at: string | null; expires_at: string | null }
}

interface Route {
  name: string
  scope: Scope
  /** Whose token: the routes for everyone use a plain user's. */
  owner: 'alice' | 'root'
  call: (w: W, token: string) => Promise<Res>
  ok: number
}

const ROUTES: Route[] = [
  { name: 'GET /users', scope: 'users:read', owner: 'alice', call: (w, k) => req(w.t, 'GET', '/users', { token: k }), ok: 200 },
  { name: 'GET /users/me', scope: 'users:read', owner: 'alice', call: (w, k) => req(w.t, 'GET', '/users/me', { token: k }), ok: 200 },
  { name: 'GET /users/{id}', scope: 'users:read', owner: 'alice', call: (w, k) => req(w.t, 'GET', `/users/${w.root.id}`, { token: k }), ok: 200 },
  { name: 'GET /api/v1/users', scope: 'users:read', owner: 'alice', call: (w, k) => req(w.t, 'GET', '/api/v1/users', { token: k }), ok: 200 },
  { name: 'GET /api/v2/users', scope: 'users:read', owner: 'alice', call: (w, k) => req(w.t, 'GET', '/api/v2/users', { token: k }), ok: 200 },
  { name: 'POST /users', scope: 'users:write', owner: 'alice', call: (w, k) => req(w.t, 'POST', '/users', { token: k, body: userBody('carol') }), ok: 201 },
  { name: 'PATCH /users/{id}', scope: 'users:write', owner: 'alice', call: (w, k) => req(w.t, 'PATCH', `/users/${w.alice.id}`, { token: k, body: { age: 5 } }), ok: 200 },
  { name: 'PUT /users/{id}', scope: 'users:write', owner: 'alice', call: (w, k) => req(w.t, 'PUT', `/users/${w.alice.id}`, { token: k, body: { username: 'alice', email: 'alice@example.com', password: PASSWORD } }), ok: 200 },
  { name: 'DELETE /users/{id}', scope: 'users:write', owner: 'alice', call: (w, k) => req(w.t, 'DELETE', `/users/${w.alice.id}`, { token: k }), ok: 204 },
  { name: 'PUT /users/me/password', scope: 'users:write', owner: 'alice', call: (w, k) => req(w.t, 'PUT', '/users/me/password', { token: k, body: { current_password: PASSWORD, new_password: 'Other9Pass' } }), ok: 204 },
  { name: 'GET /files', scope: 'files:read', owner: 'alice', call: (w, k) => req(w.t, 'GET', '/files', { token: k }), ok: 200 },
  { name: 'GET /files/{id}', scope: 'files:read', owner: 'alice', call: (w, k) => req(w.t, 'GET', `/files/${w.fileId}`, { token: k }), ok: 200 },
  { name: 'POST /upload', scope: 'files:write', owner: 'alice', call: (w, k) => upload(w.t, k), ok: 201 },
  { name: 'DELETE /files/{id}', scope: 'files:write', owner: 'alice', call: (w, k) => req(w.t, 'DELETE', `/files/${w.fileId}`, { token: k }), ok: 204 },
  { name: 'GET /admin/emails', scope: 'admin', owner: 'root', call: (w, k) => req(w.t, 'GET', '/admin/emails', { token: k }), ok: 200 },
  { name: 'POST /admin/emails/{id}/retry', scope: 'admin', owner: 'root', call: (w, k) => req(w.t, 'POST', '/admin/emails/999999/retry', { token: k }), ok: 404 },
  { name: 'DELETE /users/{id}/mfa', scope: 'admin', owner: 'root', call: (w, k) => req(w.t, 'DELETE', `/users/${w.alice.id}/mfa`, { token: k }), ok: 204 },
  { name: 'DELETE /users/{id}/sessions', scope: 'admin', owner: 'root', call: (w, k) => req(w.t, 'DELETE', `/users/${w.alice.id}/sessions`, { token: k }), ok: 204 },
  { name: 'GET /metrics', scope: 'admin', owner: 'root', call: (w, k) => req(w.t, 'GET', '/metrics', { token: k }), ok: 200 }
]

describe('scopes are enforced on every route', () => {
  for (const route of ROUTES) {
    test(`${route.name} needs ${route.scope}`, async () => {
      const world = await w()
      const owner = world[route.owner]
      // Every other scope the owner may hold, together: still refused.
      const others = SCOPES.filter((s) => s !== route.scope && (route.owner === 'root' || s !== 'admin'))
      const without = await pat(world.t, owner.token, others)
      const refused = await route.call(world, without.token)
      expect(refused.status).toBe(403)
      expect(refused.json).toEqual(INSUFFICIENT)
      // The one scope needed: the route answers as it does for a session.
      const only = await pat(world.t, owner.token, [route.scope])
      const granted = await route.call(world, only.token)
      expect(granted.status).toBe(route.ok)
    })
  }

  test('the OpenAPI document names the scope of every route outside /auth/*, as enforced', async () => {
    const t = await makeApp()
    const doc = (await req(t, 'GET', '/openapi.json')).json
    const declared = new Map<string, string>()
    for (const [path, ops] of Object.entries<Record<string, { security?: object[]; 'x-required-scope'?: string }>>(doc.paths)) {
      for (const [method, op] of Object.entries(ops)) {
        const scope = op['x-required-scope']
        // Public (`[]`) and optional (`[{}, ...]`, signup) operations name none.
        const required = (op.security ?? []).length > 0 && (op.security ?? []).every((s) => Object.keys(s).length > 0)
        if (path.startsWith('/auth/') || !required) expect([path, scope]).toEqual([path, undefined])
        else expect([path, SCOPES]).toEqual([path, expect.arrayContaining([scope])])
        if (scope) declared.set(`${method.toUpperCase()} ${path.replace(/\{(\w+)\}/g, '{id}').replace('{user_id}', '{id}')}`, scope)
      }
    }
    for (const r of ROUTES) {
      if (r.name === 'POST /users') continue
      expect([r.name, declared.get(r.name.replace(/\{id\}/g, '{id}'))]).toEqual([r.name, r.scope])
    }
  })

  test("docs/mfa-and-tokens.md's scope table lists exactly the routes of each scope", async () => {
    const t = await makeApp()
    const doc = (await req(t, 'GET', '/openapi.json')).json
    const fromDoc = new Map<string, string>()
    for (const [path, ops] of Object.entries<Record<string, { 'x-required-scope'?: string }>>(doc.paths)) {
      for (const [method, op] of Object.entries(ops)) {
        if (op['x-required-scope']) fromDoc.set(`${method.toUpperCase()} ${path.replace(/\{\w+\}/g, '{id}')}`, op['x-required-scope'])
      }
    }
    const page = await Bun.file(new URL('../docs/mfa-and-tokens.md', import.meta.url)).text()
    const fromTable = new Map<string, string>()
    for (const m of page.matchAll(/^\| `([a-z:]+)` \| (.+) \|$/gm)) {
      for (const route of m[2]!.matchAll(/`([A-Z]+ [^`]+)`/g)) fromTable.set(route[1]!, m[1]!)
    }
    expect(Object.fromEntries([...fromTable].sort())).toEqual(Object.fromEntries([...fromDoc].sort()))
  })

  test('the admin scope alone grants nothing but admin routes', async () => {
    const { t, root } = await w()
    const k = (await pat(t, root.token, ['admin'])).token
    expect((await req(t, 'GET', '/users/me', { token: k })).json).toEqual(INSUFFICIENT)
    expect((await req(t, 'GET', '/files', { token: k })).json).toEqual(INSUFFICIENT)
    expect((await req(t, 'GET', '/admin/emails', { token: k })).status).toBe(200)
  })

  test('token and session routes (/auth/*) never accept a personal access token: 401', async () => {
    const { t, root } = await w()
    const k = (await pat(t, root.token, SCOPES)).token
    const calls: [string, string, unknown?][] = [
      ['GET', '/auth/tokens'],
      ['POST', '/auth/tokens', { name: 'x', scopes: ['users:read'] }],
      ['DELETE', '/auth/tokens/1'],
      ['GET', '/auth/sessions'],
      ['DELETE', '/auth/sessions'],
      ['DELETE', '/auth/sessions/abc'],
      ['POST', '/auth/mfa/totp/setup', { password: PASSWORD }],
      ['POST', '/auth/mfa/totp/enable', { code: '123456' }],
      ['POST', '/auth/mfa/totp/disable', { password: PASSWORD, code: '123456' }]
    ]
    for (const [method, path, body] of calls) {
      const r = await req(t, method, path, { token: k, body })
      expect([path, r.status]).toEqual([path, 401])
      expect(r.json).toEqual(UNAUTH)
      expect(r.headers.get('www-authenticate')).toBe('Bearer')
    }
  })

  test('unknown, malformed or revoked tokens: 401', async () => {
    const { t, alice } = await w()
    for (const k of ['rst_' + 'A'.repeat(43), 'rst_', 'rst_short', 'rst_' + 'A'.repeat(500)]) {
      const r = await req(t, 'GET', '/users/me', { token: k })
      expect(r.status).toBe(401)
      expect(r.json).toEqual(UNAUTH)
    }
    const p = await pat(t, alice.token, ['users:read'])
    expect((await req(t, 'DELETE', `/auth/tokens/${p.id}`, { token: alice.token })).status).toBe(204)
    expect((await req(t, 'GET', '/users/me', { token: p.token })).status).toBe(401)
  })
})

describe('the admin scope', () => {
  test('only admins may create it: 403 for anyone else, nothing stored', async () => {
    const { t, alice } = await w()
    const r = await req(t, 'POST', '/auth/tokens', { token: alice.token, body: { name: 'x', scopes: ['users:read', 'admin'] } })
    expect(r.status).toBe(403)
    expect(await count(t, 'SELECT count(*) AS n FROM access_tokens')).toBe(0)
  })

  test("an admin's token without it acts as a plain user", async () => {
    const { t, root, alice } = await w()
    const k = (await pat(t, root.token, ['users:read', 'users:write', 'files:read'])).token
    expect((await req(t, 'PATCH', `/users/${alice.id}`, { token: k, body: { age: 3 } })).status).toBe(403)
    expect((await req(t, 'GET', `/files?owner_id=${alice.id}`, { token: k })).status).toBe(403)
    // Signup through it creates a plain user whatever the body says.
    const made = await req(t, 'POST', '/users', { token: k, body: userBody('carol', { role: 'admin' }) })
    expect(made.status).toBe(201)
    expect(made.json.role).toBe('user')
    const full = (await pat(t, root.token, ['users:write', 'admin'])).token
    expect((await req(t, 'PATCH', `/users/${alice.id}`, { token: full, body: { age: 3 } })).status).toBe(200)
  })

  test("a demoted admin's admin-scoped token stops giving admin", async () => {
    const { t, root } = await w()
    const second = await t.services.users.create({ ...userBody('boss'), role: 'admin' }, { id: 0, role: 'admin' })
    const bossSession = await loginToken(t, 'boss')
    const k = (await pat(t, bossSession, ['admin', 'users:read', 'files:read'])).token
    expect((await req(t, 'GET', '/admin/emails', { token: k })).status).toBe(200)
    expect((await req(t, 'PATCH', `/users/${second.id}`, { token: root.token, body: { role: 'user' } })).status).toBe(200)
    const after = await req(t, 'GET', '/admin/emails', { token: k })
    expect(after.status).toBe(403)
    expect((await req(t, 'GET', '/files?owner_id=1', { token: k })).status).toBe(403)
    // Its other scopes still work.
    expect((await req(t, 'GET', '/users/me', { token: k })).status).toBe(200)
  })
})

describe('POST /auth/tokens', () => {
  test('unauthenticated: 401', async () => {
    const t = await makeApp()
    expect((await req(t, 'POST', '/auth/tokens', { body: { name: 'x', scopes: ['users:read'] } })).status).toBe(401)
  })

  const invalid: [string, unknown, string][] = [
    ['no name', { scopes: ['users:read'] }, 'body.name'],
    ['empty name', { name: '', scopes: ['users:read'] }, 'body.name'],
    ['long name', { name: 'x'.repeat(101), scopes: ['users:read'] }, 'body.name'],
    ['no scopes', { name: 'x' }, 'body.scopes'],
    ['empty scopes', { name: 'x', scopes: [] }, 'body.scopes'],
    ['unknown scope', { name: 'x', scopes: ['users:read', 'root'] }, 'body.scopes.1'],
    ['repeated scope', { name: 'x', scopes: ['users:read', 'users:read'] }, 'body.scopes'],
    ['expiry as a string', { name: 'x', scopes: ['users:read'], expires_in_days: '30' }, 'body.expires_in_days'],
    ['expiry 0', { name: 'x', scopes: ['users:read'], expires_in_days: 0 }, 'body.expires_in_days'],
    ['expiry too far', { name: 'x', scopes: ['users:read'], expires_in_days: 3651 }, 'body.expires_in_days']
  ]
  test('invalid input: 422 naming the field, nothing stored', async () => {
    const { t, alice } = await w()
    for (const [name, body, field] of invalid) {
      const r = await req(t, 'POST', '/auth/tokens', { token: alice.token, body })
      expect([name, r.status]).toEqual([name, 422])
      expect([name, r.json.detail.map((d: { field: string }) => d.field)]).toEqual([name, [field]])
    }
    expect(await count(t, 'SELECT count(*) AS n FROM access_tokens')).toBe(0)
  })

  test('201: rst_ and 256 random bits, shown once, stored only as its hash', async () => {
    const { t, alice } = await w()
    const r = await req(t, 'POST', '/auth/tokens', { token: alice.token, body: { name: 'ci deploy', scopes: ['files:read', 'users:read'], expires_in_days: 30 } })
    expect(r.status).toBe(201)
    expect(r.headers.get('cache-control')).toBe('no-store')
    expect(Object.keys(r.json).sort()).toEqual(['created_at', 'expires_at', 'id', 'last_used_at', 'name', 'scopes', 'token'])
    expect(r.json.token).toMatch(/^rst_[A-Za-z0-9_-]{43}$/)
    expect(r.json.scopes).toEqual(['users:read', 'files:read'])
    expect(r.json.last_used_at).toBeNull()
    expect(new Date(r.json.expires_at).getTime() - new Date(r.json.created_at).getTime()).toBe(30 * 86_400_000)
    const rows = await t.sql<{ token_hash: string }>('SELECT * FROM access_tokens')
    expect(rows).toHaveLength(1)
    expect(rows[0]!.token_hash).toBe(hashToken(r.json.token))
    expect(JSON.stringify(rows)).not.toContain(r.json.token.slice(4))
    const list = await req(t, 'GET', '/auth/tokens', { token: alice.token })
    expect(list.status).toBe(200)
    expect(list.json).toHaveLength(1)
    expect(Object.keys(list.json[0]).sort()).toEqual(['created_at', 'expires_at', 'id', 'last_used_at', 'name', 'scopes'])
    expect(list.text).not.toContain(r.json.token.slice(4))
    expect(list.text).not.toContain(rows[0]!.token_hash)
  })

  test('at most 50 tokens per user: 400', async () => {
    const { t, alice } = await w()
    for (let i = 0; i < 50; i++) await pat(t, alice.token, ['users:read'])
    const r = await req(t, 'POST', '/auth/tokens', { token: alice.token, body: { name: 'x', scopes: ['users:read'] } })
    expect(r.status).toBe(400)
  })
})

describe('GET /auth/tokens and DELETE /auth/tokens/{id}', () => {
  test('unauthenticated: 401', async () => {
    const t = await makeApp()
    expect((await req(t, 'GET', '/auth/tokens')).status).toBe(401)
    expect((await req(t, 'DELETE', '/auth/tokens/1')).status).toBe(401)
  })

  test("each user lists only their own; another user's token is 404; a bad id 422", async () => {
    const { t, root, alice } = await w()
    const mine = await pat(t, alice.token, ['users:read'])
    await pat(t, root.token, ['admin'])
    const list = await req(t, 'GET', '/auth/tokens', { token: alice.token })
    expect(list.json.map((x: { id: number }) => x.id)).toEqual([mine.id])
    const other = await req(t, 'DELETE', `/auth/tokens/${mine.id}`, { token: root.token })
    expect(other.status).toBe(404)
    expect(other.json).toEqual({ detail: 'Token not found' })
    expect((await req(t, 'DELETE', '/auth/tokens/abc', { token: alice.token })).status).toBe(422)
    expect((await req(t, 'GET', '/users/me', { token: mine.token })).status).toBe(200)
    expect((await req(t, 'DELETE', `/auth/tokens/${mine.id}`, { token: alice.token })).status).toBe(204)
    expect((await req(t, 'DELETE', `/auth/tokens/${mine.id}`, { token: alice.token })).status).toBe(404)
    expect((await req(t, 'GET', '/auth/tokens', { token: alice.token })).json).toEqual([])
  })
})

describe('use', () => {
  test('last_used_at is kept to the minute, written once per minute', async () => {
    const { t, alice } = await w()
    const p = await pat(t, alice.token, ['users:read'])
    const used = async () => {
      await t.services.accessTokens.settled()
      return (await req(t, 'GET', '/auth/tokens', { token: alice.token })).json[0].last_used_at
    }
    // Every write of the service goes through a transaction: count them.
    let writes = 0
    const transaction = t.data.transaction.bind(t.data)
    t.data.transaction = (fn) => {
      writes++
      return transaction(fn)
    }
    expect(await used()).toBeNull()
    expect((await req(t, 'GET', '/users/me', { token: p.token })).status).toBe(200)
    expect(await used()).toBe(new Date(T0 - (T0 % 60_000)).toISOString())
    expect(writes).toBe(1)
    // More requests in the same minute write nothing.
    for (let i = 0; i < 5; i++) expect((await req(t, 'GET', '/users/me', { token: p.token })).status).toBe(200)
    await t.services.accessTokens.settled()
    expect(writes).toBe(1)
    t.clock.t += 60_000
    await req(t, 'GET', '/users/me', { token: p.token })
    expect(await used()).toBe(new Date(t.clock.t - (t.clock.t % 60_000)).toISOString())
    expect(writes).toBe(2)
  })

  test('an expired token: 401', async () => {
    const { t, alice } = await w()
    const p = await pat(t, alice.token, ['users:read'], { expires_in_days: 1 })
    t.clock.t += 86_400_000 - 1
    expect((await req(t, 'GET', '/users/me', { token: p.token })).status).toBe(200)
    t.clock.t += 1
    expect((await req(t, 'GET', '/users/me', { token: p.token })).status).toBe(401)
  })

  test('a token of a deactivated user: 401', async () => {
    const { t, root, alice } = await w()
    const p = await pat(t, alice.token, ['users:read'])
    await req(t, 'PATCH', `/users/${alice.id}`, { token: root.token, body: { is_active: false } })
    expect((await req(t, 'GET', '/users/me', { token: p.token })).status).toBe(401)
  })

  test('no token secret in any response list or log line', async () => {
    const { t, root, alice } = await w()
    const p = await pat(t, alice.token, ['users:read'])
    const a = await pat(t, root.token, ['admin', 'users:read'])
    await req(t, 'GET', '/users/me', { token: p.token })
    await req(t, 'GET', '/admin/emails', { token: a.token })
    await req(t, 'GET', '/auth/tokens', { token: p.token })
    const bodies = [
      (await req(t, 'GET', '/auth/tokens', { token: alice.token })).text,
      (await req(t, 'GET', '/users', { token: a.token })).text,
      (await req(t, 'GET', '/admin/emails', { token: a.token })).text
    ].join('\n')
    const logs = (await settledLogs(t)).join('\n')
    for (const k of [p.token, a.token]) {
      expectNoSecrets(bodies, [k.slice(4), hashToken(k)])
      expectNoSecrets(logs, [k.slice(4), hashToken(k)])
    }
  })
})

describe('credential events revoke every personal access token', () => {
  async function withTokens() {
    const world = await w()
    const tokens = [await pat(world.t, world.alice.token, ['users:read']), await pat(world.t, world.alice.token, ['files:read'])]
    const dead = async () => {
      for (const k of tokens) expect((await req(world.t, 'GET', k.scopes.includes('users:read') ? '/users/me' : '/files', { token: k.token })).status).toBe(401)
      expect(await count(world.t, 'SELECT count(*) AS n FROM access_tokens WHERE user_id = ?', world.alice.id)).toBe(0)
    }
    return { ...world, tokens, dead }
  }

  test('password change', async () => {
    const { t, alice, dead } = await withTokens()
    const r = await req(t, 'PUT', '/users/me/password', { token: alice.token, body: { current_password: PASSWORD, new_password: 'Other9Pass' } })
    expect(r.status).toBe(204)
    await dead()
  })

  test('password set by PATCH', async () => {
    const { t, alice, dead } = await withTokens()
    expect((await req(t, 'PATCH', `/users/${alice.id}`, { token: alice.token, body: { password: 'Other9Pass' } })).status).toBe(200)
    await dead()
  })

  test('password reset', async () => {
    const { t, dead } = await withTokens()
    await req(t, 'POST', '/auth/password-reset', { body: { email: 'alice@example.com' } })
    await t.services.resets.settled()
    const [mail] = await t.sql<{ body: string }>("SELECT text_body AS body FROM email_outbox WHERE kind = 'password_reset'")
    const token = /reset-password\?token=([A-Za-z0-9_-]+)/.exec(mail!.body)![1]
    expect((await req(t, 'POST', '/auth/password-reset/confirm', { body: { token, new_password: 'Other9Pass' } })).status).toBe(204)
    await dead()
  })

  test('deactivation', async () => {
    const { t, root, alice, dead } = await withTokens()
    expect((await req(t, 'PATCH', `/users/${alice.id}`, { token: root.token, body: { is_active: false } })).status).toBe(200)
    await dead()
    // Reactivating does not bring them back.
    expect((await req(t, 'PATCH', `/users/${alice.id}`, { token: root.token, body: { is_active: true } })).status).toBe(200)
    await dead()
  })

  test('deletion', async () => {
    const { t, root, alice, dead } = await withTokens()
    expect((await req(t, 'DELETE', `/users/${alice.id}`, { token: root.token })).status).toBe(204)
    await dead()
  })

  test('a name, age or e-mail change keeps them', async () => {
    const { t, alice, tokens } = await withTokens()
    expect((await req(t, 'PATCH', `/users/${alice.id}`, { token: alice.token, body: { age: 40 } })).status).toBe(200)
    expect((await req(t, 'GET', '/users/me', { token: tokens[0]!.token })).status).toBe(200)
  })
})
