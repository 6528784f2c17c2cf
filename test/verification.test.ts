// E-mail verification over HTTP with a real SMTP server: the signup mail's link
// verifies the address once; resends are capped; a changed address is
// unverified again, the new one gets a link and the old one a notice;
// REQUIRE_EMAIL_VERIFICATION keeps unverified accounts out.
import { describe, expect } from 'bun:test'
import { eq } from 'drizzle-orm'
import { hashToken } from '../src/lib/token'
import { MAX_RESENDS_PER_HOUR } from '../src/modules/verification/service'
import { admin, expectNoSecrets, login, makeApp, PASSWORD, req, signup, userBody, type TestApp } from './helpers'
import { auditRows, INVALID_TOKEN, linkToken, mailTo, PUBLIC_URL, test, withMail } from './lifecycle-helpers'
import { until } from './mail-helpers'

const verify = (t: TestApp, token: unknown) => req(t, 'POST', '/auth/verify-email', { body: { token } })
const me = async (t: TestApp, token: string) => (await req(t, 'GET', '/users/me', { token })).json

/** The token of the newest queued verification link for an address, read from the outbox as the recipient would. */
async function queuedToken(t: TestApp, to: string): Promise<string> {
  const { emailOutbox } = t.tables
  const rows = await t.db.select().from(emailOutbox).where(eq(emailOutbox.toAddress, to)).orderBy(emailOutbox.id)
  for (const r of rows.reverse()) {
    const m = /\/verify-email\?token=([A-Za-z0-9_-]+)/.exec(r.textBody)
    if (m) return m[1]!
  }
  throw new Error(`no verification link queued for ${to}`)
}

describe('signup mail and POST /auth/verify-email', () => {
  test('end to end: the one signup mail welcomes and carries the link; the link verifies once', async () => {
    await withMail({}, async (t, smtp) => {
      await signup(t, 'alice')
      const mail = await mailTo(smtp, 'alice@example.com')
      expect(mail.subject).toBe('Welcome to Roster')
      expect(mail.text).toContain('Welcome alice!')
      const token = linkToken(mail, 'verify-email')
      expect(Buffer.from(token, 'base64url').length).toBeGreaterThanOrEqual(32)

      const access = await login(t, 'alice')
      expect((await me(t, access)).email_verified).toBe(false)
      const first = await verify(t, token)
      expect(first.status).toBe(204)
      expect(first.text).toBe('')
      expect((await me(t, access)).email_verified).toBe(true)
      // Single use: the same link again is refused like an unknown one.
      expect(await verify(t, token)).toMatchObject({ status: 400, json: INVALID_TOKEN })

      // One mail per signup, and once sent its body keeps no link.
      // (The row is marked sent just after the SMTP server accepted the mail.)
      const aliceMails = () => t.db.select().from(t.tables.emailOutbox).where(eq(t.tables.emailOutbox.toAddress, 'alice@example.com'))
      await until(async () => (await aliceMails()).every((r) => r.status === 'sent'))
      const rows = await aliceMails()
      expect(rows).toHaveLength(1)
      expect(rows[0]).toMatchObject({ status: 'sent', textBody: '', htmlBody: '' })
      const events = (await auditRows(t)).filter((e) => e.type === 'email.verified')
      expect(events).toHaveLength(1)
      expect(events[0]).toMatchObject({ targetId: (await me(t, access)).id, actorId: null })
      expect(JSON.parse(events[0]!.details)).toEqual({ email: 'alice@example.com' })
    })
  })

  test('the token is stored only as its hash, valid 48 hours, bound to the address it was sent to', async () => {
    const t = await makeApp({ PUBLIC_URL })
    const u = await signup(t, 'alice')
    const token = await queuedToken(t, 'alice@example.com')
    const rows = (await t.db.select().from(t.tables.emailVerificationTokens))
    expect(rows).toHaveLength(1)
    expect(rows[0]).toMatchObject({ userId: u.id, email: 'alice@example.com', tokenHash: hashToken(token), usedAt: null })
    expect(rows[0]!.expiresAt - rows[0]!.createdAt).toBe(48 * 3_600_000)
    expect(JSON.stringify(rows)).not.toContain(token)
  })

  const refusals: [string, (t: TestApp, token: string) => Promise<unknown>][] = [
    ['unknown token', async () => 'x'.repeat(43)],
    ['expired token (expiry moved into the past in the database)', async (t, token) => {
      await t.db.update(t.tables.emailVerificationTokens).set({ expiresAt: Date.now() - 1 })
      return token
    }],
    ['spent token', async (t, token) => {
      await t.db.update(t.tables.emailVerificationTokens).set({ usedAt: Date.now() })
      return token
    }],
    ['a token one character off', async (_t, token) => token.slice(0, -1) + (token.endsWith('A') ? 'B' : 'A')]
  ]
  for (const [name, make] of refusals) {
    test(`${name}: the same 400, and nothing verified`, async () => {
      const t = await makeApp({ PUBLIC_URL })
      await signup(t, 'alice')
      const token = await make(t, await queuedToken(t, 'alice@example.com'))
      const res = await verify(t, token)
      expect(res.status).toBe(400)
      expect(res.json).toEqual(INVALID_TOKEN)
      expect((await me(t, await login(t, 'alice'))).email_verified).toBe(false)
      expect((await auditRows(t)).some((e) => e.type === 'email.verified')).toBe(false)
    })
  }

  const invalid: [string, unknown][] = [
    ['no token', {}],
    ['empty token', { token: '' }],
    ['a number', { token: 12 }],
    ['an overlong token', { token: 'a'.repeat(257) }]
  ]
  for (const [name, body] of invalid) {
    test(`${name}: 422 naming body.token`, async () => {
      const t = await makeApp()
      const res = await req(t, 'POST', '/auth/verify-email', { body })
      expect(res.status).toBe(422)
      expect(res.json.detail[0].field).toBe('body.token')
    })
  }

  test('20 parallel submits of one token: exactly one succeeds', async () => {
    const t = await makeApp({ PUBLIC_URL })
    await signup(t, 'alice')
    const token = await queuedToken(t, 'alice@example.com')
    const results = await Promise.all(Array.from({ length: 20 }, () => verify(t, token)))
    expect(results.filter((r) => r.status === 204)).toHaveLength(1)
    expect(results.filter((r) => r.status === 400)).toHaveLength(19)
    expect((await auditRows(t)).filter((e) => e.type === 'email.verified')).toHaveLength(1)
  })

  test('admins may create verified accounts; anyone else asking for it is ignored', async () => {
    const t = await makeApp()
    const root = await admin(t)
    expect((await me(t, root.token)).email_verified).toBe(true)
    const byAdmin = await req(t, 'POST', '/users', { token: root.token, body: userBody('carol', { email_verified: true }) })
    expect(byAdmin.status).toBe(201)
    expect(byAdmin.json.email_verified).toBe(true)
    const self = await req(t, 'POST', '/users', { body: userBody('mallory', { email_verified: true }) })
    expect(self.status).toBe(201)
    expect(self.json.email_verified).toBe(false)
    // A verified account's welcome mail holds no link.
    const carolMail = (await t.db.select().from(t.tables.emailOutbox).where(eq(t.tables.emailOutbox.toAddress, 'carol@example.com')))[0]!
    expect(carolMail.textBody).not.toContain('verify-email')
    expect(carolMail.hasLink).toBe(false)
  })
})

describe('POST /auth/verify-email/resend', () => {
  test('unauthenticated: 401', async () => {
    const t = await makeApp()
    const res = await req(t, 'POST', '/auth/verify-email/resend')
    expect(res.status).toBe(401)
    expect(res.json).toEqual({ detail: 'Could not validate credentials' })
  })

  test(`end to end: a new link by mail; ${MAX_RESENDS_PER_HOUR} per hour, then 429 with Retry-After; an hour later again`, async () => {
    await withMail({}, async (t, smtp) => {
      await signup(t, 'alice')
      await mailTo(smtp, 'alice@example.com', 'Welcome to Roster')
      const access = await login(t, 'alice')
      for (let i = 0; i < MAX_RESENDS_PER_HOUR; i++) {
        const r = await req(t, 'POST', '/auth/verify-email/resend', { token: access })
        expect(r.status).toBe(202)
        expect(r.json).toEqual({ message: 'Unless the address is already verified, a new link is on its way' })
      }
      const over = await req(t, 'POST', '/auth/verify-email/resend', { token: access })
      expect(over.status).toBe(429)
      expect(over.json).toEqual({ detail: 'Too many verification e-mails' })
      expect(Number(over.headers.get('retry-after'))).toBeGreaterThan(3500)
      const count = async () => (await t.db.select().from(t.tables.emailOutbox).where(eq(t.tables.emailOutbox.kind, 'verify_email'))).length
      expect(await count()).toBe(MAX_RESENDS_PER_HOUR)

      // The last link works; it spends the earlier ones with it.
      const mails = []
      for (let i = 0; i < MAX_RESENDS_PER_HOUR; i++) mails.push(await mailTo(smtp, 'alice@example.com', 'Confirm your e-mail address for Roster'))
      const tokens = mails.map((m) => linkToken(m, 'verify-email'))
      expect(new Set(tokens).size).toBe(MAX_RESENDS_PER_HOUR)
      expect((await verify(t, tokens[2])).status).toBe(204)
      expect((await verify(t, tokens[0])).status).toBe(400)

      // Verified: 202 and no mail.
      await t.db.update(t.tables.emailVerificationTokens).set({ createdAt: Date.now() - 3_600_001 })
      expect((await req(t, 'POST', '/auth/verify-email/resend', { token: access })).status).toBe(202)
      expect(await count()).toBe(MAX_RESENDS_PER_HOUR)
    })
  })

  test('parallel resends cannot pass the cap', async () => {
    const t = await makeApp()
    await signup(t, 'alice')
    const access = await login(t, 'alice')
    const results = await Promise.all(Array.from({ length: 10 }, () => req(t, 'POST', '/auth/verify-email/resend', { token: access })))
    expect(results.filter((r) => r.status === 202)).toHaveLength(MAX_RESENDS_PER_HOUR)
    expect(results.filter((r) => r.status === 429)).toHaveLength(10 - MAX_RESENDS_PER_HOUR)
  })
})

describe('changing the e-mail address', () => {
  test('end to end: unverified again; the new address gets a link, the old one a notice without one', async () => {
    await withMail({}, async (t, smtp) => {
      const u = await signup(t, 'alice')
      const signupToken = linkToken(await mailTo(smtp, 'alice@example.com', 'Welcome to Roster'), 'verify-email')
      const access = await login(t, 'alice')
      expect((await verify(t, signupToken)).status).toBe(204)

      const patched = await req(t, 'PATCH', `/users/${u.id}`, { token: access, body: { email: 'Alice.New@Example.com' } })
      expect(patched.status).toBe(200)
      expect(patched.json).toMatchObject({ email: 'alice.new@example.com', email_verified: false })

      const notice = await mailTo(smtp, 'alice@example.com', 'Your Roster e-mail address was changed')
      expect(notice.text).toContain('alice.new@example.com')
      expect(notice.text).not.toContain('token=')
      expect(String(notice.html)).not.toContain('token=')
      const link = await mailTo(smtp, 'alice.new@example.com', 'Confirm your e-mail address for Roster')
      const token = linkToken(link, 'verify-email')
      expect((await verify(t, token)).status).toBe(204)
      expect((await me(t, access)).email_verified).toBe(true)
      const updated = (await auditRows(t)).filter((e) => e.type === 'user.updated')
      expect(JSON.parse(updated[updated.length - 1]!.details)).toEqual({ fields: ['email'] })
    })
  })

  test('a link sent to the old address verifies nothing once the address changed', async () => {
    const t = await makeApp({ PUBLIC_URL })
    const u = await signup(t, 'alice')
    const old = await queuedToken(t, 'alice@example.com')
    const access = await login(t, 'alice')
    expect((await req(t, 'PATCH', `/users/${u.id}`, { token: access, body: { email: 'new@example.com' } })).status).toBe(200)
    expect(await verify(t, old)).toMatchObject({ status: 400, json: INVALID_TOKEN })
    expect((await me(t, access)).email_verified).toBe(false)
  })

  test('an admin changing it has the same effect; the same address again changes nothing', async () => {
    const t = await makeApp({ PUBLIC_URL })
    const root = await admin(t)
    const u = await signup(t, 'alice')
    expect((await verify(t, await queuedToken(t, 'alice@example.com'))).status).toBe(204)
    const same = await req(t, 'PATCH', `/users/${u.id}`, { token: root.token, body: { email: 'ALICE@example.com' } })
    expect(same.json.email_verified).toBe(true)
    const changed = await req(t, 'PUT', `/users/${u.id}`, { token: root.token, body: userBody('alice', { email: 'a2@example.com' }) })
    expect(changed.json.email_verified).toBe(false)
    expect((await t.db.select().from(t.tables.emailOutbox).where(eq(t.tables.emailOutbox.kind, 'email_changed'))).map((r) => r.toAddress)).toEqual(['alice@example.com'])
    expect(await queuedToken(t, 'a2@example.com')).toBeTruthy()
  })

  test('a refused change (address taken) sends nothing and keeps the state', async () => {
    const t = await makeApp({ PUBLIC_URL })
    const u = await signup(t, 'alice')
    await signup(t, 'bob')
    const access = await login(t, 'alice')
    const before = (await t.db.select().from(t.tables.emailOutbox)).length
    const res = await req(t, 'PATCH', `/users/${u.id}`, { token: access, body: { email: 'bob@example.com' } })
    expect(res).toMatchObject({ status: 400, json: { detail: 'Email already registered' } })
    expect((await t.db.select().from(t.tables.emailOutbox)).length).toBe(before)
  })
})

describe('REQUIRE_EMAIL_VERIFICATION', () => {
  test('a correct password for an unverified account: 403, no session, a fresh link; verified: 200', async () => {
    await withMail({ REQUIRE_EMAIL_VERIFICATION: 'true' }, async (t, smtp) => {
      await signup(t, 'alice')
      await mailTo(smtp, 'alice@example.com', 'Welcome to Roster')
      const refused = await req(t, 'POST', '/auth/login', { body: { username: 'alice', password: PASSWORD } })
      expect(refused.status).toBe(403)
      expect(refused.json).toEqual({ detail: 'Email not verified' })
      expect((await t.db.select().from(t.tables.sessions))).toHaveLength(0)
      // A wrong password still says nothing about verification.
      const wrong = await req(t, 'POST', '/auth/login', { body: { username: 'alice', password: 'Wrong1234' } })
      expect(wrong.status).toBe(401)
      expect(wrong.json).toEqual({ detail: 'Incorrect username or password' })

      const token = linkToken(await mailTo(smtp, 'alice@example.com', 'Confirm your e-mail address for Roster'), 'verify-email')
      expect((await verify(t, token)).status).toBe(204)
      expect((await req(t, 'POST', '/auth/login', { body: { username: 'alice', password: PASSWORD } })).status).toBe(200)
      const failed = (await auditRows(t)).filter((e) => e.type === 'login.failed').map((e) => JSON.parse(e.details).reason)
      expect(failed).toEqual(['email_not_verified', 'bad_password'])
    })
  })

  test('off by default: unverified accounts log in', async () => {
    const t = await makeApp()
    await signup(t, 'alice')
    await login(t, 'alice')
  })
})

test('no token appears in any response, log line or audit event', async () => {
  const t = await makeApp({ PUBLIC_URL })
  const u = await signup(t, 'alice')
  const token = await queuedToken(t, 'alice@example.com')
  const access = await login(t, 'alice')
  const texts = [
    (await verify(t, token)).text,
    (await verify(t, token)).text,
    (await req(t, 'PATCH', `/users/${u.id}`, { token: access, body: { email: 'n@example.com' } })).text,
    (await req(t, 'POST', '/auth/verify-email/resend', { token: access })).text
  ]
  const all = [...texts, ...t.logs, JSON.stringify(await auditRows(t))].join('\n')
  expect(all).not.toContain(token)
  expect(all).not.toContain(await queuedToken(t, 'n@example.com'))
  expect(all).not.toContain(hashToken(token))
  expectNoSecrets(all)
})
