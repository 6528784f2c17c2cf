// Access-token attacks over HTTP: every forged, altered, expired or revoked token
// gets the same 401. Tokens are built by hand (HMAC over header.payload) so the
// test does not trust the code it checks.
import { describe, expect, setSystemTime, test } from 'bun:test'
import { createTokenService } from '../src/modules/auth/tokens'
import { makeApp, req, SECRET, signup, login, type TestApp } from './helpers'
import { b64url, claimsOf, forgeJwt, HS256, nowSeconds as now } from './jwt'

// The session id of the current world's login: forged payloads carry it unless
// they say otherwise, so each attack differs from a valid token in one way only.
let sid = ''

const forge = (header: object, payload: object, opts?: Parameters<typeof forgeJwt>[2]) => forgeJwt(header, { sid, ...payload }, opts)

async function world(): Promise<{ t: TestApp; id: number; token: string }> {
  const t = await makeApp()
  const u = await signup(t, 'alice')
  const token = await login(t, 'alice')
  sid = claimsOf(token).sid as string
  return { t, id: u.id, token }
}

async function expect401(t: TestApp, token: string, header?: string) {
  const res = await req(t, 'GET', '/users/me', { headers: { authorization: header ?? `Bearer ${token}` } })
  expect(res.status).toBe(401)
  expect(res.json).toEqual({ detail: 'Could not validate credentials' })
  expect(res.headers.get('www-authenticate')).toBe('Bearer')
}

describe('access tokens', () => {
  test('a token forged with the right secret and claims is accepted (the forge works)', async () => {
    const { t, id } = await world()
    const token = forge(HS256, { sub: String(id), ver: 0, iat: now(), exp: now() + 60 })
    const res = await req(t, 'GET', '/users/me', { token })
    expect(res.status).toBe(200)
    expect(res.json.id).toBe(id)
  })

  test('the login token is accepted, also with a lower-case scheme', async () => {
    const { t, token } = await world()
    expect((await req(t, 'GET', '/users/me', { headers: { authorization: `bearer ${token}` } })).status).toBe(200)
  })

  const attacks: { name: string; token: (id: number, real: string) => string; header?: (real: string) => string }[] = [
    { name: 'alg none, no signature', token: (id) => forge({ alg: 'none', typ: 'JWT' }, { sub: String(id), ver: 0, iat: now(), exp: now() + 60 }, { key: null }) },
    { name: 'alg none with a signature', token: (id) => forge({ alg: 'none' }, { sub: String(id), ver: 0, iat: now(), exp: now() + 60 }) },
    { name: 'HS384 with the same secret', token: (id) => forge({ alg: 'HS384' }, { sub: String(id), ver: 0, iat: now(), exp: now() + 60 }, { hash: 'sha384' }) },
    { name: 'HS512 with the same secret', token: (id) => forge({ alg: 'HS512' }, { sub: String(id), ver: 0, iat: now(), exp: now() + 60 }, { hash: 'sha512' }) },
    { name: 'HS256 labelled as hs256', token: (id) => forge({ alg: 'hs256' }, { sub: String(id), ver: 0, iat: now(), exp: now() + 60 }) },
    { name: 'a crit header', token: (id) => forge({ alg: 'HS256', crit: ['x'], x: 1 }, { sub: String(id), ver: 0, iat: now(), exp: now() + 60 }) },
    { name: 'wrong secret', token: (id) => forge(HS256, { sub: String(id), ver: 0, iat: now(), exp: now() + 60 }, { key: 'another-secret-that-is-long-enough-0123456789' }) },
    { name: 'no exp', token: (id) => forge(HS256, { sub: String(id), ver: 0, iat: now() }) },
    { name: 'exp as a string', token: (id) => forge(HS256, { sub: String(id), ver: 0, iat: now(), exp: String(now() + 60) }) },
    { name: 'expired', token: (id) => forge(HS256, { sub: String(id), ver: 0, iat: now() - 120, exp: now() - 60 }) },
    { name: 'no iat', token: (id) => forge(HS256, { sub: String(id), ver: 0, exp: now() + 60 }) },
    { name: 'not yet valid (nbf)', token: (id) => forge(HS256, { sub: String(id), ver: 0, iat: now(), nbf: now() + 600, exp: now() + 900 }) },
    { name: 'no sub', token: () => forge(HS256, { ver: 0, iat: now(), exp: now() + 60 }) },
    { name: 'numeric sub', token: (id) => forge(HS256, { sub: id, ver: 0, iat: now(), exp: now() + 60 }) },
    { name: 'sub with a leading zero', token: (id) => forge(HS256, { sub: `0${id}`, ver: 0, iat: now(), exp: now() + 60 }) },
    { name: 'sub of another, unknown user', token: () => forge(HS256, { sub: '999', ver: 0, iat: now(), exp: now() + 60 }) },
    { name: 'no ver', token: (id) => forge(HS256, { sub: String(id), iat: now(), exp: now() + 60 }) },
    { name: 'an old ver (revoked)', token: (id) => forge(HS256, { sub: String(id), ver: -1, iat: now(), exp: now() + 60 }) },
    { name: 'a payload that is not an object', token: () => forge(HS256, [1, 2] as never) },
    { name: 'a payload that is not JSON', token: () => forgeJwt(HS256, 'not json') },
    { name: 'a header that is not JSON', token: (id) => forgeJwt('{', { sub: String(id), ver: 0, iat: now(), exp: now() + 60 }) },
    { name: 'payload changed after signing', token: (id, real) => { const [h, , s] = real.split('.'); return `${h}.${b64url({ sub: String(id + 1), ver: 0, iat: now(), exp: now() + 3600 })}.${s}` } },
    { name: 'signature changed', token: (_id, real) => real.slice(0, -2) + (real.endsWith('AA') ? 'BB' : 'AA') },
    { name: 'signature cut short', token: (_id, real) => real.slice(0, -5) },
    { name: 'signature missing', token: (_id, real) => real.slice(0, real.lastIndexOf('.') + 1) },
    { name: 'a fourth segment', token: (_id, real) => `${real}.x` },
    { name: 'two segments', token: (_id, real) => real.slice(0, real.lastIndexOf('.')) },
    { name: 'characters outside base64url in the signature', token: (_id, real) => `${real.slice(0, -4)}*${real.slice(-3)}` },
    { name: 'garbage', token: () => 'not-a-token' },
    { name: 'empty token', token: () => '', header: () => 'Bearer ' },
    { name: 'Basic scheme', token: () => '', header: (real) => `Basic ${real}` },
    { name: 'no scheme', token: () => '', header: (real) => real },
    { name: 'a huge header', token: () => '', header: () => `Bearer ${'a'.repeat(5000)}` }
  ]
  for (const a of attacks) {
    test(`401 for ${a.name}`, async () => {
      const { t, id, token } = await world()
      await expect401(t, a.token(id, token), a.header?.(token))
    })
  }

  test('a password change revokes the earlier token at once', async () => {
    const { t, token } = await world()
    const res = await req(t, 'PUT', '/users/me/password', { token, body: { current_password: 'Secret123', new_password: 'Other1234' } })
    expect(res.status).toBe(204)
    await expect401(t, token)
    expect((await req(t, 'GET', '/users/me', { token: await login(t, 'alice', 'Other1234') })).status).toBe(200)
  })

  test('deleting the user makes the token useless', async () => {
    const { t, id, token } = await world()
    expect((await req(t, 'DELETE', `/users/${id}`, { token })).status).toBe(204)
    await expect401(t, token)
  })
})

describe('token service', () => {
  test('a verified token stops working when it expires, although it was seen before', async () => {
    const tokens = createTokenService(SECRET, 30)
    const token = await tokens.sign(7, 3, 's1')
    expect(tokens.verify(token)).toEqual({ userId: 7, version: 3, sessionId: 's1' })
    expect(tokens.verify(token)).toEqual({ userId: 7, version: 3, sessionId: 's1' })
    try {
      setSystemTime(new Date(Date.now() + 31 * 60 * 1000))
      expect(tokens.verify(token)).toBeUndefined()
    } finally {
      setSystemTime()
    }
  })

  test('one changed character is a different token, verified from scratch', async () => {
    const tokens = createTokenService(SECRET, 30)
    const token = await tokens.sign(7, 3, 's1')
    expect(tokens.verify(token)).toBeDefined()
    const i = token.indexOf('.') + 5
    const altered = token.slice(0, i) + (token[i] === 'A' ? 'B' : 'A') + token.slice(i + 1)
    expect(tokens.verify(altered)).toBeUndefined()
  })
})
