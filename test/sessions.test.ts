// Refresh-token sessions over HTTP: rotation, reuse detection, the grace window,
// logout, listing and revoking sessions, and revoke-all on credential events.
import { describe, expect, test } from 'bun:test'
import { hashToken } from '../src/lib/token'
import { createSessionService } from '../src/modules/sessions/service'
import { admin, expectNoSecrets, makeApp, PASSWORD, req, SECRET, signup, type TestApp } from './helpers'

const UNAUTH_REFRESH = { detail: 'Invalid refresh token' }

interface Tokens {
  access_token: string
  refresh_token: string
}

async function loginFull(t: TestApp, username: string, headers: Record<string, string> = {}): Promise<Tokens> {
  const r = await req(t, 'POST', '/auth/login', { body: { username, password: PASSWORD }, headers })
  expect(r.status).toBe(200)
  return r.json
}

const refresh = (t: TestApp, token: unknown) => req(t, 'POST', '/auth/refresh', { body: { refresh_token: token } })
const me = (t: TestApp, token: string) => req(t, 'GET', '/users/me', { token })
const sessionRows = (t: TestApp, userId: number) => t.sql<any>('SELECT * FROM sessions WHERE user_id = ? ORDER BY created_at', userId)
/** Moves every rotation of the database `ms` into the past (time passing, without waiting). */
const age = (t: TestApp, ms: number) => t.sql('UPDATE sessions SET rotated_at = rotated_at - ?', ms)

async function aliceWorld() {
  const t = await makeApp()
  const alice = await signup(t, 'alice')
  const s = await loginFull(t, 'alice')
  return { t, alice, s }
}

describe('POST /auth/login opens a session', () => {
  test('the refresh token is 256 random bits, stored only as its sha256', async () => {
    const { t, alice, s } = await aliceWorld()
    expect(s.refresh_token).toMatch(/^[A-Za-z0-9_-]{43}$/)
    const rows = (await sessionRows(t, alice.id))
    expect(rows).toHaveLength(1)
    expect(rows[0].token_hash).toBe(hashToken(s.refresh_token))
    expect(JSON.stringify(rows)).not.toContain(s.refresh_token)
    expect(rows[0].expires_at - rows[0].created_at).toBe(30 * 24 * 3600 * 1000)
  })

  test('REFRESH_TOKEN_EXPIRE_DAYS sets the session lifetime', async () => {
    const t = await makeApp({ REFRESH_TOKEN_EXPIRE_DAYS: '2' })
    const a = await signup(t, 'alice')
    await loginFull(t, 'alice')
    const [row] = (await sessionRows(t, a.id))
    expect(row.expires_at - row.created_at).toBe(2 * 24 * 3600 * 1000)
  })
})

describe('POST /auth/refresh', () => {
  test('rotates: new tokens, same session, the old access token still valid until it expires', async () => {
    const { t, alice, s } = await aliceWorld()
    const r = await refresh(t, s.refresh_token)
    expect(r.status).toBe(200)
    expect(Object.keys(r.json).sort()).toEqual(['access_token', 'expires_in', 'refresh_token', 'token_type'])
    expect(r.json.token_type).toBe('bearer')
    expect(r.json.refresh_token).not.toBe(s.refresh_token)
    expect(r.headers.get('cache-control')).toBe('no-store')
    expect((await me(t, r.json.access_token)).json.id).toBe(alice.id)
    const rows = (await sessionRows(t, alice.id))
    expect(rows).toHaveLength(1)
    expect(rows[0].token_hash).toBe(hashToken(r.json.refresh_token))
    expect(rows[0].previous_token_hash).toBe(hashToken(s.refresh_token))
    // A chain of rotations keeps working.
    const r2 = await refresh(t, r.json.refresh_token)
    expect(r2.status).toBe(200)
    expect((await refresh(t, r2.json.refresh_token)).status).toBe(200)
    for (const line of t.logs) expectNoSecrets(line, [s.refresh_token, r.json.refresh_token, r2.json.refresh_token, s.access_token])
  })

  test('reuse of a spent token after the grace window revokes the whole session', async () => {
    const { t, alice, s } = await aliceWorld()
    const r1 = await refresh(t, s.refresh_token)
    age(t, 10_000)
    const reuse = await refresh(t, s.refresh_token)
    expect(reuse.status).toBe(401)
    expect(reuse.json).toEqual(UNAUTH_REFRESH)
    expect(reuse.headers.get('www-authenticate')).toBe('Bearer')
    // The legitimate successor dies with the session, and so do its access tokens.
    expect((await refresh(t, r1.json.refresh_token)).status).toBe(401)
    expect((await me(t, r1.json.access_token)).status).toBe(401)
    expect((await sessionRows(t, alice.id))[0].revoked_at).not.toBeNull()
  })

  test('within the grace window a second refresh with the same token gets the same successor', async () => {
    const { t, alice, s } = await aliceWorld()
    const [a, b] = await Promise.all([refresh(t, s.refresh_token), refresh(t, s.refresh_token)])
    expect(a.status).toBe(200)
    expect(b.status).toBe(200)
    expect(b.json.refresh_token).toBe(a.json.refresh_token)
    expect((await me(t, b.json.access_token)).status).toBe(200)
    expect((await sessionRows(t, alice.id))[0].revoked_at).toBeNull()
    // Both tabs now hold a working token.
    expect((await refresh(t, a.json.refresh_token)).status).toBe(200)
  })

  test('in the grace window another instance (or a restarted one) hands out the same successor', async () => {
    const { t, alice, s } = await aliceWorld()
    const r1 = await refresh(t, s.refresh_token)
    const other = createSessionService(t.data, { refreshTokenExpireDays: 30, secret: SECRET })
    const again = await other.rotate(s.refresh_token, { userAgent: null, ip: null })
    expect(again.refreshToken).toBe(r1.json.refresh_token)
    expect((await sessionRows(t, alice.id))[0].revoked_at).toBeNull()
    expect((await refresh(t, r1.json.refresh_token)).status).toBe(200)
  })

  test('in the grace window but under another secret the successor does not open: 401, the session survives', async () => {
    const { t, alice, s } = await aliceWorld()
    const r1 = await refresh(t, s.refresh_token)
    const rekeyed = createSessionService(t.data, { refreshTokenExpireDays: 30, secret: 'another-secret-that-is-long-enough-0123456789' })
    await expect(rekeyed.rotate(s.refresh_token, { userAgent: null, ip: null })).rejects.toThrow('Invalid refresh token')
    expect((await sessionRows(t, alice.id))[0].revoked_at).toBeNull()
    expect((await refresh(t, r1.json.refresh_token)).status).toBe(200)
  })

  test('an expired session cannot be refreshed and its access tokens stop', async () => {
    const { t, s } = await aliceWorld()
    await t.sql('UPDATE sessions SET expires_at = ?', Date.now() - 1)
    expect((await refresh(t, s.refresh_token)).status).toBe(401)
    expect((await me(t, s.access_token)).status).toBe(401)
  })

  test('the session keeps its original expiry when refreshed', async () => {
    const { t, alice, s } = await aliceWorld()
    const before = (await sessionRows(t, alice.id))[0].expires_at
    await refresh(t, s.refresh_token)
    expect((await sessionRows(t, alice.id))[0].expires_at).toBe(before)
  })

  for (const [name, body, status] of [
    ['unknown token', { refresh_token: 'x'.repeat(43) }, 401],
    ['an access token is not a refresh token', 'access', 401],
    ['overlong token', { refresh_token: 'x'.repeat(257) }, 422],
    ['missing field', {}, 422],
    ['wrong type', { refresh_token: 42 }, 422]
  ] as const) {
    test(`invalid input: ${name}`, async () => {
      const { t, s } = await aliceWorld()
      const r = await req(t, 'POST', '/auth/refresh', { body: body === 'access' ? { refresh_token: s.access_token } : body })
      expect(r.status).toBe(status)
      if (status === 401) {
        expect(r.json).toEqual(UNAUTH_REFRESH)
        expect(r.headers.get('www-authenticate')).toBe('Bearer')
      }
      expectNoSecrets(r.text, [s.refresh_token])
    })
  }

  test('a deactivated user cannot refresh', async () => {
    const t = await makeApp()
    const root = await admin(t)
    const bob = await signup(t, 'bob')
    const s = await loginFull(t, 'bob')
    expect((await req(t, 'PATCH', `/users/${bob.id}`, { token: root.token, body: { is_active: false } })).status).toBe(200)
    expect((await refresh(t, s.refresh_token)).status).toBe(401)
  })
})

describe('POST /auth/logout', () => {
  test("revokes the refresh token's session and its access tokens; other sessions stay", async () => {
    const { t, s } = await aliceWorld()
    const other = await loginFull(t, 'alice')
    const r = await req(t, 'POST', '/auth/logout', { body: { refresh_token: s.refresh_token } })
    expect(r.status).toBe(204)
    expect(r.text).toBe('')
    expect((await refresh(t, s.refresh_token)).status).toBe(401)
    expect((await me(t, s.access_token)).status).toBe(401)
    expect((await me(t, other.access_token)).status).toBe(200)
    expect((await refresh(t, other.refresh_token)).status).toBe(200)
  })

  test('a second logout with the same token is 401', async () => {
    const { t, s } = await aliceWorld()
    expect((await req(t, 'POST', '/auth/logout', { body: { refresh_token: s.refresh_token } })).status).toBe(204)
    const again = await req(t, 'POST', '/auth/logout', { body: { refresh_token: s.refresh_token } })
    expect(again.status).toBe(401)
    expect(again.headers.get('www-authenticate')).toBe('Bearer')
  })

  test('the token rotated away last also logs its session out', async () => {
    const { t, s } = await aliceWorld()
    const r1 = await refresh(t, s.refresh_token)
    expect((await req(t, 'POST', '/auth/logout', { body: { refresh_token: s.refresh_token } })).status).toBe(204)
    expect((await refresh(t, r1.json.refresh_token)).status).toBe(401)
  })

  for (const [name, body, status] of [
    ['unknown token', { refresh_token: 'nope' }, 401],
    ['missing field', {}, 422],
    ['not JSON', undefined, 422]
  ] as const) {
    test(`invalid input: ${name}`, async () => {
      const { t } = await aliceWorld()
      const r = body === undefined ? await req(t, 'POST', '/auth/logout', { raw: '{' }) : await req(t, 'POST', '/auth/logout', { body })
      expect(r.status).toBe(status)
    })
  }
})

describe('GET /auth/sessions', () => {
  test('unauthenticated', async () => {
    const { t } = await aliceWorld()
    const r = await req(t, 'GET', '/auth/sessions')
    expect(r.status).toBe(401)
    expect(r.json).toEqual({ detail: 'Could not validate credentials' })
  })

  test("lists the caller's live sessions, marks the current one, shows no token material", async () => {
    const { t, alice, s } = await aliceWorld()
    const phone = await loginFull(t, 'alice', { 'user-agent': 'PhoneApp/1.0' })
    const gone = await loginFull(t, 'alice')
    await req(t, 'POST', '/auth/logout', { body: { refresh_token: gone.refresh_token } })
    await signup(t, 'bob')
    await loginFull(t, 'bob')
    const r = await req(t, 'GET', '/auth/sessions', { token: phone.access_token })
    expect(r.status).toBe(200)
    expect(r.json).toHaveLength(2)
    for (const item of r.json) {
      expect(Object.keys(item).sort()).toEqual(['created_at', 'current', 'expires_at', 'id', 'ip', 'last_used_at', 'user_agent'])
      expect(new Date(item.expires_at).toISOString()).toBe(item.expires_at)
    }
    expect(r.json.map((x: any) => x.current)).toEqual([false, true])
    expect(r.json[1].user_agent).toBe('PhoneApp/1.0')
    for (const row of (await sessionRows(t, alice.id))) expect(r.text).not.toContain(row.token_hash)
    expectNoSecrets(r.text, [s.refresh_token, phone.refresh_token, s.access_token])
  })
})

describe('DELETE /auth/sessions/{session_id}', () => {
  async function setup() {
    const { t, alice, s } = await aliceWorld()
    const laptop = await loginFull(t, 'alice')
    await signup(t, 'bob')
    const bob = await loginFull(t, 'bob')
    const ids = (await req(t, 'GET', '/auth/sessions', { token: s.access_token })).json.map((x: any) => x.id)
    const bobId = (await req(t, 'GET', '/auth/sessions', { token: bob.access_token })).json[0].id
    return { t, alice, s, laptop, bob, laptopId: ids[1] as string, bobId: bobId as string }
  }

  test('unauthenticated', async () => {
    const w = await setup()
    expect((await req(w.t, 'DELETE', `/auth/sessions/${w.laptopId}`)).status).toBe(401)
  })

  test("another user's session is not found and stays", async () => {
    const w = await setup()
    const r = await req(w.t, 'DELETE', `/auth/sessions/${w.bobId}`, { token: w.s.access_token })
    expect(r.status).toBe(404)
    expect(r.json).toEqual({ detail: 'Session not found' })
    expect((await me(w.t, w.bob.access_token)).status).toBe(200)
  })

  test('unknown id', async () => {
    const w = await setup()
    expect((await req(w.t, 'DELETE', '/auth/sessions/nope', { token: w.s.access_token })).status).toBe(404)
  })

  test('revokes one session: its refresh and access tokens stop, the caller keeps working', async () => {
    const w = await setup()
    const r = await req(w.t, 'DELETE', `/auth/sessions/${w.laptopId}`, { token: w.s.access_token })
    expect(r.status).toBe(204)
    expect((await refresh(w.t, w.laptop.refresh_token)).status).toBe(401)
    expect((await me(w.t, w.laptop.access_token)).status).toBe(401)
    expect((await me(w.t, w.s.access_token)).status).toBe(200)
    expect((await req(w.t, 'DELETE', `/auth/sessions/${w.laptopId}`, { token: w.s.access_token })).status).toBe(404)
  })
})

describe('DELETE /auth/sessions', () => {
  test('unauthenticated', async () => {
    const { t } = await aliceWorld()
    expect((await req(t, 'DELETE', '/auth/sessions')).status).toBe(401)
  })

  test('revokes every session but the current one; other users untouched', async () => {
    const { t, s } = await aliceWorld()
    const b = await loginFull(t, 'alice')
    const c = await loginFull(t, 'alice')
    await signup(t, 'bob')
    const bob = await loginFull(t, 'bob')
    expect((await req(t, 'DELETE', '/auth/sessions', { token: c.access_token })).status).toBe(204)
    for (const x of [s, b]) {
      expect((await me(t, x.access_token)).status).toBe(401)
      expect((await refresh(t, x.refresh_token)).status).toBe(401)
    }
    expect((await me(t, c.access_token)).status).toBe(200)
    expect((await refresh(t, c.refresh_token)).status).toBe(200)
    expect((await me(t, bob.access_token)).status).toBe(200)
  })
})

describe('credential events revoke every session', () => {
  const events: [string, (t: TestApp, w: { aliceId: number; rootToken: string; aliceAccess: string }) => Promise<void>][] = [
    ['password change', async (t, w) => {
      expect((await req(t, 'PUT', '/users/me/password', { token: w.aliceAccess, body: { current_password: PASSWORD, new_password: 'Newpass123' } })).status).toBe(204)
    }],
    ['password set by PATCH', async (t, w) => {
      expect((await req(t, 'PATCH', `/users/${w.aliceId}`, { token: w.aliceAccess, body: { password: 'Newpass123' } })).status).toBe(200)
    }],
    ['password set by PUT', async (t, w) => {
      expect((await req(t, 'PUT', `/users/${w.aliceId}`, { token: w.aliceAccess, body: { username: 'alice', email: 'alice@example.com', password: 'Newpass123' } })).status).toBe(200)
    }],
    ['password reset (users.setPassword)', async (t, w) => {
      const hash = await Bun.password.hash('Newpass123')
      await t.db.transaction(async (tx) => t.services.users.setPassword(tx, w.aliceId, hash))
    }],
    ['deactivation', async (t, w) => {
      expect((await req(t, 'PATCH', `/users/${w.aliceId}`, { token: w.rootToken, body: { is_active: false } })).status).toBe(200)
    }],
    ['deletion', async (t, w) => {
      expect((await req(t, 'DELETE', `/users/${w.aliceId}`, { token: w.rootToken })).status).toBe(204)
    }]
  ]
  for (const [name, act] of events) {
    test(name, async () => {
      const t = await makeApp()
      const root = await admin(t)
      const alice = await signup(t, 'alice')
      const a = await loginFull(t, 'alice')
      const b = await loginFull(t, 'alice')
      const r1 = await refresh(t, b.refresh_token)
      await act(t, { aliceId: alice.id, rootToken: root.token, aliceAccess: a.access_token })
      for (const token of [a.refresh_token, r1.json.refresh_token]) expect((await refresh(t, token)).status).toBe(401)
      for (const token of [a.access_token, r1.json.access_token]) expect((await me(t, token)).status).toBe(401)
      const live = (await t.sql<{ n: number }>('SELECT CAST(count(*) AS INTEGER) AS n FROM sessions WHERE user_id = ? AND revoked_at IS NULL', alice.id))[0]!
      expect(live.n).toBe(0)
      // The admin's own session is untouched.
      expect((await me(t, root.token)).status).toBe(200)
    })
  }
})

describe('limits', () => {
  test('the successor is kept sealed, never in clear, and dropped when the session is revoked', async () => {
    const { t, alice, s } = await aliceWorld()
    const r1 = await refresh(t, s.refresh_token)
    const [row] = await sessionRows(t, alice.id)
    expect(row.successor).toBeString()
    expect(row.successor).not.toContain(r1.json.refresh_token)
    expect(Buffer.from(row.successor, 'base64url').toString('latin1')).not.toContain(r1.json.refresh_token)
    expect((await req(t, 'POST', '/auth/logout', { body: { refresh_token: r1.json.refresh_token } })).status).toBe(204)
    expect((await sessionRows(t, alice.id))[0].successor).toBeNull()
  })

  test('dead sessions are purged at the next login after a day', async () => {
    const { t, alice, s } = await aliceWorld()
    await req(t, 'POST', '/auth/logout', { body: { refresh_token: s.refresh_token } })
    await t.sql('UPDATE sessions SET revoked_at = revoked_at - 2 * 86400000')
    await loginFull(t, 'alice')
    expect((await sessionRows(t, alice.id))).toHaveLength(1)
  })
})

test('the OpenAPI document describes the session routes', async () => {
  const { t } = await aliceWorld()
  const doc = (await req(t, 'GET', '/openapi.json')).json
  expect(doc.paths['/auth/refresh'].post).toBeDefined()
  expect(doc.paths['/auth/logout'].post.responses['204']).toBeDefined()
  expect(doc.paths['/auth/sessions'].get.responses['200']).toBeDefined()
  expect(doc.paths['/auth/sessions'].delete).toBeDefined()
  expect(doc.paths['/auth/sessions/{session_id}'].delete.responses['404']).toBeDefined()
  expect(doc.paths['/auth/login'].post.responses['429']).toBeDefined()
})
