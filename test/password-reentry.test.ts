// A password typed again by a signed-in user (PUT /users/me/password, TOTP
// setup and disable) counts in the failed-login throttle, before its hash: a
// stolen access token gives no unthrottled way to guess the password.
import { afterEach, describe, expect, test } from 'bun:test'
import { Secret, TOTP } from 'otpauth'
import { countPasswordChecks, expectNoSecrets, makeApp, PASSWORD, req, signup, type TestApp } from './helpers'

const TOO_MANY = { detail: 'Too many password attempts' }
const INCORRECT = { detail: 'Incorrect password' }
const IP = '203.0.113.7'
const T0 = Date.UTC(2031, 0, 1, 0, 0, 10)

const verifies = countPasswordChecks()
afterEach(() => {
  verifies.n = 0
})

// TRUST_PROXY lets a test choose its client IP; the global rate limit stays off.
const app = async () => {
  const clock = { t: T0 }
  return { ...(await makeApp({ TRUST_PROXY: 'true' }, { now: () => clock.t })), clock }
}
const from = (ip = IP) => ({ 'x-forwarded-for': ip })
const login = (t: TestApp, password: string, ip = IP) => req(t, 'POST', '/auth/login', { body: { username: 'alice', password }, headers: from(ip) })
const changePassword = (t: TestApp, token: string, current: string) =>
  req(t, 'PUT', '/users/me/password', { token, body: { current_password: current, new_password: 'Changed12345' }, headers: from() })
const setup = (t: TestApp, token: string, password: string) => req(t, 'POST', '/auth/mfa/totp/setup', { token, body: { password }, headers: from() })
const disable = (t: TestApp, token: string, password: string, code: string) =>
  req(t, 'POST', '/auth/mfa/totp/disable', { token, body: { password, code }, headers: from() })
const codeAt = (secret: string, at: number) => TOTP.generate({ secret: Secret.fromBase32(secret), timestamp: at })

async function alice(t: TestApp): Promise<string> {
  await signup(t, 'alice')
  const r = await login(t, PASSWORD)
  expect(r.status).toBe(200)
  return r.json.access_token
}

async function aliceWithTotp() {
  const t = await app()
  const token = await alice(t)
  const s = await setup(t, token, PASSWORD)
  expect(s.status).toBe(200)
  const secret: string = s.json.secret
  expect((await req(t, 'POST', '/auth/mfa/totp/enable', { token, body: { code: codeAt(secret, t.clock.t) } })).status).toBe(200)
  // The enabling code is spent: the tests use the next step's.
  t.clock.t += 30_000
  verifies.n = 0
  return { t, token, code: () => codeAt(secret, t.clock.t) }
}

function expectRefused(r: { status: number; json: unknown; headers: Headers; text: string }) {
  expect(r.status).toBe(429)
  expect(r.json).toEqual(TOO_MANY)
  const retry = Number(r.headers.get('retry-after'))
  expect(retry).toBeGreaterThan(800)
  expect(retry).toBeLessThanOrEqual(900)
  expectNoSecrets(r.text)
}

describe('PUT /users/me/password: the current password is throttled like a login', () => {
  test('40 parallel wrong current passwords: 5 password checks, the rest 429; then the right one is 429 too, and nothing changed', async () => {
    const t = await app()
    const token = await alice(t)
    verifies.n = 0
    const answers = await Promise.all(Array.from({ length: 40 }, () => changePassword(t, token, 'Wrong1234')))
    expect(verifies.n).toBe(5)
    const wrong = answers.filter((r) => r.status === 400)
    expect(wrong).toHaveLength(5)
    for (const r of wrong) expect(r.json).toEqual(INCORRECT)
    const refused = answers.filter((r) => r.status === 429)
    expect(refused).toHaveLength(35)
    expectRefused(refused[0]!)
    // Within the window, the right password is refused before its hash, as at login.
    expectRefused(await changePassword(t, token, PASSWORD))
    expect(verifies.n).toBe(5)
    // One budget with login: the same account from the same IP cannot log in either...
    const blocked = await login(t, PASSWORD)
    expect(blocked.status).toBe(429)
    expect(blocked.json).toEqual({ detail: 'Too many login attempts' })
    // ...while the owner elsewhere still can, with the unchanged password, and the token still works.
    expect((await login(t, PASSWORD, '198.51.100.20')).status).toBe(200)
    expect((await req(t, 'GET', '/users/me', { token })).status).toBe(200)
  })

  test('failed logins and wrong current passwords add up in one counter', async () => {
    const t = await app()
    const token = await alice(t)
    for (let i = 0; i < 3; i++) expect((await login(t, 'Wrong1234')).status).toBe(401)
    for (let i = 0; i < 2; i++) expect((await changePassword(t, token, 'Wrong1234')).json).toEqual(INCORRECT)
    expectRefused(await changePassword(t, token, 'Wrong1234'))
  })

  test('the right current password within the limit changes it', async () => {
    const t = await app()
    const token = await alice(t)
    for (let i = 0; i < 4; i++) expect((await changePassword(t, token, 'Wrong1234')).status).toBe(400)
    expect((await changePassword(t, token, PASSWORD)).status).toBe(204)
    // The change ended every session; the new password logs in from the same IP.
    expect((await login(t, 'Changed12345')).status).toBe(200)
  })
})

describe('TOTP setup and disable: the re-entered password is throttled like a login', () => {
  test('setup: 5 wrong passwords, then 429 even for the right one; a right one before that clears the count', async () => {
    const t = await app()
    const token = await alice(t)
    for (let i = 0; i < 4; i++) expect((await setup(t, token, 'Wrong1234')).json).toEqual(INCORRECT)
    expect((await setup(t, token, PASSWORD)).status).toBe(200)
    // Cleared: five more wrong ones are checked, the sixth attempt is not.
    verifies.n = 0
    for (let i = 0; i < 5; i++) expect((await setup(t, token, 'Wrong1234')).json).toEqual(INCORRECT)
    expectRefused(await setup(t, token, PASSWORD))
    expect(verifies.n).toBe(5)
  })

  test('disable: 40 parallel wrong passwords give 5 password checks, the rest 429; the right password and code are refused after, TOTP stays on', async () => {
    const { t, token, code } = await aliceWithTotp()
    const answers = await Promise.all(Array.from({ length: 40 }, () => disable(t, token, 'Wrong1234', code())))
    expect(verifies.n).toBe(5)
    expect(answers.filter((r) => r.status === 400)).toHaveLength(5)
    expect(answers.filter((r) => r.status === 429)).toHaveLength(35)
    expectRefused(await disable(t, token, PASSWORD, code()))
    expect(verifies.n).toBe(5)
    expect((await req(t, 'GET', '/users/me', { token })).json.mfa_enabled).toBe(true)
  })

  test('disable: a wrong code with the right password counts too; both right clear the count', async () => {
    const { t, token, code } = await aliceWithTotp()
    for (let i = 0; i < 4; i++) expect((await disable(t, token, PASSWORD, '000000')).json).toEqual({ detail: 'Invalid code' })
    expect((await disable(t, token, PASSWORD, code())).status).toBe(204)
    expect((await req(t, 'GET', '/users/me', { token })).json.mfa_enabled).toBe(false)
    // Cleared (not just given back): five wrong logins are checked before the next is refused.
    for (let i = 0; i < 5; i++) expect((await login(t, 'Wrong1234')).status).toBe(401)
    expect((await login(t, PASSWORD)).status).toBe(429)
  })

  test('disable: five wrong codes with the right password, then 429', async () => {
    const { t, token, code } = await aliceWithTotp()
    for (let i = 0; i < 5; i++) expect((await disable(t, token, PASSWORD, '000000')).json).toEqual({ detail: 'Invalid code' })
    expectRefused(await disable(t, token, PASSWORD, code()))
    expect((await req(t, 'GET', '/users/me', { token })).json.mfa_enabled).toBe(true)
  })
})
