// The mail subsystem against a real SMTP server started by the test: outbox in the
// caller's transaction, delivery and content, retry with backoff after the server
// comes back, dead after the maximum, lease recovery, timeouts, the worker thread.
import { afterEach, beforeEach, describe, expect, setDefaultTimeout, test } from 'bun:test'
import { eq } from 'drizzle-orm'
import { join } from 'node:path'
import { DB_FILE } from '../src/db/client'
import { sqliteData } from '../src/db/data'
import type { EmailRow } from '../src/db/schema'
import { resolveMailConfig } from '../src/mail/config'
import { deliverDue, type DeliveryEvent } from '../src/mail/delivery'
import { mailWorkerConfig, startMailWorker, type WorkerEvent } from '../src/mail/mailer'
import {
  backoffDelay,
  claimDue,
  counts,
  DEFAULT_RETRY,
  describeSendError,
  enqueueEmail,
  prune,
  recoverOrphans,
  renewClaim,
  retry,
  type RetryPolicy
} from '../src/mail/outbox'
import { escapeHtml, passwordResetMail, welcomeMail } from '../src/mail/templates'
import { createTransport, messageIdFor, type LoggedMail, type MailTransport } from '../src/mail/transport'
import { parseSmtpUrl } from '../src/config'
import { createLogger } from '../src/lib/log'
import { BACKEND, makeApp, signup, type TestApp } from './helpers'
import { startSilentServer, startSmtp, until, type TestSmtp } from './mail-helpers'

// Tests here start SMTP servers and worker threads: 5 s is tight on a loaded machine
// (bunfig's [test] timeout is not applied by bun test 1.4.5).
setDefaultTimeout(20_000)

const MAIL_FROM = 'Roster <no-reply@roster.example>'
const TINY: RetryPolicy = { maxAttempts: 3, minDelayMs: 10, baseDelayMs: 20, maxDelayMs: 100 }
const FAST_TIMEOUTS = { connectionTimeoutMs: 1_000, greetingTimeoutMs: 1_000, socketTimeoutMs: 1_000, sendTimeoutMs: 3_000 }

let t: TestApp
beforeEach(async () => {
  t = await makeApp({ MAIL_FROM })
})

const dbPath = () => join(t.dataDir, DB_FILE)
const mid = async (id: number) => messageIdFor(await row(id), { mailFrom: MAIL_FROM })

async function row(id: number): Promise<EmailRow> {
  const { emailOutbox } = t.tables
  const [r] = await t.db.select().from(emailOutbox).where(eq(emailOutbox.id, id))
  if (!r) throw new Error(`no outbox row ${id}`)
  return r
}

/** A mail written on its own transaction. */
const enqueue = (mail: Parameters<typeof enqueueEmail>[2], now?: number) => t.data.transaction((tx) => enqueueEmail(t.data, tx, mail, now))

/** A user and its welcome mail, as the users service writes them (without argon2, for speed). */
function createUserWithWelcome(username: string, email: string): Promise<number> {
  return t.data.transaction(async (tx) => {
    const now = new Date().toISOString()
    await tx.insert(t.tables.users).values({ username, email, hashedPassword: 'x', createdAt: now, updatedAt: now })
    return enqueueEmail(t.data, tx, welcomeMail({ to: email, username }))
  })
}

async function pass(transport: MailTransport, now: () => number = Date.now, policy = TINY, events?: DeliveryEvent[]) {
  return deliverDue({ db: t.data, transport, leaseMs: 60_000, batchSize: 5, policy, now, onEvent: (e) => events?.push(e) })
}

describe('templates', () => {
  test('welcome: subject, greeting in text and HTML, user text escaped in HTML', async () => {
    const m = welcomeMail({ to: 'a@x.test', username: '<script>alert(1)</script>' })
    expect(m.subject).toBe('Welcome to Roster')
    expect(m.text).toContain('Welcome <script>alert(1)</script>!')
    expect(m.html).toContain('Welcome &lt;script&gt;alert(1)&lt;/script&gt;!')
    expect(m.html).not.toContain('<script>')
  })

  test('reset: link with token, one hour, escaped', async () => {
    const m = passwordResetMail({ to: 'a@x.test', username: 'bob', token: 'tok_123', publicUrl: 'https://roster.example/' })
    expect(m.text).toContain('https://roster.example/reset-password?token=tok_123')
    expect(m.text).toContain('one hour')
    expect(m.html).toContain('href="https://roster.example/reset-password?token=tok_123"')
    expect(escapeHtml(`a&b"'`)).toBe('a&amp;b&quot;&#39;')
  })
})

describe('outbox', () => {
  test('signup queues exactly one welcome mail, in the user transaction', async () => {
    const u = await signup(t, 'alice')
    const rows = await t.db.select().from(t.tables.emailOutbox)
    expect(rows).toHaveLength(1)
    expect(rows[0]).toMatchObject({ kind: 'welcome', toAddress: 'alice@example.com', subject: 'Welcome to Roster', status: 'queued', attempts: 0 })
    expect(rows[0]!.textBody).toContain('Welcome alice!')
    expect(u.id).toBeGreaterThan(0)
  })

  test('a failure later in the user transaction leaves neither user nor mail', async () => {
    t.services.hooks.created.push(() => {
      throw new Error('boom')
    })
    const res = await t.app.handle(
      new Request('http://localhost/users', {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ username: 'alice', email: 'alice@example.com', password: 'Secret123' })
      })
    )
    expect(res.status).toBe(500)
    expect(await t.db.select().from(t.tables.users)).toHaveLength(0)
    expect(await counts(t.data)).toEqual({ queued: 0, sending: 0, sent: 0, dead: 0 })
  })

  test('claimDue claims due rows once; future rows wait; attempts counted at claim', async () => {
    const now = Date.now()
    const a = await enqueue(welcomeMail({ to: 'a@x.test', username: 'a' }), now)
    const b = await enqueue(welcomeMail({ to: 'b@x.test', username: 'b' }), now + 60_000)
    const first = await claimDue(t.data, now, 60_000)
    expect(first.map((r) => r.id)).toEqual([a])
    expect(first[0]).toMatchObject({ status: 'sending', claimedAt: now, attempts: 1 })
    expect(await claimDue(t.data, now, 60_000)).toEqual([])
    expect((await claimDue(t.data, now + 60_000, 120_000)).map((r) => r.id)).toEqual([b])
  })

  test('the claim is renewed before each send, so the lease covers one send, not a batch', async () => {
    const now = Date.now()
    await enqueue(welcomeMail({ to: 'a@x.test', username: 'a' }), now)
    await enqueue(welcomeMail({ to: 'b@x.test', username: 'b' }), now)
    const [first, second] = await claimDue(t.data, now, 60_000)
    // The second row waited 50 s behind a slow first send: renewed, it is not stale.
    const renewed = (await renewClaim(t.data, second!, now + 50_000))!
    expect(renewed.claimedAt).toBe(now + 50_000)
    // 70 s after the claim only the row that was not renewed counts as abandoned.
    expect((await claimDue(t.data, now + 70_000, 60_000)).map((r) => r.id)).toEqual([first!.id])
    // A claim taken over by someone else is not renewed.
    expect(await renewClaim(t.data, second!, now + 80_000)).toBeUndefined()
  })

  test('backoff: full jitter within bounds, ~10 attempts in about an hour', async () => {
    const p = DEFAULT_RETRY
    expect(p.maxAttempts).toBe(10)
    let maxTotal = 0
    let meanTotal = 0
    for (let n = 1; n < p.maxAttempts; n++) {
      maxTotal += backoffDelay(n, p, () => 0.999999)
      meanTotal += backoffDelay(n, p, () => 0.5)
      expect(backoffDelay(n, p, () => 0)).toBeGreaterThanOrEqual(p.minDelayMs)
    }
    expect(meanTotal).toBeGreaterThan(30 * 60_000)
    expect(meanTotal).toBeLessThan(75 * 60_000)
    expect(maxTotal).toBeLessThan(2 * 3_600_000)
  })

  test('last_error is short and free of secrets', async () => {
    const err = Object.assign(new Error('Invalid login: 535 5.7.8 AUTH PLAIN AGh1bnRlcjI= rejected for hunter2'), {
      code: 'EAUTH',
      responseCode: 535,
      response: `535 5.7.8 Authentication failed for hunter2 at https://x/reset-password?token=SECRET_TOKEN smtp://u:hunter2@h\nsecond line ${'x'.repeat(500)}`
    })
    const s = describeSendError(err, ['hunter2'])
    expect(s.startsWith('EAUTH 535 535 5.7.8')).toBe(true)
    expect(s).not.toContain('hunter2')
    expect(s).not.toContain('SECRET_TOKEN')
    expect(s).not.toContain('second line')
    expect(s.length).toBeLessThanOrEqual(200)
  })

  test('prune removes old sent rows only; retry re-queues a dead row', async () => {
    const now = Date.now()
    const old = await enqueue(welcomeMail({ to: 'a@x.test', username: 'a' }), now)
    const recent = await enqueue(welcomeMail({ to: 'c@x.test', username: 'c' }), now)
    const dead = await enqueue(welcomeMail({ to: 'b@x.test', username: 'b' }), now)
    await t.db.update(t.tables.emailOutbox).set({ status: 'sent', sentAt: now - 40 * 86_400_000 }).where(eq(t.tables.emailOutbox.id, old))
    await t.db.update(t.tables.emailOutbox).set({ status: 'sent', sentAt: now - 1_000 }).where(eq(t.tables.emailOutbox.id, recent))
    await t.db.update(t.tables.emailOutbox).set({ status: 'dead', attempts: 10, lastError: 'x', createdAt: now - 40 * 86_400_000 }).where(eq(t.tables.emailOutbox.id, dead))
    expect(await prune(t.data, 30 * 86_400_000, now)).toBe(1)
    expect(await counts(t.data)).toEqual({ queued: 0, sending: 0, sent: 1, dead: 1 })
    expect(await retry(t.data, dead, now)).toBe('queued')
    expect((await row(dead))).toMatchObject({ status: 'queued', attempts: 0, nextAttemptAt: now, lastError: null })
    expect(await retry(t.data, recent, now)).toBe('sent')
    expect(await retry(t.data, 9999, now)).toBe('not_found')
  })

  test('recoverOrphans: rows left in sending are due now, their attempt kept; on the last attempt they die', async () => {
    const now = Date.now()
    const a = await enqueue(welcomeMail({ to: 'a@x.test', username: 'a' }), now - 5_000)
    const b = await enqueue(welcomeMail({ to: 'b@x.test', username: 'b' }), now - 5_000)
    await t.db.update(t.tables.emailOutbox).set({ status: 'sending', claimedAt: now - 1_000, attempts: 2 }).where(eq(t.tables.emailOutbox.id, a))
    await t.db.update(t.tables.emailOutbox).set({ status: 'sending', claimedAt: now - 1_000, attempts: TINY.maxAttempts }).where(eq(t.tables.emailOutbox.id, b))
    expect(await recoverOrphans(t.data, TINY, now)).toBe(1)
    expect((await row(a))).toMatchObject({ status: 'queued', attempts: 2, claimedAt: null, nextAttemptAt: now })
    expect((await row(b))).toMatchObject({ status: 'dead' })
  })
})

describe('transport', () => {
  test('SMTP_URL parsing decodes credentials', async () => {
    expect(parseSmtpUrl('smtps://us%40er:p%40ss%3Aw%2F@mail.example:465')).toEqual({
      host: 'mail.example',
      port: 465,
      secure: true,
      user: 'us@er',
      pass: 'p@ss:w/'
    })
    expect(parseSmtpUrl('smtp://localhost:2525')).toMatchObject({ host: 'localhost', port: 2525, secure: false, user: undefined })
    expect(() => parseSmtpUrl('http://u:secretpw@x')).toThrow()
    expect(() => parseSmtpUrl('::::secretpw')).toThrow('SMTP_URL: is not a valid URL')
  })

  test('Message-ID derives from the outbox row; domain from MAIL_FROM, else PUBLIC_URL', async () => {
    expect(messageIdFor({ id: 7, createdAt: 1234 }, { mailFrom: MAIL_FROM })).toBe('<roster-7.1234@roster.example>')
    expect(messageIdFor({ id: 7, createdAt: 1234 }, { mailFrom: 'nobody', publicUrl: 'https://app.example:8443/x' })).toBe('<roster-7.1234@app.example>')
  })

  test('log transport reports metadata, never the reset token; a sent reset mail keeps no link', async () => {
    const logged: LoggedMail[] = []
    const transport = createTransport({ mailFrom: MAIL_FROM }, (m) => logged.push(m))
    const id = await enqueue(passwordResetMail({ to: 'bob@x.test', username: 'bob', token: 'SECRET_TOKEN_42', publicUrl: 'https://r.example' }))
    await pass(transport)
    expect((await row(id))).toMatchObject({ status: 'sent', textBody: '', htmlBody: '' })
    expect(logged).toHaveLength(1)
    expect(JSON.stringify(logged)).not.toContain('SECRET_TOKEN_42')
    expect(logged[0]).toMatchObject({ id, kind: 'password_reset', to: 'bob@x.test', messageId: (await mid(id)) })
  })
})

describe('delivery over real SMTP', () => {
  let smtp: TestSmtp
  let transport: MailTransport
  beforeEach(async () => {
    smtp = await startSmtp()
    transport = createTransport({ smtpUrl: smtp.url, mailFrom: MAIL_FROM, timeouts: FAST_TIMEOUTS }, () => {})
  })
  afterEach(async () => {
    transport.close()
    await smtp.close()
  })

  test('welcome mail: content (text and HTML), escaping, Message-ID', async () => {
    const id = await createUserWithWelcome('alice', 'alice@x.test')
    const evil = await enqueue(welcomeMail({ to: 'eve@x.test', username: '<script>alert(1)</script>' }))
    expect(await pass(transport)).toBe(2)
    expect(smtp.messages).toHaveLength(2)
    const idMid = await mid(id)
    const m = smtp.messages.find((x) => x.messageId === idMid)!
    expect(m.subject).toBe('Welcome to Roster')
    expect(m.to).toEqual(['alice@x.test'])
    expect(m.from).toContain('no-reply@roster.example')
    expect(m.text).toContain('Welcome alice!')
    expect(m.html).toContain('Welcome alice!')
    const evilMid = await mid(evil)
    const e = smtp.messages.find((x) => x.messageId === evilMid)!
    expect(e.html).toContain('&lt;script&gt;')
    expect(e.html).not.toContain('<script>')
    expect((await row(id))).toMatchObject({ status: 'sent', claimedAt: null, lastError: null })
    expect((await row(id)).sentAt).toBeGreaterThan(0)
    // Welcome bodies are kept (until pruned); only reset links are blanked.
    expect((await row(id)).textBody).toContain('Welcome alice!')
  })

  test('a refusing server (451): queued with backoff, delivered once the server accepts again', async () => {
    for (const mode of ['reject-rcpt', 'reject-data'] as const) {
      smtp.mode = mode
      const id = await createUserWithWelcome(`u${mode.replace('-', '')}`, `${mode}@x.test`)
      const now = Date.now()
      const events: DeliveryEvent[] = []
      await pass(transport, () => now, TINY, events)
      const r = (await row(id))
      expect(r).toMatchObject({ status: 'queued', attempts: 1, claimedAt: null })
      expect(r.nextAttemptAt).toBeGreaterThan(now)
      expect(r.nextAttemptAt).toBeLessThanOrEqual(now + TINY.baseDelayMs)
      expect(r.lastError).toContain('451')
      expect(events).toEqual([{ type: 'failed', id, attempts: 1, status: 'queued', code: expect.stringContaining('451') }])
      // Not due yet at the same instant.
      expect(await pass(transport, () => now)).toBe(0)

      smtp.mode = 'accept'
      const before = smtp.messages.length
      await pass(transport, () => now + 1_000)
      expect((await row(id))).toMatchObject({ status: 'sent', attempts: 2, lastError: null })
      expect(smtp.messages.length).toBe(before + 1)
    }
  })

  test('server down then back: retried and delivered', async () => {
    const port = smtp.port
    await smtp.close()
    const id = await createUserWithWelcome('carl', 'carl@x.test')
    const now = Date.now()
    await pass(transport, () => now)
    expect((await row(id))).toMatchObject({ status: 'queued', attempts: 1 })
    expect((await row(id)).lastError).toContain('ECONNREFUSED')
    smtp = await startSmtp(port)
    await pass(transport, () => now + 1_000)
    expect((await row(id))).toMatchObject({ status: 'sent', attempts: 2 })
    expect(smtp.messages.map((m) => m.messageId)).toEqual([(await mid(id))])
  })

  test('dead after the maximum attempts; admin retry revives it', async () => {
    smtp.mode = 'reject-rcpt'
    const id = await createUserWithWelcome('carol', 'carol@x.test')
    let clock = Date.now()
    for (let i = 0; i < 10 && (await row(id)).status !== 'dead'; i++) {
      await pass(transport, () => clock)
      clock += 3_600_000
    }
    expect((await row(id))).toMatchObject({ status: 'dead', attempts: TINY.maxAttempts, claimedAt: null })
    expect(smtp.messages).toHaveLength(0)
    expect(await pass(transport, () => clock + 86_400_000)).toBe(0)

    smtp.mode = 'accept'
    expect(await retry(t.data, id)).toBe('queued')
    await pass(transport)
    expect((await row(id))).toMatchObject({ status: 'sent', attempts: 1 })
    expect(smtp.messages).toHaveLength(1)
  })

  test('a dead reset mail keeps no link and is not retried', async () => {
    smtp.mode = 'reject-rcpt'
    const id = await enqueue(passwordResetMail({ to: 'r@x.test', username: 'r', token: 'TOKEN_XYZ', publicUrl: 'https://r.example' }))
    let clock = Date.now()
    for (let i = 0; i < 10 && (await row(id)).status !== 'dead'; i++) {
      await pass(transport, () => clock)
      clock += 3_600_000
    }
    expect((await row(id))).toMatchObject({ status: 'dead', textBody: '', htmlBody: '' })
    expect(await retry(t.data, id)).toBe('reset_link')
  })

  test('a row left in sending by a dead worker is re-claimed after the lease', async () => {
    const now = Date.now()
    const stale = await createUserWithWelcome('dave', 'dave@x.test')
    const live = await createUserWithWelcome('erin', 'erin@x.test')
    await t.db.update(t.tables.emailOutbox).set({ status: 'sending', claimedAt: now - 10 * 60_000, attempts: 1 }).where(eq(t.tables.emailOutbox.id, stale))
    await t.db.update(t.tables.emailOutbox).set({ status: 'sending', claimedAt: now - 1_000, attempts: 1 }).where(eq(t.tables.emailOutbox.id, live))
    await pass(transport, () => now)
    expect((await row(stale))).toMatchObject({ status: 'sent', attempts: 2 })
    expect((await row(live))).toMatchObject({ status: 'sending', attempts: 1 })
    expect(smtp.messages.map((m) => m.messageId)).toEqual([(await mid(stale))])
  })
})

describe('timeouts', () => {
  test('a server that accepts and never answers fails within the timeout, password not leaked', async () => {
    const silent = await startSilentServer()
    const transport = createTransport(
      {
        smtpUrl: `smtp://user:hunter2@127.0.0.1:${silent.port}`,
        mailFrom: MAIL_FROM,
        timeouts: { connectionTimeoutMs: 500, greetingTimeoutMs: 500, socketTimeoutMs: 500, sendTimeoutMs: 2_000 }
      },
      () => {}
    )
    try {
      const id = await createUserWithWelcome('frank', 'frank@x.test')
      await pass(transport)
      const r = (await row(id))
      expect(r.status).toBe('queued')
      expect(r.attempts).toBe(1)
      expect(r.lastError).toMatch(/ETIMEDOUT|EABORT|timeout/i)
      expect(r.lastError).not.toContain('hunter2')
    } finally {
      transport.close()
      await silent.close()
    }
  })

  test('config rejects a lease shorter than the send timeout', async () => {
    expect(() => resolveMailConfig({ dbPath: 'x', mailFrom: MAIL_FROM, leaseMs: 1_000, timeouts: { sendTimeoutMs: 5_000 } })).toThrow('leaseMs')
  })
})

describe('worker thread', () => {
  // One worker per SQLite file (a file lock); on PostgreSQL workers of every
  // instance deliver side by side (test/scale-out.test.ts).
  test.skipIf(BACKEND === 'pg')('kick wakes the worker; stop resolves; one worker per database', async () => {
    const smtp = await startSmtp()
    const events: WorkerEvent[] = []
    const second: WorkerEvent[] = []
    // Long poll: only the kick can explain a delivery.
    const cfg = mailWorkerConfig(t.config, { smtpUrl: smtp.url, pollIntervalMs: 60_000, timeouts: FAST_TIMEOUTS })
    const mailer = startMailWorker(cfg, { onEvent: (e) => events.push(e) })
    let other: { stop(): Promise<void> } | undefined
    try {
      await until(() => events.some((e) => e.type === 'ready'))
      other = startMailWorker(cfg, { onEvent: (e) => second.push(e) })
      await until(() => second.some((e) => e.type === 'waiting-for-lock'))
      // The first idle sleep has started; a mail enqueued now waits for the kick.
      await Bun.sleep(100)
      const id = await createUserWithWelcome('alice', 'alice@x.test')
      mailer.kick()
      await smtp.waitFor(1, 5_000)
      await until(async () => (await row(id)).status === 'sent')
      expect(smtp.messages[0]!.messageId).toBe((await mid(id)))
      expect(second.some((e) => e.type === 'ready')).toBe(false)
    } finally {
      await mailer.stop()
      await other?.stop()
      await smtp.close()
    }
    expect(events.at(-1)).toEqual({ type: 'stopped' })
    expect(events.filter((e) => e.type === 'error')).toEqual([])
  })

  test('the app kicks the worker after the signup commits', async () => {
    const smtp = await startSmtp()
    const mailer = startMailWorker(mailWorkerConfig(t.config, { smtpUrl: smtp.url, pollIntervalMs: 60_000, timeouts: FAST_TIMEOUTS }))
    try {
      const { createApp } = await import('../src/app')
      const { createServices } = await import('../src/services')
      const deps = { config: t.config, data: t.data, secret: 'x'.repeat(32), mailer, logger: createLogger('silent') }
      const kicked = createApp(deps, createServices(deps))
      const res = await kicked.handle(
        new Request('http://localhost/users', {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ username: 'kim', email: 'kim@example.com', password: 'Secret123' })
        })
      )
      expect(res.status).toBe(201)
      await smtp.waitFor(1, 5_000)
      expect(smtp.messages[0]).toMatchObject({ subject: 'Welcome to Roster', to: ['kim@example.com'] })
      expect(smtp.messages[0]!.text).toContain('Welcome kim!')
    } finally {
      await mailer.stop()
      await smtp.close()
    }
  })

  // Made to die by a SQLite file that does not exist yet.
  test.skipIf(BACKEND === 'pg')('a worker thread that dies by itself is restarted and resumes delivery', async () => {
    const dir = join(t.dataDir, 'later')
    const events: WorkerEvent[] = []
    // The database does not exist yet: the thread fails at start, again and again.
    const mailer = startMailWorker(mailWorkerConfig(t.config, { dbPath: join(dir, DB_FILE), pollIntervalMs: 50 }), {
      onEvent: (e) => events.push(e),
      restartDelayMs: 20
    })
    try {
      await until(() => events.filter((e) => e.type === 'error' && e.error === 'WorkerExited').length >= 2)
      const db = sqliteData(join(dir, DB_FILE))
      await db.migrate()
      const id = await db.transaction((tx) => enqueueEmail(db, tx, welcomeMail({ to: 'a@x.test', username: 'a' })))
      await until(() => events.some((e) => e.type === 'sent' && e.id === id), 10_000)
      await db.close()
    } finally {
      await mailer.stop()
    }
    expect(events.at(-1)).toEqual({ type: 'stopped' })
  })

  test('stop lets the current send finish and releases the rest of the batch', async () => {
    const silent = await startSilentServer()
    const events: WorkerEvent[] = []
    const mailer = startMailWorker(
      mailWorkerConfig(t.config, {
        smtpUrl: silent.url,
        pollIntervalMs: 50,
        retry: TINY,
        timeouts: { connectionTimeoutMs: 5_000, greetingTimeoutMs: 1_500, socketTimeoutMs: 5_000, sendTimeoutMs: 10_000 }
      }),
      { onEvent: (e) => events.push(e) }
    )
    try {
      const a = await createUserWithWelcome('a1a', 'a@x.test')
      const b = await createUserWithWelcome('b1b', 'b@x.test')
      mailer.kick()
      await until(async () => (await row(a)).status === 'sending')
      await mailer.stop()
      // The hanging send ended by its own timeout and was recorded, not abandoned.
      expect((await row(a))).toMatchObject({ status: 'queued', attempts: 1 })
      expect((await row(a)).lastError).toMatch(/ETIMEDOUT|timeout/i)
      expect((await row(b))).toMatchObject({ status: 'queued', attempts: 0, claimedAt: null })
      expect(events.at(-1)).toEqual({ type: 'stopped' })
    } finally {
      await mailer.stop()
      await silent.close()
    }
  })
})
