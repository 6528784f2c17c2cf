// TOTP over HTTP under a controlled clock: real codes are generated with the
// otpauth library at chosen times (never by sleeping). Setup, enable, login in
// two steps, skew, replay, recovery codes, the fifth wrong code, the login
// throttle, races, disable, the admin reset, and credential changes.
import { describe, expect, test } from 'bun:test'
import { Secret, TOTP } from 'otpauth'
import { hashToken } from '../src/lib/token'
import { admin, expectNoSecrets, makeApp, PASSWORD, req, settledLogs, signup, type TestApp } from './helpers'

/** 10 s into a 30 s step, so that ±1 and ±2 steps are whole steps away. */
const T0 = Date.UTC(2031, 0, 1, 0, 0, 10)
const STEP = 30_000
const INVALID_CODE = { detail: 'Invalid code' }
const DEAD_TOKEN = { detail: 'Invalid or expired MFA token' }

interface Clocked extends TestApp {
  clock: { t: number }
}

async function clockedApp(env: Record<string, string> = {}): Promise<Clocked> {
  const clock = { t: T0 }
  return { ...(await makeApp(env, { now: () => clock.t })), clock }
}

async function count(t: TestApp, query: string, ...params: unknown[]): Promise<number> {
  const [row] = await t.sql<{ n: number | string }>(query, ...params)
  return Number(row!.n)
}

const codeAt = (secret: string, at: number) => TOTP.generate({ secret: Secret.fromBase32(secret), timestamp: at })

async function accessToken(t: TestApp, username: string, password = PASSWORD): Promise<string> {
  const r = await req(t, 'POST', '/auth/login', { body: { username, password } })
  expect(r.status).toBe(200)
  return r.json.access_token
}

async function mfaToken(t: TestApp, username: string, password = PASSWORD): Promise<string> {
  const r = await req(t, 'POST', '/auth/login', { body: { username, password } })
  expect(r.status).toBe(200)
  expect(r.json.mfa_required).toBe(true)
  return r.json.mfa_token
}

const verify = (t: TestApp, mfa_token: string, code: string) => req(t, 'POST', '/auth/mfa/verify', { body: { mfa_token, code } })

/** alice with TOTP on: her secret, recovery codes and a session token from before. */
async function aliceWithTotp(env: Record<string, string> = {}) {
  const t = await clockedApp(env)
  const alice = await signup(t, 'alice')
  const token = await accessToken(t, 'alice')
  const setup = await req(t, 'POST', '/auth/mfa/totp/setup', { token, body: { password: PASSWORD } })
  expect(setup.status).toBe(200)
  const secret: string = setup.json.secret
  const enable = await req(t, 'POST', '/auth/mfa/totp/enable', { token, body: { code: codeAt(secret, t.clock.t) } })
  expect(enable.status).toBe(200)
  // The code used to enable is spent: tests start one step later.
  t.clock.t += STEP
  return { t, alice, token, secret, recovery: enable.json.recovery_codes as string[] }
}

const sessionCount = (t: TestApp, userId: number) =>
  count(t, 'SELECT count(*) AS n FROM sessions WHERE user_id = ?', userId)

describe('POST /auth/mfa/totp/setup', () => {
  test('unauthenticated: 401', async () => {
    const t = (await clockedApp())
    const r = await req(t, 'POST', '/auth/mfa/totp/setup', { body: { password: PASSWORD } })
    expect(r.status).toBe(401)
  })

  test('wrong password: 400, nothing stored; missing password: 422', async () => {
    const t = (await clockedApp())
    await signup(t, 'alice')
    const token = await accessToken(t, 'alice')
    const wrong = await req(t, 'POST', '/auth/mfa/totp/setup', { token, body: { password: 'Wrong1234' } })
    expect(wrong.status).toBe(400)
    expect(wrong.json).toEqual({ detail: 'Incorrect password' })
    const missing = await req(t, 'POST', '/auth/mfa/totp/setup', { token, body: {} })
    expect(missing.status).toBe(422)
    expect(missing.json.detail[0].field).toBe('body.password')
    expect(await count(t, 'SELECT count(*) AS n FROM totp_secrets')).toBe(0)
  })

  test('returns a base32 secret and its otpauth URL; nothing is active yet; the secret is stored encrypted', async () => {
    const t = (await clockedApp())
    const alice = await signup(t, 'alice')
    const token = await accessToken(t, 'alice')
    const r = await req(t, 'POST', '/auth/mfa/totp/setup', { token, body: { password: PASSWORD } })
    expect(r.status).toBe(200)
    expect(r.headers.get('cache-control')).toBe('no-store')
    expect(Object.keys(r.json).sort()).toEqual(['otpauth_url', 'secret'])
    expect(r.json.secret).toMatch(/^[A-Z2-7]{32}$/)
    expect(r.json.otpauth_url.startsWith(`otpauth://totp/Roster:alice?secret=${r.json.secret}&issuer=Roster`)).toBe(true)
    // Not on yet: the profile says so and a password alone still logs in.
    expect((await req(t, 'GET', '/users/me', { token })).json.mfa_enabled).toBe(false)
    expect((await req(t, 'POST', '/auth/login', { body: { username: 'alice', password: PASSWORD } })).json.access_token).toBeString()
    const [row] = await t.sql<{ secret: string }>('SELECT secret FROM totp_secrets WHERE user_id = ?', alice.id)
    expect(row!.secret).not.toContain(r.json.secret)
    expect(row!.secret).not.toContain(Buffer.from(Secret.fromBase32(r.json.secret).bytes).toString('base64url'))
  })

  test('the sealed secret is bound to its user: copied onto another user it gives no valid code', async () => {
    const t = (await clockedApp())
    const alice = await signup(t, 'alice')
    const bob = await signup(t, 'bob')
    const aliceToken = await accessToken(t, 'alice')
    const bobToken = await accessToken(t, 'bob')
    const a = await req(t, 'POST', '/auth/mfa/totp/setup', { token: aliceToken, body: { password: PASSWORD } })
    await req(t, 'POST', '/auth/mfa/totp/setup', { token: bobToken, body: { password: PASSWORD } })
    await t.sql('UPDATE totp_secrets SET secret = (SELECT secret FROM totp_secrets WHERE user_id = ?) WHERE user_id = ?', alice.id, bob.id)
    const r = await req(t, 'POST', '/auth/mfa/totp/enable', { token: bobToken, body: { code: codeAt(a.json.secret, t.clock.t) } })
    expect(r.status).toBe(400)
  })

  test('a personal access token is refused (401)', async () => {
    const t = (await clockedApp())
    await signup(t, 'alice')
    const token = await accessToken(t, 'alice')
    const pat = (await req(t, 'POST', '/auth/tokens', { token, body: { name: 'ci', scopes: ['users:read', 'users:write'] } })).json.token
    const r = await req(t, 'POST', '/auth/mfa/totp/setup', { token: pat, body: { password: PASSWORD } })
    expect(r.status).toBe(401)
  })
})

describe('POST /auth/mfa/totp/enable', () => {
  test('before setup, or with a wrong code: 400 Invalid code, still off', async () => {
    const t = (await clockedApp())
    await signup(t, 'alice')
    const token = await accessToken(t, 'alice')
    const early = await req(t, 'POST', '/auth/mfa/totp/enable', { token, body: { code: '123456' } })
    expect(early.status).toBe(400)
    const setup = await req(t, 'POST', '/auth/mfa/totp/setup', { token, body: { password: PASSWORD } })
    const right = codeAt(setup.json.secret, t.clock.t)
    const wrong = right === '000000' ? '000001' : '000000'
    const r = await req(t, 'POST', '/auth/mfa/totp/enable', { token, body: { code: wrong } })
    expect(r.status).toBe(400)
    expect(r.json).toEqual(INVALID_CODE)
    const stale = await req(t, 'POST', '/auth/mfa/totp/enable', { token, body: { code: codeAt(setup.json.secret, t.clock.t - 2 * STEP) } })
    expect(stale.status).toBe(400)
    expect((await req(t, 'GET', '/users/me', { token })).json.mfa_enabled).toBe(false)
    expect((await req(t, 'POST', '/auth/mfa/totp/enable', { token, body: {} })).status).toBe(422)
  })

  test('a valid code turns TOTP on and returns 10 distinct recovery codes, stored only hashed', async () => {
    const t = (await clockedApp())
    const alice = await signup(t, 'alice')
    const token = await accessToken(t, 'alice')
    const setup = await req(t, 'POST', '/auth/mfa/totp/setup', { token, body: { password: PASSWORD } })
    const r = await req(t, 'POST', '/auth/mfa/totp/enable', { token, body: { code: codeAt(setup.json.secret, t.clock.t) } })
    expect(r.status).toBe(200)
    expect(r.headers.get('cache-control')).toBe('no-store')
    expect(Object.keys(r.json)).toEqual(['recovery_codes'])
    const codes: string[] = r.json.recovery_codes
    expect(codes).toHaveLength(10)
    expect(new Set(codes).size).toBe(10)
    for (const c of codes) expect(c).toMatch(/^[a-z2-7]{4}(-[a-z2-7]{4}){3}$/)
    const me = await req(t, 'GET', '/users/me', { token })
    expect(me.json.mfa_enabled).toBe(true)
    const stored = JSON.stringify(await t.sql('SELECT * FROM recovery_codes WHERE user_id = ?', alice.id))
    for (const c of codes) {
      expect(stored).not.toContain(c)
      expect(stored).not.toContain(c.replace(/-/g, ''))
    }
    // The secret is never shown again: neither setup nor enable repeat it once on.
    expect(me.text).not.toContain(setup.json.secret)
    const again = await req(t, 'POST', '/auth/mfa/totp/setup', { token, body: { password: PASSWORD } })
    expect(again.status).toBe(400)
    expect(again.json).toEqual({ detail: 'TOTP is already enabled' })
    const twice = await req(t, 'POST', '/auth/mfa/totp/enable', { token, body: { code: codeAt(setup.json.secret, t.clock.t + STEP) } })
    expect(twice.status).toBe(400)
  })

  test('other users see mfa_enabled only where they see the profile (admins)', async () => {
    const { t, alice } = await aliceWithTotp()
    const root = await admin(t)
    const r = await req(t, 'GET', `/users/${alice.id}`, { token: root.token })
    expect(r.json.mfa_enabled).toBe(true)
  })
})

describe('login with TOTP on', () => {
  test('a correct password gets mfa_required and an mfa_token, and no session', async () => {
    const { t, alice } = await aliceWithTotp()
    const before = await sessionCount(t, alice.id)
    const r = await req(t, 'POST', '/auth/login', { body: { username: 'alice', password: PASSWORD } })
    expect(r.status).toBe(200)
    expect(Object.keys(r.json).sort()).toEqual(['expires_in', 'mfa_required', 'mfa_token'])
    expect(r.json).toMatchObject({ mfa_required: true, expires_in: 300 })
    expect(await sessionCount(t, alice.id)).toBe(before)
    // The mfa_token is no access token.
    expect((await req(t, 'GET', '/users/me', { token: r.json.mfa_token })).status).toBe(401)
    // A wrong password is still the plain 401.
    const bad = await req(t, 'POST', '/auth/login', { body: { username: 'alice', password: 'Wrong1234' } })
    expect(bad.status).toBe(401)
    expect(bad.json).toEqual({ detail: 'Incorrect username or password' })
  })

  test('the mfa_token and a current code give the normal token response; the token is spent', async () => {
    const { t, alice, secret } = await aliceWithTotp()
    const mt = await mfaToken(t, 'alice')
    const r = await verify(t, mt, codeAt(secret, t.clock.t))
    expect(r.status).toBe(200)
    expect(Object.keys(r.json).sort()).toEqual(['access_token', 'expires_in', 'refresh_token', 'token_type'])
    const me = await req(t, 'GET', '/users/me', { token: r.json.access_token })
    expect(me.json.id).toBe(alice.id)
    // Spent: the next step's code does not reuse it.
    t.clock.t += STEP
    expect((await verify(t, mt, codeAt(secret, t.clock.t))).json).toEqual(DEAD_TOKEN)
    // And the refresh token works like any other.
    expect((await req(t, 'POST', '/auth/refresh', { body: { refresh_token: r.json.refresh_token } })).status).toBe(200)
  })

  test('the mfa_token expires after 300 s', async () => {
    const { t, secret } = await aliceWithTotp()
    const mt = await mfaToken(t, 'alice')
    t.clock.t += 301_000
    const r = await verify(t, mt, codeAt(secret, t.clock.t))
    expect(r.status).toBe(401)
    expect(r.json).toEqual(DEAD_TOKEN)
  })

  test('invalid input: 422, and an unknown mfa_token: 401', async () => {
    const { t, secret } = await aliceWithTotp()
    const missing = await req(t, 'POST', '/auth/mfa/verify', { body: { code: '123456' } })
    expect(missing.status).toBe(422)
    expect(missing.json.detail[0].field).toBe('body.mfa_token')
    const unknown = await verify(t, 'not-a-token', codeAt(secret, t.clock.t))
    expect(unknown.status).toBe(401)
    expect(unknown.headers.get('www-authenticate')).toBe('Bearer')
  })

  for (const [name, offset, status] of [
    ['one step behind is accepted', -1, 200],
    ['one step ahead is accepted', 1, 200],
    ['two steps behind is refused', -2, 401],
    ['two steps ahead is refused', 2, 401]
  ] as const) {
    test(`clock skew: ${name}`, async () => {
      const { t, secret } = await aliceWithTotp()
      // Far from the step used to enable, so only the skew decides.
      t.clock.t += 10 * STEP
      const mt = await mfaToken(t, 'alice')
      const r = await verify(t, mt, codeAt(secret, t.clock.t + offset * STEP))
      expect(r.status).toBe(status)
      if (status === 401) expect(r.json).toEqual(INVALID_CODE)
    })
  }

  test('replay: a code already used in its step is refused; the next step works', async () => {
    const { t, secret } = await aliceWithTotp()
    const code = codeAt(secret, t.clock.t)
    expect((await verify(t, await mfaToken(t, 'alice'), code)).status).toBe(200)
    const replay = await verify(t, await mfaToken(t, 'alice'), code)
    expect(replay.status).toBe(401)
    expect(replay.json).toEqual(INVALID_CODE)
    // An older step's code after a newer one is a replay too.
    t.clock.t += STEP
    expect((await verify(t, await mfaToken(t, 'alice'), codeAt(secret, t.clock.t - STEP))).status).toBe(401)
    expect((await verify(t, await mfaToken(t, 'alice'), codeAt(secret, t.clock.t))).status).toBe(200)
  })

  test('the code that enabled TOTP cannot log in within its step', async () => {
    const t = (await clockedApp())
    await signup(t, 'alice')
    const token = await accessToken(t, 'alice')
    const setup = await req(t, 'POST', '/auth/mfa/totp/setup', { token, body: { password: PASSWORD } })
    const code = codeAt(setup.json.secret, t.clock.t)
    expect((await req(t, 'POST', '/auth/mfa/totp/enable', { token, body: { code } })).status).toBe(200)
    expect((await verify(t, await mfaToken(t, 'alice'), code)).status).toBe(401)
  })

  test('recovery codes: each works once, in any case, with or without dashes', async () => {
    const { t, recovery } = await aliceWithTotp()
    const [a, b] = recovery as [string, string]
    expect((await verify(t, await mfaToken(t, 'alice'), a)).status).toBe(200)
    const again = await verify(t, await mfaToken(t, 'alice'), a)
    expect(again.status).toBe(401)
    expect(again.json).toEqual(INVALID_CODE)
    expect((await verify(t, await mfaToken(t, 'alice'), b.replace(/-/g, '').toUpperCase())).status).toBe(200)
    expect((await verify(t, await mfaToken(t, 'alice'), b)).status).toBe(401)
  })

  test('the fifth wrong code kills the mfa_token; every attempt counts in the login throttle', async () => {
    const { t, secret } = await aliceWithTotp()
    const mt = await mfaToken(t, 'alice')
    const right = codeAt(secret, t.clock.t)
    const wrong = right === '999999' ? '999998' : '999999'
    for (let i = 1; i <= 5; i++) {
      const r = await verify(t, mt, wrong)
      expect(r.status).toBe(401)
      expect(r.json).toEqual(INVALID_CODE)
    }
    const after = await verify(t, mt, right)
    expect(after.status).toBe(401)
    expect(after.json).toEqual(DEAD_TOKEN)
    // Five failures for the account from this client: the throttle now refuses
    // even the correct password (a correct password alone never cleared them).
    const login = await req(t, 'POST', '/auth/login', { body: { username: 'alice', password: PASSWORD } })
    expect(login.status).toBe(429)
    expect(login.json).toEqual({ detail: 'Too many login attempts' })
    expect(Number(login.headers.get('retry-after'))).toBeGreaterThan(0)
  })

  test('wrong passwords and wrong codes add up; a blocked verify is 429 and spends nothing', async () => {
    const { t, secret } = await aliceWithTotp()
    const mt = await mfaToken(t, 'alice')
    for (let i = 0; i < 3; i++) {
      expect((await req(t, 'POST', '/auth/login', { body: { username: 'alice', password: 'Wrong1234' } })).status).toBe(401)
    }
    expect((await verify(t, mt, 'abcdef')).status).toBe(401)
    expect((await verify(t, mt, '000000x')).status).toBe(401)
    const blocked = await verify(t, mt, codeAt(secret, t.clock.t))
    expect(blocked.status).toBe(429)
    expect(blocked.headers.get('retry-after')).toBeTruthy()
  })

  test('a correct code clears the account counter', async () => {
    const { t, secret } = await aliceWithTotp()
    const mt = await mfaToken(t, 'alice')
    for (let i = 0; i < 4; i++) expect((await verify(t, mt, 'zzzzzz')).status).toBe(401)
    expect((await verify(t, mt, codeAt(secret, t.clock.t))).status).toBe(200)
    t.clock.t += STEP
    const mt2 = await mfaToken(t, 'alice')
    for (let i = 0; i < 4; i++) expect((await verify(t, mt2, 'zzzzzz')).status).toBe(401)
    expect((await verify(t, mt2, codeAt(secret, t.clock.t))).status).toBe(200)
  })

  test('20 parallel verifies of one valid code (20 logins): exactly one session', async () => {
    const { t, alice, secret } = await aliceWithTotp()
    const tokens: string[] = []
    for (let i = 0; i < 20; i++) tokens.push(await mfaToken(t, 'alice'))
    const code = codeAt(secret, t.clock.t)
    const before = await sessionCount(t, alice.id)
    const results = await Promise.all(tokens.map((mt) => verify(t, mt, code)))
    expect(results.filter((r) => r.status === 200)).toHaveLength(1)
    for (const r of results) expect([200, 401, 429]).toContain(r.status)
    expect(await sessionCount(t, alice.id)).toBe(before + 1)
  })

  test('20 parallel verifies of one mfa_token: exactly one session', async () => {
    const { t, alice, secret } = await aliceWithTotp()
    const mt = await mfaToken(t, 'alice')
    const code = codeAt(secret, t.clock.t)
    const before = await sessionCount(t, alice.id)
    const results = await Promise.all(Array.from({ length: 20 }, () => verify(t, mt, code)))
    expect(results.filter((r) => r.status === 200)).toHaveLength(1)
    expect(await sessionCount(t, alice.id)).toBe(before + 1)
  })

  test('one recovery code in 10 parallel logins: exactly one success', async () => {
    const { t, recovery } = await aliceWithTotp()
    const tokens: string[] = []
    for (let i = 0; i < 10; i++) tokens.push(await mfaToken(t, 'alice'))
    const results = await Promise.all(tokens.map((mt) => verify(t, mt, recovery[0]!)))
    expect(results.filter((r) => r.status === 200)).toHaveLength(1)
  })

  test('no code, secret or token in any log line', async () => {
    const { t, secret, recovery } = await aliceWithTotp()
    const mt = await mfaToken(t, 'alice')
    const code = codeAt(secret, t.clock.t)
    await verify(t, mt, '111111')
    const ok = await verify(t, mt, code)
    const logs = (await settledLogs(t)).join('\n')
    expectNoSecrets(logs, [secret, mt, code, ...recovery, ok.json.access_token, ok.json.refresh_token, hashToken(mt)])
  })
})

describe('POST /auth/mfa/totp/disable', () => {
  test('unauthenticated 401; not enabled 400; wrong password 400; wrong code 400; still on', async () => {
    const t = (await clockedApp())
    await signup(t, 'bob')
    const bobToken = await accessToken(t, 'bob')
    expect((await req(t, 'POST', '/auth/mfa/totp/disable', { body: { password: PASSWORD, code: '123456' } })).status).toBe(401)
    const off = await req(t, 'POST', '/auth/mfa/totp/disable', { token: bobToken, body: { password: PASSWORD, code: '123456' } })
    expect(off.status).toBe(400)
    expect(off.json).toEqual({ detail: 'TOTP is not enabled' })

    const { t: t2, token, secret } = await aliceWithTotp()
    const badPw = await req(t2, 'POST', '/auth/mfa/totp/disable', { token, body: { password: 'Wrong1234', code: codeAt(secret, t2.clock.t) } })
    expect(badPw.status).toBe(400)
    expect(badPw.json).toEqual({ detail: 'Incorrect password' })
    const badCode = await req(t2, 'POST', '/auth/mfa/totp/disable', { token, body: { password: PASSWORD, code: '12345' } })
    expect(badCode.status).toBe(400)
    expect(badCode.json).toEqual(INVALID_CODE)
    expect((await req(t2, 'POST', '/auth/mfa/totp/disable', { token, body: { password: PASSWORD } })).status).toBe(422)
    expect((await req(t2, 'GET', '/users/me', { token })).json.mfa_enabled).toBe(true)
  })

  test('password and a TOTP code turn it off: the secret and recovery codes are gone, login is one step again', async () => {
    const { t, alice, token, secret } = await aliceWithTotp()
    const r = await req(t, 'POST', '/auth/mfa/totp/disable', { token, body: { password: PASSWORD, code: codeAt(secret, t.clock.t) } })
    expect(r.status).toBe(204)
    expect(r.text).toBe('')
    expect((await req(t, 'GET', '/users/me', { token })).json.mfa_enabled).toBe(false)
    for (const table of ['totp_secrets', 'recovery_codes']) {
      expect(await count(t, `SELECT count(*) AS n FROM ${table} WHERE user_id = ?`, alice.id)).toBe(0)
    }
    expect((await req(t, 'POST', '/auth/login', { body: { username: 'alice', password: PASSWORD } })).json.access_token).toBeString()
  })

  test('a recovery code works too', async () => {
    const { t, token, recovery } = await aliceWithTotp()
    const r = await req(t, 'POST', '/auth/mfa/totp/disable', { token, body: { password: PASSWORD, code: recovery[3]! } })
    expect(r.status).toBe(204)
  })
})

describe('DELETE /users/{user_id}/mfa (admins)', () => {
  test('unauthenticated 401, a non-admin 403, unknown 404, a bad id 422', async () => {
    const { t, alice, token } = await aliceWithTotp()
    const root = await admin(t)
    expect((await req(t, 'DELETE', `/users/${alice.id}/mfa`)).status).toBe(401)
    const self = await req(t, 'DELETE', `/users/${alice.id}/mfa`, { token })
    expect(self.status).toBe(403)
    expect(self.json).toEqual({ detail: 'Not enough permissions' })
    expect((await req(t, 'DELETE', '/users/9999/mfa', { token: root.token })).json).toEqual({ detail: 'User not found' })
    expect((await req(t, 'DELETE', '/users/abc/mfa', { token: root.token })).status).toBe(422)
    expect((await req(t, 'GET', '/users/me', { token })).json.mfa_enabled).toBe(true)
  })

  test('turns TOTP off for a locked-out user and kills their pending logins', async () => {
    const { t, alice, secret } = await aliceWithTotp()
    const root = await admin(t)
    const pending = await mfaToken(t, 'alice')
    const r = await req(t, 'DELETE', `/users/${alice.id}/mfa`, { token: root.token })
    expect(r.status).toBe(204)
    expect((await verify(t, pending, codeAt(secret, t.clock.t))).json).toEqual(DEAD_TOKEN)
    const login = await req(t, 'POST', '/auth/login', { body: { username: 'alice', password: PASSWORD } })
    expect(login.json.access_token).toBeString()
    expect((await req(t, 'GET', `/users/${alice.id}`, { token: root.token })).json.mfa_enabled).toBe(false)
  })
})

describe('credential changes keep TOTP on, end every session and every pending login', () => {
  test('password change', async () => {
    const { t, token, secret } = await aliceWithTotp()
    const pending = await mfaToken(t, 'alice')
    const r = await req(t, 'PUT', '/users/me/password', { token, body: { current_password: PASSWORD, new_password: 'Other9Pass' } })
    expect(r.status).toBe(204)
    expect((await req(t, 'GET', '/users/me', { token })).status).toBe(401)
    expect((await verify(t, pending, codeAt(secret, t.clock.t))).json).toEqual(DEAD_TOKEN)
    const mt = await mfaToken(t, 'alice', 'Other9Pass')
    expect((await verify(t, mt, codeAt(secret, t.clock.t))).status).toBe(200)
  })

  test('deactivation', async () => {
    const { t, alice, secret } = await aliceWithTotp()
    const root = await admin(t)
    const pending = await mfaToken(t, 'alice')
    expect((await req(t, 'PATCH', `/users/${alice.id}`, { token: root.token, body: { is_active: false } })).status).toBe(200)
    expect((await verify(t, pending, codeAt(secret, t.clock.t))).json).toEqual(DEAD_TOKEN)
    expect((await req(t, 'PATCH', `/users/${alice.id}`, { token: root.token, body: { is_active: true } })).status).toBe(200)
    const me = await req(t, 'GET', `/users/${alice.id}`, { token: root.token })
    expect(me.json.mfa_enabled).toBe(true)
  })

  test('password reset', async () => {
    const { t, alice, secret } = await aliceWithTotp({ PUBLIC_URL: 'https://roster.example' })
    const pending = await mfaToken(t, 'alice')
    await req(t, 'POST', '/auth/password-reset', { body: { email: 'alice@example.com' } })
    await t.services.resets.settled()
    const [mail] = await t.sql<{ body: string }>("SELECT text_body AS body FROM email_outbox WHERE kind = 'password_reset'")
    const resetToken = /reset-password\?token=([A-Za-z0-9_-]+)/.exec(mail!.body)![1]
    const r = await req(t, 'POST', '/auth/password-reset/confirm', { body: { token: resetToken, new_password: 'Other9Pass' } })
    expect(r.status).toBe(204)
    expect((await verify(t, pending, codeAt(secret, t.clock.t))).json).toEqual(DEAD_TOKEN)
    const me = await mfaToken(t, 'alice', 'Other9Pass')
    expect(me).toBeString()
    expect(alice.id).toBeGreaterThan(0)
  })
})
