// DELETE /users/{user_id}/sessions over HTTP: an admin signs a user out
// everywhere. Who may, what ends (sessions, their refresh and access tokens)
// and what stays (personal access tokens, other users' sessions), the audit
// event, and races against logins and against a second revoke.
import { describe, expect, test } from 'bun:test'
import { admin, expectNoSecrets, makeApp, PASSWORD, req, scenarios, signup, world, type TestApp, type World } from './helpers'

// TRUST_PROXY: each login comes from its own address, so the login throttle
// never answers 429 in place of the race being tested.
const raceApp = () => makeApp({ TRUST_PROXY: 'true', PUBLIC_URL: 'https://roster.example' })
let ipSeq = 0
const nextIp = () => `198.51.${(++ipSeq >> 8) & 255}.${ipSeq & 255}`

interface Tokens {
  access_token: string
  refresh_token: string
}

async function session(t: TestApp, username: string): Promise<Tokens> {
  const r = await req(t, 'POST', '/auth/login', { body: { username, password: PASSWORD }, headers: { 'x-forwarded-for': nextIp() } })
  expect(r.status).toBe(200)
  return r.json
}

async function pat(t: TestApp, token: string, scopes: string[]): Promise<string> {
  const r = await req(t, 'POST', '/auth/tokens', { token, body: { name: 'script', scopes } })
  expect(r.status).toBe(201)
  return r.json.token
}

const revoke = (t: TestApp, userId: number | string, token?: string) => req(t, 'DELETE', `/users/${userId}/sessions`, { token })
const me = (t: TestApp, token: string) => req(t, 'GET', '/users/me', { token })
const refresh = (t: TestApp, refresh_token: string) => req(t, 'POST', '/auth/refresh', { body: { refresh_token } })

type Event = { id: number; type: string; actor_id: number | null; target_id: number | null; user_agent: string | null; details: Record<string, unknown> }

async function events(t: TestApp, rootToken: string, query: string): Promise<Event[]> {
  const r = await req(t, 'GET', `/admin/audit?limit=100&${query}`, { token: rootToken })
  expect(r.status).toBe(200)
  return r.json.events
}

const aliceSessionsAlive = (w: World) => me(w.t, w.alice.token).then((r) => r.status)

describe('DELETE /users/{user_id}/sessions', () => {
  scenarios([
    { name: 'unauthenticated: 401', method: 'DELETE', url: (w) => `/users/${w.alice.id}/sessions`, status: 401 },
    {
      name: 'a plain user, even for themself: 403, their session stands',
      method: 'DELETE',
      url: (w) => `/users/${w.alice.id}/sessions`,
      token: (w) => w.alice.token,
      status: 403,
      expect: async (json, w) => {
        expect(json).toEqual({ detail: 'Not enough permissions' })
        expect(await aliceSessionsAlive(w)).toBe(200)
      }
    },
    {
      name: 'a plain user for another user: 403',
      method: 'DELETE',
      url: (w) => `/users/${w.alice.id}/sessions`,
      token: (w) => w.bob.token,
      status: 403,
      expect: async (_json, w) => expect(await aliceSessionsAlive(w)).toBe(200)
    },
    {
      name: 'an unknown user: 404, no event',
      method: 'DELETE',
      url: () => '/users/999999/sessions',
      token: (w) => w.root.token,
      status: 404,
      expect: async (json, w) => {
        expect(json).toEqual({ detail: 'User not found' })
        expect(await events(w.t, w.root.token, 'type=session.revoked')).toEqual([])
      }
    },
    ...['abc', '0x2', '1e3', '+2', '-1', '1.0', '9999999999999999'].map((bad) => ({
      name: `a bad id (${bad}): 422, nothing revoked`,
      method: 'DELETE',
      url: () => `/users/${encodeURIComponent(bad)}/sessions`,
      token: (w: World) => w.root.token,
      status: 422,
      expect: async (json: any, w: World) => {
        expect(json.detail[0].field).toBe('path.user_id')
        expect(await aliceSessionsAlive(w)).toBe(200)
      }
    })),
    {
      name: 'an admin: 204, the user is signed out',
      method: 'DELETE',
      url: (w) => `/users/${w.alice.id}/sessions`,
      token: (w) => w.root.token,
      status: 204,
      expect: async (_json, w) => expect(await aliceSessionsAlive(w)).toBe(401)
    }
  ])

  test("every session of the user ends: access tokens on their next request, refresh tokens refused; others' stand", async () => {
    const w = await world()
    const { t, root, alice, bob } = w
    const phone = await session(t, 'alice')
    const laptop = await session(t, 'alice')
    expect((await me(t, phone.access_token)).status).toBe(200)
    const r = await revoke(t, alice.id, root.token)
    expect(r.status).toBe(204)
    expect(r.text).toBe('')
    for (const token of [alice.token, phone.access_token, laptop.access_token]) {
      const gone = await me(t, token)
      expect(gone.status).toBe(401)
      expect(gone.headers.get('www-authenticate')).toBe('Bearer')
    }
    for (const s of [phone, laptop]) expect((await refresh(t, s.refresh_token)).json).toEqual({ detail: 'Invalid refresh token' })
    expect((await req(t, 'GET', '/auth/sessions', { token: alice.token })).status).toBe(401)
    // Another user and the admin are untouched; the password still signs alice in anew.
    expect((await me(t, bob.token)).status).toBe(200)
    expect((await me(t, root.token)).status).toBe(200)
    const again = await session(t, 'alice')
    expect((await me(t, again.access_token)).status).toBe(200)
    const live = await req(t, 'GET', '/auth/sessions', { token: again.access_token })
    expect(live.json).toHaveLength(1)
  })

  test('personal access tokens are not sessions: they keep working', async () => {
    const { t, root, alice } = await world()
    const script = await pat(t, alice.token, ['users:read'])
    expect((await revoke(t, alice.id, root.token)).status).toBe(204)
    expect((await me(t, alice.token)).status).toBe(401)
    expect((await me(t, script)).status).toBe(200)
  })

  test("an admin's personal access token: with the admin scope 204, without it 403", async () => {
    const { t, root, alice } = await world()
    const without = await pat(t, root.token, ['users:read', 'users:write', 'files:read', 'files:write'])
    const refused = await revoke(t, alice.id, without)
    expect(refused.status).toBe(403)
    expect(refused.json).toEqual({ detail: 'Insufficient scope' })
    expect((await me(t, alice.token)).status).toBe(200)
    const scoped = await pat(t, root.token, ['admin'])
    expect((await revoke(t, alice.id, scoped)).status).toBe(204)
    expect((await me(t, alice.token)).status).toBe(401)
  })

  test('the audit log records who, whom, from where and how many; never a token', async () => {
    const { t, root, alice } = await world()
    const second = await session(t, 'alice')
    const r = await req(t, 'DELETE', `/users/${alice.id}/sessions`, { token: root.token, headers: { 'user-agent': 'ops-console/1.0' } })
    expect(r.status).toBe(204)
    const [e] = await events(t, root.token, `type=session.revoked&target_id=${alice.id}`)
    expect(e).toMatchObject({ type: 'session.revoked', actor_id: root.id, target_id: alice.id, user_agent: 'ops-console/1.0', details: { count: 2, by: 'admin' } })
    // Alice sees it in her own activity too.
    const fresh = await session(t, 'alice')
    const own = await req(t, 'GET', '/users/me/audit?type=session.revoked', { token: fresh.access_token })
    expect(own.json.events.map((x: Event) => x.details)).toEqual([{ count: 2, by: 'admin' }])
    const all = JSON.stringify(await events(t, root.token, ''))
    expectNoSecrets(all, [alice.token, second.access_token, second.refresh_token, fresh.refresh_token])
    // Revoking again finds nothing left but is still the admin's recorded act.
    expect((await revoke(t, alice.id, root.token)).status).toBe(204)
    const after = await events(t, root.token, `type=session.revoked&target_id=${alice.id}`)
    expect(after.map((x) => x.details.count)).toEqual([1, 2])
  })

  test("an admin may sign themself out everywhere: their own token stops too", async () => {
    const { t, root } = await world()
    expect((await revoke(t, root.id, root.token)).status).toBe(204)
    expect((await me(t, root.token)).status).toBe(401)
  })

  test('a deactivated user: 204 with nothing to revoke', async () => {
    const { t, root, alice } = await world()
    expect((await req(t, 'PATCH', `/users/${alice.id}`, { token: root.token, body: { is_active: false } })).status).toBe(200)
    expect((await revoke(t, alice.id, root.token)).status).toBe(204)
    const [e] = await events(t, root.token, `type=session.revoked&target_id=${alice.id}`)
    expect(e!.details).toEqual({ count: 0, by: 'admin' })
  })
})

describe('races', () => {
  test('logins racing a revoke: every session that committed before it is revoked, none after it is', async () => {
    const t = await raceApp()
    const root = await admin(t)
    const alice = await signup(t, 'alice')
    const before = await Promise.all(Array.from({ length: 3 }, () => session(t, 'alice')))
    const racing = Array.from({ length: 12 }, () => session(t, 'alice'))
    // Sent once the first racing login is done: the others are mid-flight, on either side of it.
    await Promise.race(racing)
    const revoked = await revoke(t, alice.id, root.token)
    expect(revoked.status).toBe(204)
    const logins = await Promise.all(racing)
    // The audit chain's ids are the commit order: each login's event is written in
    // its session's transaction, the revoke's in its own.
    const log = await events(t, root.token, `target_id=${alice.id}`)
    const cut = log.find((e) => e.type === 'session.revoked')!.id
    const orderOf = new Map(log.filter((e) => e.type === 'login.succeeded').map((e) => [e.details.session_id as string, e.id]))
    const rows = await t.sql<{ id: string; token_hash: string; revoked_at: number | null }>('SELECT id, token_hash, revoked_at FROM sessions WHERE user_id = ?', alice.id)
    expect(rows).toHaveLength(before.length + logins.length)
    let earlier = 0
    for (const row of rows) {
      const at = orderOf.get(row.id)!
      expect(at).toBeNumber()
      if (at < cut) earlier++
      expect(row.revoked_at !== null).toBe(at < cut)
    }
    // The event counts exactly the sessions that existed when it committed.
    expect(log.find((e) => e.id === cut)!.details.count).toBe(earlier)
    expect(earlier).toBeGreaterThanOrEqual(before.length)
    for (const s of before) expect((await refresh(t, s.refresh_token)).status).toBe(401)
  })

  test('revokes racing each other: each session is counted once', async () => {
    const t = await raceApp()
    const root = await admin(t)
    const alice = await signup(t, 'alice')
    const sessions = await Promise.all(Array.from({ length: 6 }, () => session(t, 'alice')))
    const answers = await Promise.all(Array.from({ length: 8 }, () => revoke(t, alice.id, root.token)))
    expect(answers.map((a) => a.status)).toEqual(Array(8).fill(204))
    const counts = (await events(t, root.token, `type=session.revoked&target_id=${alice.id}`)).map((e) => e.details.count as number)
    expect(counts).toHaveLength(8)
    expect(counts.reduce((a, b) => a + b, 0)).toBe(sessions.length)
    for (const s of sessions) expect((await me(t, s.access_token)).status).toBe(401)
  })
})
