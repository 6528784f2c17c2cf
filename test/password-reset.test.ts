// Password reset over HTTP: no enumeration, per-address cap, single-use one-hour
// tokens stored as hashes, every earlier token and session revoked, and the whole
// flow end to end through the worker and a real SMTP server.
import { describe, expect, test } from 'bun:test'
import { eq } from 'drizzle-orm'
import { createApp } from '../src/app'
import { createServices } from '../src/services'
import { createLogger } from '../src/lib/log'
import { mailWorkerConfig, startMailWorker } from '../src/mail/mailer'
import { hashToken } from '../src/lib/token'
import { MAX_RESETS_PER_HOUR } from '../src/modules/password-reset/service'
import { expectNoSecrets, login, makeApp, PASSWORD, req, SECRET, signup, userWithToken, type TestApp } from './helpers'
import { startSmtp } from './mail-helpers'

const PUBLIC_URL = 'https://roster.example'
const ACCEPTED = { message: 'If that address belongs to an account, a reset link is on its way' }
const NEW_PASSWORD = 'Brand9New'
const INVALID = { detail: 'Invalid or expired token' }

const app = () => makeApp({ PUBLIC_URL })

async function requestReset(t: TestApp, email: string) {
  const res = await req(t, 'POST', '/auth/password-reset', { body: { email } })
  await t.services.resets.settled()
  return res
}

function resetMails(t: TestApp) {
  const { emailOutbox } = t.tables
  return t.db.select().from(emailOutbox).where(eq(emailOutbox.kind, 'password_reset'))
}

const LINK = /https:\/\/roster\.example\/reset-password\?token=([A-Za-z0-9_-]+)/

/** The token of the latest reset mail, read from its queued body as the recipient would. */
async function latestToken(t: TestApp): Promise<string> {
  const mails = await resetMails(t)
  const m = LINK.exec(mails[mails.length - 1]!.textBody)
  if (!m) throw new Error('no reset link in the mail')
  return m[1]!
}

const confirm = (t: TestApp, token: string, new_password = NEW_PASSWORD) =>
  req(t, 'POST', '/auth/password-reset/confirm', { body: { token, new_password } })

describe('POST /auth/password-reset', () => {
  test('a known and an unknown address get the same 202 and body; only the known one gets a mail', async () => {
    const t = await app()
    await signup(t, 'alice')
    const known = await requestReset(t, 'ALICE@example.com')
    const unknown = await requestReset(t, 'nobody@example.com')
    expect(known.status).toBe(202)
    expect(unknown.status).toBe(202)
    expect(known.json).toEqual(ACCEPTED)
    expect(unknown.text).toBe(known.text)
    const mails = await resetMails(t)
    expect(mails).toHaveLength(1)
    expect(mails[0]).toMatchObject({ toAddress: 'alice@example.com', status: 'queued', subject: 'Reset your Roster password' })
    expect(mails[0]!.textBody).toMatch(LINK)
    expect(mails[0]!.htmlBody).toMatch(LINK)
    for (const line of t.logs) expect(line).not.toContain(await latestToken(t))
  })

  test('the token is stored only as its hash, valid one hour', async () => {
    const t = await app()
    await signup(t, 'alice')
    await requestReset(t, 'alice@example.com')
    const token = await latestToken(t)
    const rows = await t.db.select().from(t.tables.passwordResetTokens)
    expect(rows).toHaveLength(1)
    expect(rows[0]!.tokenHash).toBe(hashToken(token))
    expect(rows[0]!.tokenHash).not.toContain(token)
    expect(rows[0]!.expiresAt - rows[0]!.createdAt).toBe(3_600_000)
  })

  test(`at most ${MAX_RESETS_PER_HOUR} reset mails per address per hour, still 202`, async () => {
    const t = await app()
    await signup(t, 'alice')
    for (let i = 0; i < MAX_RESETS_PER_HOUR + 2; i++) expect((await requestReset(t, 'alice@example.com')).status).toBe(202)
    expect(await resetMails(t)).toHaveLength(MAX_RESETS_PER_HOUR)
    // An hour later the address may ask again.
    await t.db.update(t.tables.passwordResetTokens).set({ createdAt: Date.now() - 3_600_001 })
    await requestReset(t, 'alice@example.com')
    expect(await resetMails(t)).toHaveLength(MAX_RESETS_PER_HOUR + 1)
  })

  test('a deactivated user gets no mail (and the same 202)', async () => {
    const t = await app()
    const u = await signup(t, 'alice')
    await t.db.update(t.tables.users).set({ isActive: false }).where(eq(t.tables.users.id, u.id))
    const res = await requestReset(t, 'alice@example.com')
    expect(res.status).toBe(202)
    expect(await resetMails(t)).toHaveLength(0)
  })

  for (const [name, body, field] of [
    ['a malformed address', { email: 'not-an-email' }, 'body.email'],
    ['a missing address', {}, 'body.email'],
    ['an address that is not a string', { email: 42 }, 'body.email']
  ] as const) {
    test(`422 for ${name}, value not echoed`, async () => {
      const t = await app()
      const r = await req(t, 'POST', '/auth/password-reset', { body })
      expect(r.status).toBe(422)
      expect(r.json.detail.map((d: { field: string }) => d.field)).toEqual([field])
      expect(r.text).not.toContain('not-an-email')
    })
  }
})

describe('POST /auth/password-reset/confirm', () => {
  test('sets the password; the old password and every earlier access token stop working', async () => {
    const t = await app()
    const alice = await userWithToken(t, 'alice')
    await requestReset(t, 'alice@example.com')
    const res = await confirm(t, await latestToken(t))
    expect(res.status).toBe(204)
    expect(res.text).toBe('')
    expect((await req(t, 'GET', '/users/me', { token: alice.token })).status).toBe(401)
    expect((await req(t, 'POST', '/auth/login', { body: { username: 'alice', password: PASSWORD } })).status).toBe(401)
    const fresh = await login(t, 'alice', NEW_PASSWORD)
    expect((await req(t, 'GET', '/users/me', { token: fresh })).json.username).toBe('alice')
    for (const line of t.logs) expectNoSecrets(line, [NEW_PASSWORD])
  })

  test('a token works once', async () => {
    const t = await app()
    await signup(t, 'alice')
    await requestReset(t, 'alice@example.com')
    const token = await latestToken(t)
    expect((await confirm(t, token)).status).toBe(204)
    const again = await confirm(t, token, 'Another9Pass')
    expect(again.status).toBe(400)
    expect(again.json).toEqual(INVALID)
    await login(t, 'alice', NEW_PASSWORD)
  })

  test('using one token invalidates every earlier token of the user', async () => {
    const t = await app()
    await signup(t, 'alice')
    await requestReset(t, 'alice@example.com')
    const first = await latestToken(t)
    await requestReset(t, 'alice@example.com')
    const second = await latestToken(t)
    expect(second).not.toBe(first)
    expect((await confirm(t, second)).status).toBe(204)
    expect(await confirm(t, first, 'Another9Pass')).toMatchObject({ status: 400, json: INVALID })
  })

  test('an expired token is refused', async () => {
    const t = await app()
    await signup(t, 'alice')
    await requestReset(t, 'alice@example.com')
    const token = await latestToken(t)
    await t.db.update(t.tables.passwordResetTokens).set({ expiresAt: Date.now() - 1 })
    expect(await confirm(t, token)).toMatchObject({ status: 400, json: INVALID })
    await login(t, 'alice')
  })

  test('a password change through the account kills outstanding reset links', async () => {
    const t = await app()
    const alice = await userWithToken(t, 'alice')
    await requestReset(t, 'alice@example.com')
    const token = await latestToken(t)
    const change = await req(t, 'PUT', '/users/me/password', { token: alice.token, body: { current_password: PASSWORD, new_password: 'Changed9Pass' } })
    expect(change.status).toBe(204)
    expect(await confirm(t, token)).toMatchObject({ status: 400, json: INVALID })
  })

  test('password rules apply, and a refused password does not spend the token', async () => {
    const t = await app()
    await signup(t, 'alice')
    await requestReset(t, 'alice@example.com')
    const token = await latestToken(t)
    const weak = await confirm(t, token, 'weakpass')
    expect(weak.status).toBe(422)
    expect(weak.json.detail.map((d: { field: string }) => d.field)).toEqual(['body.new_password'])
    expect(weak.text).not.toContain('weakpass')
    expect((await confirm(t, token)).status).toBe(204)
  })

  for (const [name, body, status] of [
    ['unknown token', { token: 'x'.repeat(43), new_password: NEW_PASSWORD }, 400],
    ['empty token', { token: '', new_password: NEW_PASSWORD }, 422],
    ['missing fields', {}, 422],
    ['token not a string', { token: 5, new_password: NEW_PASSWORD }, 422]
  ] as const) {
    test(`${name}: ${status}`, async () => {
      const t = await app()
      const r = await req(t, 'POST', '/auth/password-reset/confirm', { body })
      expect(r.status).toBe(status)
      if (status === 400) expect(r.json).toEqual(INVALID)
      expectNoSecrets(r.text)
    })
  }
})

test('end to end: the reset mail arrives over SMTP, its link resets the password, the outbox keeps no link', async () => {
  const t = await app()
  const smtp = await startSmtp()
  const mailer = startMailWorker(mailWorkerConfig(t.config, { smtpUrl: smtp.url, pollIntervalMs: 60_000 }))
  try {
    // An app wired to the worker, on the same database.
    const deps = { config: t.config, data: t.data, secret: SECRET, logger: createLogger('silent'), mailer }
    const services = createServices(deps)
    const live: TestApp = { ...t, app: createApp(deps, services), services }
    await signup(live, 'alice')
    await smtp.waitFor(1)
    expect(smtp.messages[0]!.subject).toBe('Welcome to Roster')

    expect((await requestReset(live, 'alice@example.com')).status).toBe(202)
    await smtp.waitFor(2)
    const mail = smtp.messages[1]!
    expect(mail.to).toEqual(['alice@example.com'])
    expect(mail.subject).toBe('Reset your Roster password')
    const token = LINK.exec(mail.text ?? '')![1]!
    expect(mail.html).toContain(`${PUBLIC_URL}/reset-password?token=${token}`)

    // Once sent, the token exists nowhere in clear on the server.
    const deadline = Date.now() + 5_000
    while ((await resetMails(t))[0]!.status !== 'sent' && Date.now() < deadline) await Bun.sleep(20)
    expect((await resetMails(t))[0]).toMatchObject({ status: 'sent', textBody: '', htmlBody: '' })

    expect((await confirm(live, token)).status).toBe(204)
    await login(live, 'alice', NEW_PASSWORD)
  } finally {
    await mailer.stop()
    await smtp.close()
  }
}, 20_000)
