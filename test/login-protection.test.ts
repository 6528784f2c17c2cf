// Login protection over HTTP: the failed-login throttle (per account+IP and per
// IP, before any hash), its reset, its bounded memory, and rehash on login.
import { b64url, forgeJwt as forge } from './jwt'
import { afterEach, describe, expect, test } from 'bun:test'
import { createLoginThrottle } from '../src/modules/auth/throttle'
import { HASH_PARAMS } from '../src/lib/password'
import { countPasswordChecks, expectNoSecrets, makeApp, PASSWORD, req, SECRET, signup, type TestApp } from './helpers'

const TOO_MANY = { detail: 'Too many login attempts' }

// TRUST_PROXY lets a test choose its client IP with X-Forwarded-For; the global
// rate limit stays off (RATE_LIMIT_PER_MINUTE=0, the helpers' default).
const app = () => makeApp({ TRUST_PROXY: 'true' })
const attempt = (t: TestApp, username: string, password: string, ip = '203.0.113.7') =>
  req(t, 'POST', '/auth/login', { body: { username, password }, headers: { 'x-forwarded-for': ip } })

async function fail(t: TestApp, username: string, times: number, ip?: string) {
  for (let i = 0; i < times; i++) expect((await attempt(t, username, 'Wrong1234', ip)).status).toBe(401)
}

const verifies = countPasswordChecks()
afterEach(() => {
  verifies.n = 0
})

describe('failed-login throttle', () => {
  test('5 failures for one account from one IP (global rate limit off): the 6th attempt is 429 even with the right password, with no hash computed', async () => {
    const t = await app()
    await signup(t, 'alice')
    await fail(t, 'alice', 5)
    const before = verifies.n
    expect(before).toBe(5)
    const r = await attempt(t, 'alice', PASSWORD)
    expect(r.status).toBe(429)
    expect(r.json).toEqual(TOO_MANY)
    const retry = Number(r.headers.get('retry-after'))
    expect(retry).toBeGreaterThan(800)
    expect(retry).toBeLessThanOrEqual(900)
    expect(verifies.n).toBe(before)
    expectNoSecrets(r.text)
  })

  test('the same account by e-mail shares the counter', async () => {
    const t = await app()
    await signup(t, 'alice')
    await fail(t, 'alice', 3)
    await fail(t, 'alice@example.com', 2)
    expect((await attempt(t, 'ALICE', PASSWORD)).status).toBe(429)
  })

  test('a stranger cannot lock the owner out: the limit is per account and IP', async () => {
    const t = await app()
    await signup(t, 'alice')
    await fail(t, 'alice', 5, '198.51.100.66')
    expect((await attempt(t, 'alice', PASSWORD, '198.51.100.66')).status).toBe(429)
    expect((await attempt(t, 'alice', PASSWORD, '203.0.113.7')).status).toBe(200)
  })

  test('a successful login clears the account counter', async () => {
    const t = await app()
    await signup(t, 'alice')
    await fail(t, 'alice', 4)
    expect((await attempt(t, 'alice', PASSWORD)).status).toBe(200)
    await fail(t, 'alice', 5)
    expect((await attempt(t, 'alice', PASSWORD)).status).toBe(429)
  })

  test('unknown names are throttled exactly like known ones', async () => {
    const t = await app()
    await fail(t, 'ghost', 5)
    const r = await attempt(t, 'ghost', 'Wrong1234')
    expect(r.status).toBe(429)
    expect(r.json).toEqual(TOO_MANY)
  })

  test('the wider per-IP cap: 50 failures over many accounts, then every login from that IP waits', async () => {
    const t = await app()
    await signup(t, 'alice')
    for (let i = 0; i < 50; i++) expect((await attempt(t, `user${i}`, 'Wrong1234')).status).toBe(401)
    expect((await attempt(t, 'alice', PASSWORD)).status).toBe(429)
    expect((await attempt(t, 'alice', PASSWORD, '203.0.113.8')).status).toBe(200)
    // 51 password hashes: far past the default 5 s on a loaded 2-core machine.
  }, 60_000)

  test('a deactivated account with the right password counts as a failure', async () => {
    const t = await app()
    const a = await signup(t, 'alice')
    await t.sql('UPDATE users SET is_active = FALSE WHERE id = ?', a.id)
    for (let i = 0; i < 5; i++) expect((await attempt(t, 'alice', PASSWORD)).status).toBe(401)
    expect((await attempt(t, 'alice', PASSWORD)).status).toBe(429)
  })
})

describe('the throttle under concurrency: an attempt is counted before its hash', () => {
  test('40 parallel wrong passwords for one account from one IP: 5 password checks, the rest 429', async () => {
    const t = await app()
    await signup(t, 'alice')
    verifies.n = 0
    const answers = await Promise.all(Array.from({ length: 40 }, () => attempt(t, 'alice', 'Wrong1234')))
    expect(verifies.n).toBe(5)
    expect(answers.filter((r) => r.status === 401)).toHaveLength(5)
    expect(answers.filter((r) => r.status === 429)).toHaveLength(35)
  })

  test('a parallel flood over many accounts from one IP gets at most the per-IP cap of password checks', async () => {
    const t = await app()
    verifies.n = 0
    // 4 tries each for 40 names: no account reaches its own limit, the IP does.
    const answers = await Promise.all(Array.from({ length: 160 }, (_, i) => attempt(t, `user${i % 40}`, 'Wrong1234')))
    expect(verifies.n).toBe(50)
    expect(answers.filter((r) => r.status === 401)).toHaveLength(50)
    expect(answers.filter((r) => r.status === 429)).toHaveLength(110)
  })

  test('a success gives back its IP reservation and clears the account; a failure keeps both', () => {
    const th = createLoginThrottle({ perAccount: 2, perIp: 3, windowMs: 60_000, maxEntries: 100 })
    // Good logins, even many at once, never use up the IP's budget.
    const held = Array.from({ length: 10 }, () => th.reserve('u:1', 'ip'))
    expect(held.filter((r) => r === 0)).toHaveLength(2)
    th.succeeded('u:1', 'ip')
    th.succeeded('u:1', 'ip')
    expect(th.reserve('u:2', 'ip')).toBe(0)
    expect(th.reserve('u:3', 'ip')).toBe(0)
    expect(th.reserve('u:4', 'ip')).toBe(0)
    // Three failures held: the IP is full.
    expect(th.reserve('u:5', 'ip')).toBeGreaterThan(0)
  })
})

describe('throttle windows and memory', () => {
  test('the window resets after windowMs', () => {
    let now = 1_000_000
    const th = createLoginThrottle({ perAccount: 2, perIp: 10, windowMs: 60_000, maxEntries: 100, now: () => now })
    th.reserve('u:1', 'ip')
    th.reserve('u:1', 'ip')
    expect(th.retryAfter('u:1', 'ip')).toBe(60)
    now += 30_000
    expect(th.retryAfter('u:1', 'ip')).toBe(30)
    now += 30_000
    expect(th.retryAfter('u:1', 'ip')).toBe(0)
    th.reserve('u:1', 'ip')
    expect(th.retryAfter('u:1', 'ip')).toBe(0)
  })

  test('memory stays bounded however many clients fail', () => {
    const th = createLoginThrottle({ perAccount: 5, perIp: 50, windowMs: 60_000, maxEntries: 1000 })
    for (let i = 0; i < 100_000; i++) th.reserve(`n:user${i}`, `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`)
    expect(th.size.accounts).toBeLessThanOrEqual(1000)
    expect(th.size.ips).toBeLessThanOrEqual(1000)
  })

  test('when full, the least recently failing keys go first; an active attacker stays counted', () => {
    const th = createLoginThrottle({ perAccount: 3, perIp: 1000, windowMs: 60_000, maxEntries: 10 })
    for (let i = 0; i < 3; i++) th.reserve('u:1', 'attacker')
    for (let i = 0; i < 5; i++) th.reserve(`n:x${i}`, `ip${i}`)
    th.reserve('u:1', 'attacker')
    for (let i = 5; i < 14; i++) th.reserve(`n:x${i}`, `ip${i}`)
    expect(th.size.accounts).toBe(10)
    // Its last failure was recent enough to survive the 9 newer keys.
    expect(th.retryAfter('u:1', 'attacker')).toBeGreaterThan(0)
  })
})

describe('rehash on login', () => {
  const cases: [string, () => Promise<string>][] = [
    ['argon2id with weaker parameters', () => Bun.password.hash(PASSWORD, { algorithm: 'argon2id', memoryCost: 8192, timeCost: 1 })],
    ['bcrypt', () => Bun.password.hash(PASSWORD, { algorithm: 'bcrypt', cost: 4 })]
  ]
  for (const [name, make] of cases) {
    test(`a stored ${name} hash is upgraded to the current parameters`, async () => {
      const t = await makeApp()
      const a = await signup(t, 'alice')
      const old = await make()
      await t.sql('UPDATE users SET hashed_password = ? WHERE id = ?', old, a.id)
      expect((await req(t, 'POST', '/auth/login', { body: { username: 'alice', password: PASSWORD } })).status).toBe(200)
      const { h } = (await t.sql<{ h: string }>('SELECT hashed_password AS h FROM users WHERE id = ?', a.id))[0]!
      expect(h).not.toBe(old)
      expect(h).toStartWith(`$argon2id$v=19$m=${HASH_PARAMS.memoryCost},t=${HASH_PARAMS.timeCost},`)
      expect(await Bun.password.verify(PASSWORD, h)).toBe(true)
    })
  }

  test('a current hash is left alone, and a failed login never rewrites it', async () => {
    const t = await makeApp()
    const a = await signup(t, 'alice')
    const read = async () => (await t.sql<{ h: string }>('SELECT hashed_password AS h FROM users WHERE id = ?', a.id))[0]!.h
    const before = await read()
    await req(t, 'POST', '/auth/login', { body: { username: 'alice', password: PASSWORD } })
    expect(await read()).toBe(before)
    const weak = await Bun.password.hash(PASSWORD, { algorithm: 'argon2id', memoryCost: 8192, timeCost: 1 })
    await t.sql('UPDATE users SET hashed_password = ? WHERE id = ?', weak, a.id)
    expect((await req(t, 'POST', '/auth/login', { body: { username: 'alice', password: 'Wrong1234' } })).status).toBe(401)
    expect(await read()).toBe(weak)
  })
})

describe('access tokens', () => {

  test('only HS256 tokens with exp, iat, sub and a live session of that user are accepted', async () => {
    const t = await makeApp()
    const a = await signup(t, 'alice')
    const b = await signup(t, 'bob')
    const good = (await req(t, 'POST', '/auth/login', { body: { username: 'alice', password: PASSWORD } })).json.access_token as string
    await req(t, 'POST', '/auth/login', { body: { username: 'bob', password: PASSWORD } })
    const sid = ((await t.sql<{ id: string }>('SELECT id FROM sessions WHERE user_id = ?', a.id))[0]!).id
    const bobSid = ((await t.sql<{ id: string }>('SELECT id FROM sessions WHERE user_id = ?', b.id))[0]!).id
    const now = Math.floor(Date.now() / 1000)
    const claims = { sub: String(a.id), ver: 0, sid, iat: now, exp: now + 600 }
    const hs = { alg: 'HS256', typ: 'JWT' }
    const me = (token: string) => req(t, 'GET', '/users/me', { token })

    expect((await me(good)).status).toBe(200)
    expect((await me(forge(hs, claims))).status).toBe(200) // the forge itself is right
    const refused: [string, string][] = [
      ['alg none', forge({ alg: 'none', typ: 'JWT' }, claims, { key: null })],
      ['HS384 with the same secret', forge({ alg: 'HS384', typ: 'JWT' }, claims, { hash: 'sha384' })],
      ['HS512 with the same secret', forge({ alg: 'HS512', typ: 'JWT' }, claims, { hash: 'sha512' })],
      ['another secret', forge(hs, claims, { key: 'x'.repeat(48) })],
      ['no exp', forge(hs, { ...claims, exp: undefined })],
      ['no iat', forge(hs, { ...claims, iat: undefined })],
      ['expired', forge(hs, { ...claims, iat: now - 1000, exp: now - 10 })],
      ['no session id', forge(hs, { ...claims, sid: undefined })],
      ['unknown session id', forge(hs, { ...claims, sid: 'nope' })],
      ["another user's session", forge(hs, { ...claims, sid: bobSid })],
      ['old token version', forge(hs, { ...claims, ver: -1 })],
      ['tampered payload', `${good.split('.')[0]}.${b64url({ ...claims, sub: String(b.id) })}.${good.split('.')[2]}`]
    ]
    for (const [name, token] of refused) {
      const r = await me(token)
      expect({ name, status: r.status }).toEqual({ name, status: 401 })
      expect(r.json).toEqual({ detail: 'Could not validate credentials' })
    }
  })
})
