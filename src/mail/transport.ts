// Turns an outbox row into a delivered message: SMTP via nodemailer when SMTP_URL is
// set, otherwise one JSON log line per mail (development, tests, demos).
import nodemailer from 'nodemailer'
// A bad SMTP_URL stops the start with one line naming it (cli/main.ts prints ConfigError).
import { parseSmtpUrl } from '../config'
import type { EmailRow } from '../db/schema'

export interface SmtpTimeouts {
  /** TCP (and TLS) connect. */
  connectionTimeoutMs: number
  /** Connected but no "220" greeting yet. */
  greetingTimeoutMs: number
  /** Inactivity at any later point of the dialogue. */
  socketTimeoutMs: number
  /**
   * Hard ceiling for one whole send. The other three only bound each silence, so a
   * server that drips one byte every few seconds would otherwise hold the worker forever.
   */
  sendTimeoutMs: number
}

export const DEFAULT_TIMEOUTS: SmtpTimeouts = {
  connectionTimeoutMs: 5_000,
  greetingTimeoutMs: 5_000,
  socketTimeoutMs: 10_000,
  sendTimeoutMs: 30_000
}

export interface TransportConfig {
  /** smtp://host:port or smtps://user:pass@host:465; unset selects the log transport. */
  smtpUrl?: string | undefined
  /** From header, e.g. `Roster <no-reply@example.com>`. */
  mailFrom: string
  /** Fallback domain for Message-IDs when MAIL_FROM has no usable domain. */
  publicUrl?: string | undefined
  timeouts?: Partial<SmtpTimeouts> | undefined
}

export interface MailTransport {
  readonly kind: 'smtp' | 'log'
  /** Resolves once the server accepted the message; rejects with the nodemailer error. */
  send(row: EmailRow): Promise<void>
  close(): void
  /** Strings that must never reach logs or last_error (the SMTP password). */
  readonly secrets: readonly string[]
}

/**
 * `<roster-{id}.{created_at}@{domain}>`: stable per outbox row, so a resend after a
 * crash carries the same Message-ID and can be de-duplicated downstream. The creation
 * time keeps ids from colliding with mail sent before a database was recreated (some
 * providers silently drop a message whose Message-ID they have already seen).
 */
export function messageIdFor(row: { id: number; createdAt: number }, cfg: Pick<TransportConfig, 'mailFrom' | 'publicUrl'>): string {
  return `<roster-${row.id}.${row.createdAt}@${messageIdDomain(cfg)}>`
}

export function messageIdDomain(cfg: Pick<TransportConfig, 'mailFrom' | 'publicUrl'>): string {
  const addr = /<([^>]*)>/.exec(cfg.mailFrom)?.[1] ?? cfg.mailFrom
  const at = addr.lastIndexOf('@')
  const fromDomain = at >= 0 ? addr.slice(at + 1).trim().toLowerCase() : ''
  if (/^[a-z0-9.-]+$/.test(fromDomain)) return fromDomain
  if (cfg.publicUrl) {
    try {
      const h = new URL(cfg.publicUrl).hostname
      if (h) return h
    } catch {
      // fall through
    }
  }
  return 'localhost'
}

/** What the log transport reports per mail: metadata only, never a body. */
export interface LoggedMail {
  id: number
  kind: string
  to: string
  subject: string
  messageId: string
}

export function createTransport(cfg: TransportConfig, log: (mail: LoggedMail) => void): MailTransport {
  return cfg.smtpUrl ? smtpTransport(cfg, cfg.smtpUrl) : logTransport(cfg, log)
}

function smtpTransport(cfg: TransportConfig, smtpUrl: string): MailTransport {
  const t = { ...DEFAULT_TIMEOUTS, ...cfg.timeouts }
  const u = parseSmtpUrl(smtpUrl)
  // Options object instead of the URL string: we control the decoding of the
  // credentials and the transport never sees a URL it could put into an error.
  const transporter = nodemailer.createTransport({
    host: u.host,
    port: u.port,
    secure: u.secure,
    auth: u.user !== undefined ? { user: u.user, pass: u.pass ?? '' } : undefined,
    connectionTimeout: t.connectionTimeoutMs,
    greetingTimeout: t.greetingTimeoutMs,
    socketTimeout: t.socketTimeoutMs,
    dnsTimeout: t.connectionTimeoutMs,
    // One message per connection: the worker sends rarely, and a fresh connection per
    // mail means one bad session can never wedge the ones after it.
    pool: false,
    logger: false,
    debug: false
  })
  return {
    kind: 'smtp',
    secrets: u.pass ? [u.pass, Buffer.from(`\u0000${u.user ?? ''}\u0000${u.pass}`).toString('base64')] : [],
    async send(row) {
      await transporter.sendMail({
        from: cfg.mailFrom,
        to: row.toAddress,
        subject: row.subject,
        text: row.textBody,
        html: row.htmlBody,
        messageId: messageIdFor(row, cfg),
        // Date of the first enqueue, so a resend is byte-for-byte the same mail.
        date: new Date(row.createdAt),
        signal: AbortSignal.timeout(t.sendTimeoutMs)
      })
    },
    close() {
      transporter.close()
    }
  }
}

function logTransport(cfg: TransportConfig, log: (mail: LoggedMail) => void): MailTransport {
  return {
    kind: 'log',
    secrets: [],
    async send(row) {
      // Metadata only: bodies may hold reset links, which are bearer credentials.
      log({ id: row.id, kind: row.kind, to: row.toAddress, subject: row.subject, messageId: messageIdFor(row, cfg) })
    },
    close() {}
  }
}
