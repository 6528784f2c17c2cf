// Login and access-token handling over HTTP, including forged and stale tokens.
import { describe, expect, test } from 'bun:test'
import { HASH_PARAMS } from '../src/lib/password'
import { b64url, claimsOf, forgeJwt as forge, HS256, nowSeconds as now } from './jwt'
import { expectNoSecrets, login, makeApp, PASSWORD, req, SECRET, settledLogs, userWithToken } from './helpers'

/** The session id inside a real access token, so forged tokens differ only where intended. */
const sidOf = (token: string) => claimsOf(token).sid as string
const UNAUTH = { detail: 'Could not validate credentials' }

describe('POST /auth/login', () => {
  test('JSON login returns the contract shape and a working HS256 token', async () => {
    const t = await makeApp()
    const u = await userWithToken(t, 'alice')
    const r = await req(t, 'POST', '/auth/login', { body: { username: 'alice', password: PASSWORD } })
    expect(r.status).toBe(200)
    expect(Object.keys(r.json).sort()).toEqual(['access_token', 'expires_in', 'refresh_token', 'token_type'])
    expect(r.json.token_type).toBe('bearer')
    expect(r.json.expires_in).toBe(30 * 60)
    expect(r.headers.get('cache-control')).toBe('no-store')
    const [h, p] = (r.json.access_token as string).split('.')
    expect(JSON.parse(Buffer.from(h!, 'base64url').toString())).toMatchObject({ alg: 'HS256' })
    const claims = JSON.parse(Buffer.from(p!, 'base64url').toString())
    expect(claims.sub).toBe(String(u.id))
    expect(claims.exp - claims.iat).toBe(30 * 60)
    expect(r.json.refresh_token.length).toBeGreaterThanOrEqual(43)
  })

  test('OAuth2 password form and login by e-mail (any case)', async () => {
    const t = await makeApp()
    await userWithToken(t, 'alice')
    const form = await req(t, 'POST', '/auth/login', { form: { username: 'alice', password: PASSWORD, grant_type: 'password' } })
    expect(form.status).toBe(200)
    const byEmail = await req(t, 'POST', '/auth/login', { body: { username: 'ALICE@example.com', password: PASSWORD } })
    expect(byEmail.status).toBe(200)
  })

  test('wrong password and unknown user get the same 401 body and header', async () => {
    const t = await makeApp()
    await userWithToken(t, 'alice')
    const wrong = await req(t, 'POST', '/auth/login', { body: { username: 'alice', password: 'Wrong12345' } })
    const unknown = await req(t, 'POST', '/auth/login', { body: { username: 'nobody', password: 'Wrong12345' } })
    for (const r of [wrong, unknown]) {
      expect(r.status).toBe(401)
      expect(r.json).toEqual({ detail: 'Incorrect username or password' })
      expect(r.headers.get('www-authenticate')).toBe('Bearer')
    }
    expect(wrong.text).toBe(unknown.text)
  })

  test('a password in the query string is never read', async () => {
    const t = await makeApp()
    await userWithToken(t, 'alice')
    const r = await req(t, 'POST', `/auth/login?username=alice&password=${PASSWORD}`)
    expect(r.status).toBe(422)
    expect(r.text).not.toContain(PASSWORD)
  })

  test('missing fields are 422 in the contract shape', async () => {
    const t = await makeApp()
    const r = await req(t, 'POST', '/auth/login', { body: { username: 'alice' } })
    expect(r.status).toBe(422)
    expect(r.json.detail).toEqual([{ field: 'body.password', message: 'Field required', type: 'missing' }])
  })

  test('the admin from ADMIN_* is created once and can log in', async () => {
    const t = await makeApp()
    const users = t.services.users
    const a = { username: 'boss', email: 'Boss@Example.com', password: 'Admin1234' }
    expect(await users.ensureAdmin(a)).toBe('created')
    expect(await users.ensureAdmin(a)).toBe('exists')
    const token = await login(t, 'boss', 'Admin1234')
    const me = await req(t, 'GET', '/users/me', { token })
    expect(me.json.role).toBe('admin')
  })

  test('a hash made with weaker parameters is upgraded at login', async () => {
    const t = await makeApp()
    const u = await userWithToken(t, 'alice')
    const weak = await Bun.password.hash(PASSWORD, { algorithm: 'argon2id', memoryCost: 4096, timeCost: 1 })
    await t.sql('UPDATE users SET hashed_password = ? WHERE id = ?', weak, u.id)
    await login(t, 'alice')
    const row = (await t.sql<{ h: string }>('SELECT hashed_password AS h FROM users WHERE id = ?', u.id))[0]!
    expect(row.h).not.toBe(weak)
    expect(row.h).toContain(`m=${HASH_PARAMS.memoryCost},t=${HASH_PARAMS.timeCost}`)
    await login(t, 'alice')
  })
})

describe('access tokens', () => {
  const attacks: { name: string; token: (id: number, sid: string) => string }[] = [
    { name: 'garbage', token: () => 'not-a-jwt' },
    { name: 'expired', token: (id, sid) => forge(HS256, { sub: String(id), sid, ver: 0, iat: now() - 7200, exp: now() - 3600 }) },
    {
      name: 'tampered payload (sub changed after signing)',
      token: (id, sid) => {
        const good = forge(HS256, { sub: String(id), sid, ver: 0, iat: now(), exp: now() + 600 })
        const [h, , s] = good.split('.')
        return `${h}.${b64url({ sub: String(id + 1), sid, ver: 0, iat: now(), exp: now() + 600 })}.${s}`
      }
    },
    { name: 'signed with another key', token: (id, sid) => forge(HS256, { sub: String(id), sid, ver: 0, iat: now(), exp: now() + 600 }, { key: 'another-secret-that-is-long-enough-000000' }) },
    { name: 'alg none', token: (id, sid) => forge({ alg: 'none', typ: 'JWT' }, { sub: String(id), sid, ver: 0, iat: now(), exp: now() + 600 }, { key: null }) },
    { name: 'HS512 with the same key', token: (id, sid) => forge({ alg: 'HS512', typ: 'JWT' }, { sub: String(id), sid, ver: 0, iat: now(), exp: now() + 600 }, { hash: 'sha512' }) },
    { name: 'HS384 with the same key', token: (id, sid) => forge({ alg: 'HS384', typ: 'JWT' }, { sub: String(id), sid, ver: 0, iat: now(), exp: now() + 600 }, { hash: 'sha384' }) },
    { name: 'no exp', token: (id, sid) => forge(HS256, { sub: String(id), sid, ver: 0, iat: now() }) },
    { name: 'no sub', token: (_id, sid) => forge(HS256, { sid, ver: 0, iat: now(), exp: now() + 600 }) },
    { name: 'sub not a user id', token: (_id, sid) => forge(HS256, { sub: 'alice', sid, ver: 0, iat: now(), exp: now() + 600 }) },
    { name: 'stale token version', token: (id, sid) => forge(HS256, { sub: String(id), sid, ver: -1, iat: now(), exp: now() + 600 }) },
    { name: 'unknown user', token: (_id, sid) => forge(HS256, { sub: '424242', sid, ver: 0, iat: now(), exp: now() + 600 }) }
  ]

  test('a correctly forged token works (the forging helper is sound)', async () => {
    const t = await makeApp()
    const u = await userWithToken(t, 'alice')
    const sid = sidOf(u.token)
    const r = await req(t, 'GET', '/users/me', { token: forge(HS256, { sub: String(u.id), sid, ver: 0, iat: now(), exp: now() + 600 }) })
    expect(r.status).toBe(200)
  })

  for (const a of attacks) {
    test(`rejects ${a.name}`, async () => {
      const t = await makeApp()
      const u = await userWithToken(t, 'alice')
      const r = await req(t, 'GET', '/users/me', { token: a.token(u.id, sidOf(u.token)) })
      expect(r.status).toBe(401)
      expect(r.json).toEqual(UNAUTH)
      expect(r.headers.get('www-authenticate')).toBe('Bearer')
    })
  }

  test('missing header, wrong scheme and empty bearer are 401', async () => {
    const t = await makeApp()
    const u = await userWithToken(t, 'alice')
    for (const headers of [{} as Record<string, string>, { authorization: `Basic ${u.token}` }, { authorization: 'Bearer ' }, { authorization: u.token }]) {
      const r = await req(t, 'GET', '/users/me', { headers })
      expect(r.status).toBe(401)
      expect(r.json).toEqual(UNAUTH)
    }
  })

  test('deleted user: the token dies with the row', async () => {
    const t = await makeApp()
    const u = await userWithToken(t, 'alice')
    expect((await req(t, 'DELETE', `/users/${u.id}`, { token: u.token })).status).toBe(204)
    expect((await req(t, 'GET', '/users/me', { token: u.token })).status).toBe(401)
  })

  test('every token issued before a password change is rejected', async () => {
    const t = await makeApp()
    const u = await userWithToken(t, 'alice')
    const second = await login(t, 'alice')
    await req(t, 'PUT', '/users/me/password', { token: u.token, body: { current_password: PASSWORD, new_password: 'Changed123' } })
    for (const token of [u.token, second]) expect((await req(t, 'GET', '/users/me', { token })).status).toBe(401)
  })

  test('no token, hash or password appears in any log line', async () => {
    const t = await makeApp()
    const u = await userWithToken(t, 'alice')
    await req(t, 'GET', '/users/me', { token: u.token })
    await req(t, 'POST', '/auth/login', { body: { username: 'alice', password: 'Wrong12345' } })
    const logs = await settledLogs(t)
    expect(logs.length).toBe(4)
    for (const line of logs) expectNoSecrets(line, [u.token, 'Wrong12345'])
  })
})
