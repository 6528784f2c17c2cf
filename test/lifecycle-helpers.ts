// Shared by the verification, invitation and audit tests: an app wired to a real
// mail worker and SMTP server, reading links out of received mail, and the audit
// rows as stored.
import { test as bunTest } from 'bun:test'
import { createApp } from '../src/app'
import { createServices } from '../src/services'
import { asc } from 'drizzle-orm'
import { createLogger } from '../src/lib/log'
import { mailWorkerConfig, startMailWorker } from '../src/mail/mailer'
import { databaseUrlOf, makeApp, SECRET, type TestApp } from './helpers'
import { startSmtp, type ReceivedMail, type TestSmtp } from './mail-helpers'

export const PUBLIC_URL = 'https://roster.example'
export const INVALID_TOKEN = { detail: 'Invalid or expired token' }

/**
 * Runs `fn` with an app whose mail goes through the worker to a real SMTP
 * server started here; both are stopped afterwards, whatever happens.
 */
export async function withMail(env: Record<string, string>, fn: (t: TestApp, smtp: TestSmtp) => Promise<void>): Promise<void> {
  const base = await makeApp({ PUBLIC_URL, TRUST_PROXY: 'true', ...env })
  const smtp = await startSmtp()
  // The worker opens its own connection: to the test's PostgreSQL database when there is one.
  const mailer = startMailWorker(mailWorkerConfig(base.config, { smtpUrl: smtp.url, pollIntervalMs: 60_000, databaseUrl: databaseUrlOf(base.data) }))
  try {
    const deps = { config: base.config, data: base.data, secret: SECRET, logger: createLogger('silent'), mailer }
    const services = createServices(deps)
    await fn({ ...base, app: createApp(deps, services), services }, smtp)
  } finally {
    await mailer.stop()
    await smtp.close()
  }
}

/** Waits for a mail to `to` (with that subject) that no earlier call returned, and returns it. */
export async function mailTo(smtp: TestSmtp, to: string, subject?: string): Promise<ReceivedMail> {
  const deadline = Date.now() + 10_000
  for (;;) {
    const m = smtp.messages.find((x) => x.to.includes(to) && (subject === undefined || x.subject === subject) && !taken.has(x))
    if (m) {
      taken.add(m)
      return m
    }
    if (Date.now() > deadline) throw new Error(`no mail to ${to}${subject ? ` (${subject})` : ''}`)
    await smtp.waitFor(smtp.messages.length + 1, Math.max(1, deadline - Date.now())).catch(() => {})
  }
}
const taken = new WeakSet<ReceivedMail>()

/** The token of the `page` link in a mail, checked to be in both the text and the HTML body. */
export function linkToken(mail: ReceivedMail, page: 'verify-email' | 'accept-invite'): string {
  const re = new RegExp(`${PUBLIC_URL.replace(/\./g, '\\.')}/${page}\\?token=([A-Za-z0-9_-]+)`)
  const m = re.exec(mail.text ?? '')
  if (!m) throw new Error(`no ${page} link in the mail`)
  if (typeof mail.html !== 'string' || !mail.html.includes(`${PUBLIC_URL}/${page}?token=${m[1]}`)) throw new Error('link missing from the HTML body')
  return m[1]!
}

/** Every stored audit row, oldest first. */
export function auditRows(t: TestApp) {
  return t.db.select().from(t.tables.auditEvents).orderBy(asc(t.tables.auditEvents.id))
}

/** The types of the stored events, oldest first. */
export const auditTypes = async (t: TestApp) => (await auditRows(t)).map((r) => r.type)

/**
 * bun:test's `test` with room for a loaded 2-core machine: these tests hash
 * passwords, start processes and wait for SMTP, and the 5 s default is not
 * always what applies across files.
 */
export function test(name: string, fn: () => Promise<void> | void, timeoutMs = 30_000): void {
  bunTest(name, fn, timeoutMs)
}
