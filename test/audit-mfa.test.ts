// The second factor's and the personal access tokens' events, recorded by
// their features in the transaction of the change: mfa.enabled, mfa.failed
// (the attempt, never the code), mfa.disabled (by the user or an admin),
// token.created and token.revoked (never the token).
import { expect } from 'bun:test'
import { Secret, TOTP } from 'otpauth'
import { admin, expectNoSecrets, makeApp, PASSWORD, req, signup } from './helpers'
import { auditRows, test } from './lifecycle-helpers'

const T0 = Date.UTC(2031, 0, 1, 0, 0, 10)
const STEP = 30_000
const codeAt = (secret: string, at: number) => TOTP.generate({ secret: Secret.fromBase32(secret), timestamp: at })
const from = { 'x-forwarded-for': '203.0.113.9', 'user-agent': 'mfa-test/1.0' }

test('TOTP on, a wrong code at login, off by the user, on again and reset by an admin', async () => {
  const clock = { t: T0 }
  const t = await makeApp({ TRUST_PROXY: 'true' }, { now: () => clock.t })
  const root = await admin(t)
  const alice = await signup(t, 'alice')
  const token = (await req(t, 'POST', '/auth/login', { body: { username: 'alice', password: PASSWORD } })).json.access_token
  const secret = (await req(t, 'POST', '/auth/mfa/totp/setup', { token, body: { password: PASSWORD } })).json.secret as string
  const enableCode = codeAt(secret, clock.t)
  expect((await req(t, 'POST', '/auth/mfa/totp/enable', { token, headers: from, body: { code: enableCode } })).status).toBe(200)
  clock.t += STEP

  const mfaToken = (await req(t, 'POST', '/auth/login', { body: { username: 'alice', password: PASSWORD } })).json.mfa_token as string
  const wrong = codeAt(secret, clock.t + 10 * STEP)
  expect((await req(t, 'POST', '/auth/mfa/verify', { headers: from, body: { mfa_token: mfaToken, code: wrong } })).status).toBe(401)
  const disableCode = codeAt(secret, clock.t)
  expect((await req(t, 'POST', '/auth/mfa/totp/disable', { token, headers: from, body: { password: PASSWORD, code: disableCode } })).status).toBe(204)

  const secret2 = (await req(t, 'POST', '/auth/mfa/totp/setup', { token, body: { password: PASSWORD } })).json.secret as string
  clock.t += STEP
  expect((await req(t, 'POST', '/auth/mfa/totp/enable', { token, body: { code: codeAt(secret2, clock.t) } })).status).toBe(200)
  expect((await req(t, 'DELETE', `/users/${alice.id}/mfa`, { token: root.token, headers: from })).status).toBe(204)

  const rows = (await auditRows(t)).filter((r) => r.type.startsWith('mfa.'))
  expect(rows.map((r) => [r.type, r.actorId, r.targetId, JSON.parse(r.details)])).toEqual([
    ['mfa.enabled', alice.id, alice.id, {}],
    ['mfa.failed', null, alice.id, { failures: 1 }],
    ['mfa.disabled', alice.id, alice.id, { by: 'self', factor: 'totp' }],
    ['mfa.enabled', alice.id, alice.id, {}],
    ['mfa.disabled', root.id, alice.id, { by: 'admin' }]
  ])
  expect(rows[1]).toMatchObject({ ip: '203.0.113.9', userAgent: 'mfa-test/1.0' })
  expectNoSecrets(JSON.stringify(await auditRows(t)), [secret, secret2, enableCode, wrong, disableCode, mfaToken])
})

test('a personal access token created and revoked: its id, name and scopes, never the token', async () => {
  const t = await makeApp({ TRUST_PROXY: 'true' })
  const alice = await signup(t, 'alice')
  const token = (await req(t, 'POST', '/auth/login', { body: { username: 'alice', password: PASSWORD } })).json.access_token
  const made = await req(t, 'POST', '/auth/tokens', { token, headers: from, body: { name: 'ci', scopes: ['users:read', 'files:read'] } })
  expect(made.status).toBe(201)
  expect((await req(t, 'DELETE', `/auth/tokens/${made.json.id}`, { token, headers: from })).status).toBe(204)
  const rows = (await auditRows(t)).filter((r) => r.type.startsWith('token.'))
  expect(rows.map((r) => [r.type, r.actorId, r.targetId, JSON.parse(r.details)])).toEqual([
    ['token.created', alice.id, alice.id, { token_id: made.json.id, name: 'ci', scopes: ['users:read', 'files:read'] }],
    ['token.revoked', alice.id, alice.id, { token_id: made.json.id, name: 'ci' }]
  ])
  expectNoSecrets(JSON.stringify(await auditRows(t)), [made.json.token, made.json.token.slice(4)])
})

test('a credential change revokes every token, each with its own event', async () => {
  const t = await makeApp()
  const alice = await signup(t, 'alice')
  const token = (await req(t, 'POST', '/auth/login', { body: { username: 'alice', password: PASSWORD } })).json.access_token
  const a = await req(t, 'POST', '/auth/tokens', { token, body: { name: 'a', scopes: ['users:read'] } })
  const b = await req(t, 'POST', '/auth/tokens', { token, body: { name: 'b', scopes: ['files:read'] } })
  expect((await req(t, 'PUT', '/users/me/password', { token, body: { current_password: PASSWORD, new_password: 'Other9Pass' } })).status).toBe(204)
  const rows = (await auditRows(t)).filter((r) => r.type === 'token.revoked' || r.type === 'password.changed')
  expect(rows.map((r) => [r.type, r.targetId, JSON.parse(r.details)])).toEqual([
    ['token.revoked', alice.id, { token_id: a.json.id, name: 'a', reason: 'credentials_revoked' }],
    ['token.revoked', alice.id, { token_id: b.json.id, name: 'b', reason: 'credentials_revoked' }],
    ['password.changed', alice.id, {}]
  ])
  expectNoSecrets(JSON.stringify(await auditRows(t)), [a.json.token.slice(4), b.json.token.slice(4)])
})
