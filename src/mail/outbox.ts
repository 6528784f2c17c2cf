// Durable outbox on top of the email_outbox table.
//
// Every function takes the Drizzle handle explicitly: enqueueEmail must run on the
// caller's transaction (so the mail commits or rolls back with the row that causes it),
// and the worker thread owns a separate connection to the same file.
import { and, asc, eq, gt, inArray, lt, lte, not, or, sql } from 'drizzle-orm'
import type { BaseSQLiteDatabase } from 'drizzle-orm/sqlite-core'
import { emailOutbox, type EmailRow } from '../db/schema'
import { MAIL_KINDS } from './templates'

// Any synchronous SQLite Drizzle handle: the bun:sqlite database or a transaction on it,
// whatever schema generic the app created it with.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type MailDb = BaseSQLiteDatabase<'sync', any, any, any>

export type OutboxStatus = EmailRow['status']

export interface NewEmail {
  kind: string
  to: string
  subject: string
  text: string
  html: string
  /** The body holds a one-time link (see email_outbox.has_link). */
  hasLink?: boolean
}

export interface RetryPolicy {
  /** Attempts (sends started) before a row is declared dead. */
  maxAttempts: number
  /** Floor of every delay, so a retry is always in the future and never a tight loop. */
  minDelayMs: number
  /** Upper bound of the first retry delay; doubles per attempt. */
  baseDelayMs: number
  /** No single delay exceeds this. */
  maxDelayMs: number
}

// Full jitter draws each delay uniformly from [min, min(max, base * 2^(n-1))] (spreads
// retries of many mails after an outage). With these numbers the nine waits between ten
// attempts add up to ~45 min on average and at most ~1.5 h: "about ten attempts over
// about an hour".
export const DEFAULT_RETRY: RetryPolicy = {
  maxAttempts: 10,
  minDelayMs: 1_000,
  baseDelayMs: 15_000,
  maxDelayMs: 30 * 60_000
}

// A password-reset, verification or invitation mail carries a bearer credential (the
// link). Once it has left (sent) or will never leave (dead), its bodies are blanked so
// the token is not kept in clear anywhere: the token tables hold only its hash.
// Reset mails queued before has_link existed are recognised by their kind.
const hasLink = or(eq(emailOutbox.hasLink, true), eq(emailOutbox.kind, MAIL_KINDS.passwordReset))!
const blankResetBodies = {
  textBody: sql`CASE WHEN ${hasLink} THEN '' ELSE ${emailOutbox.textBody} END`,
  htmlBody: sql`CASE WHEN ${hasLink} THEN '' ELSE ${emailOutbox.htmlBody} END`
}

export function enqueueEmail(db: MailDb, mail: NewEmail, now: number = Date.now()): number {
  const row = db
    .insert(emailOutbox)
    .values({
      kind: mail.kind,
      toAddress: mail.to,
      subject: mail.subject,
      textBody: mail.text,
      htmlBody: mail.html,
      hasLink: mail.hasLink ?? false,
      status: 'queued',
      attempts: 0,
      nextAttemptAt: now,
      createdAt: now
    })
    .returning({ id: emailOutbox.id })
    .get()
  return row.id
}

/**
 * Claims up to `limit` due rows for sending and returns them (status 'sending',
 * claimedAt = now, attempts already incremented).
 *
 * Due means queued and next_attempt_at <= now, or 'sending' with a claim older than the
 * lease (the worker that held it died). One UPDATE ... WHERE id IN (SELECT ...) is a
 * single write statement, so two workers can never claim the same row.
 *
 * Attempts count sends *started*, not failures, so a row that kills the worker every
 * time it is sent still runs out of attempts instead of looping forever.
 */
export function claimDue(db: MailDb, now: number, leaseMs: number, limit = 5, policy: RetryPolicy = DEFAULT_RETRY): EmailRow[] {
  const leaseCutoff = now - leaseMs
  const expired = and(eq(emailOutbox.status, 'sending'), lt(emailOutbox.claimedAt, leaseCutoff))
  return db.transaction(
    (tx) => {
      // A lease that expired on the last allowed attempt: do not try again.
      tx.update(emailOutbox)
        .set({ status: 'dead', claimedAt: null, lastError: 'lease expired (worker died while sending)', ...blankResetBodies })
        .where(and(expired, sql`${emailOutbox.attempts} >= ${policy.maxAttempts}`))
        .run()
      const due = tx
        .select({ id: emailOutbox.id })
        .from(emailOutbox)
        .where(or(and(eq(emailOutbox.status, 'queued'), lte(emailOutbox.nextAttemptAt, now)), expired))
        .orderBy(asc(emailOutbox.nextAttemptAt), asc(emailOutbox.id))
        .limit(limit)
      return tx
        .update(emailOutbox)
        .set({ status: 'sending', claimedAt: now, attempts: sql`${emailOutbox.attempts} + 1` })
        .where(inArray(emailOutbox.id, due))
        .returning()
        .all()
        .sort((a, b) => a.nextAttemptAt - b.nextAttemptAt || a.id - b.id)
    },
    // IMMEDIATE takes the write lock up front: no SQLITE_BUSY upgrade failure midway.
    { behavior: 'immediate' }
  )
}

// The claim (status + claimed_at) guards every transition out of 'sending': if our lease
// expired and another worker re-claimed the row, our late result must not overwrite its.
function ownClaim(row: EmailRow) {
  return and(
    eq(emailOutbox.id, row.id),
    eq(emailOutbox.status, 'sending'),
    row.claimedAt === null ? sql`${emailOutbox.claimedAt} is null` : eq(emailOutbox.claimedAt, row.claimedAt)
  )
}

/**
 * Renews the claim just before a send starts, so the lease has to cover one send
 * (the send timeout), not the whole batch queued behind a slow server. Returns the
 * row with its new claim, or undefined when the claim was lost (taken over).
 */
export function renewClaim(db: MailDb, row: EmailRow, now: number = Date.now()): EmailRow | undefined {
  if (row.claimedAt === now) return row
  return db.update(emailOutbox).set({ claimedAt: now }).where(ownClaim(row)).returning().get()
}

export function markSent(db: MailDb, row: EmailRow, now: number = Date.now()): boolean {
  const res = db
    .update(emailOutbox)
    .set({ status: 'sent', sentAt: now, claimedAt: null, lastError: null, ...blankResetBodies })
    .where(ownClaim(row))
    .returning({ id: emailOutbox.id })
    .all()
  return res.length === 1
}

export function backoffDelay(attempts: number, policy: RetryPolicy = DEFAULT_RETRY, random: () => number = Math.random): number {
  const ceiling = Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** Math.max(0, attempts - 1))
  const floor = Math.min(policy.minDelayMs, ceiling)
  return Math.max(1, Math.floor(floor + random() * (ceiling - floor)))
}

/** Records a failed send: back to 'queued' with a backoff, or 'dead' when out of attempts. */
export function markFailed(
  db: MailDb,
  row: EmailRow,
  err: unknown,
  opts: { now?: number; policy?: RetryPolicy; random?: () => number; secrets?: readonly string[] } = {}
): { status: OutboxStatus; lastError: string } {
  const now = opts.now ?? Date.now()
  const policy = opts.policy ?? DEFAULT_RETRY
  const lastError = describeSendError(err, opts.secrets)
  const dead = row.attempts >= policy.maxAttempts
  db.update(emailOutbox)
    .set(
      dead
        ? { status: 'dead', claimedAt: null, lastError, ...blankResetBodies }
        : { status: 'queued', claimedAt: null, lastError, nextAttemptAt: now + backoffDelay(row.attempts, policy, opts.random) }
    )
    .where(ownClaim(row))
    .run()
  return { status: dead ? 'dead' : 'queued', lastError }
}

/**
 * Hands a claimed row back untouched (used on shutdown for rows claimed but not yet
 * started), so the next start does not have to wait for the lease to expire.
 */
export function release(db: MailDb, row: EmailRow): void {
  db.update(emailOutbox)
    .set({ status: 'queued', claimedAt: null, attempts: sql`max(${emailOutbox.attempts} - 1, 0)` })
    .where(ownClaim(row))
    .run()
}

/** Deletes sent rows older than the retention; returns how many. */
export function prune(db: MailDb, olderThanMs: number, now: number = Date.now()): number {
  return db
    .delete(emailOutbox)
    .where(and(eq(emailOutbox.status, 'sent'), lt(emailOutbox.sentAt, now - olderThanMs)))
    .returning({ id: emailOutbox.id })
    .all().length
}

export type RetryResult = 'queued' | 'not_found' | 'sent' | 'sending' | 'reset_link'

/**
 * Admin action: a dead (or waiting) row is queued again, due now, with a fresh
 * budget. A sent row is not resent (that is what the retention is for), a row being
 * sent is left to its worker, and a dead mail that carried a one-time link has had it
 * blanked: the person asks for a new link instead.
 */
export function retry(db: MailDb, id: number, now: number = Date.now()): RetryResult {
  const res = db
    .update(emailOutbox)
    .set({ status: 'queued', attempts: 0, nextAttemptAt: now, claimedAt: null, lastError: null })
    .where(
      and(
        eq(emailOutbox.id, id),
        or(eq(emailOutbox.status, 'queued'), and(eq(emailOutbox.status, 'dead'), not(hasLink)))
      )
    )
    .returning({ id: emailOutbox.id })
    .all()
  if (res.length === 1) return 'queued'
  const row = db.select({ status: emailOutbox.status }).from(emailOutbox).where(eq(emailOutbox.id, id)).get()
  if (!row) return 'not_found'
  if (row.status === 'dead') return 'reset_link'
  return row.status === 'sent' ? 'sent' : 'sending'
}

/**
 * Called once by a worker that holds the delivery lock (worker.ts): any row still in
 * 'sending' was claimed by a process that died, so it is due again now rather than
 * after the lease. Its attempt stays counted; on its last attempt it goes dead.
 */
export function recoverOrphans(db: MailDb, policy: RetryPolicy = DEFAULT_RETRY, now: number = Date.now()): number {
  return db.transaction(
    (tx) => {
      tx.update(emailOutbox)
        .set({ status: 'dead', claimedAt: null, lastError: 'worker died while sending', ...blankResetBodies })
        .where(and(eq(emailOutbox.status, 'sending'), sql`${emailOutbox.attempts} >= ${policy.maxAttempts}`))
        .run()
      return tx
        .update(emailOutbox)
        .set({ status: 'queued', claimedAt: null, nextAttemptAt: now })
        .where(eq(emailOutbox.status, 'sending'))
        .returning({ id: emailOutbox.id })
        .all().length
    },
    { behavior: 'immediate' }
  )
}

export interface EmailSummary {
  id: number
  kind: string
  toAddress: string
  subject: string
  status: OutboxStatus
  attempts: number
  nextAttemptAt: number
  lastError: string | null
  createdAt: number
  sentAt: number | null
}

const summaryColumns = {
  id: emailOutbox.id,
  kind: emailOutbox.kind,
  toAddress: emailOutbox.toAddress,
  subject: emailOutbox.subject,
  status: emailOutbox.status,
  attempts: emailOutbox.attempts,
  nextAttemptAt: emailOutbox.nextAttemptAt,
  lastError: emailOutbox.lastError,
  createdAt: emailOutbox.createdAt,
  sentAt: emailOutbox.sentAt
}

/** Queue inspection without bodies (a reset mail's body is a credential). Ordered by id. */
export function listEmails(db: MailDb, opts: { status?: OutboxStatus; after?: number; skip: number; limit: number }): EmailSummary[] {
  const conditions = [gt(emailOutbox.id, opts.after ?? 0)]
  if (opts.status) conditions.push(eq(emailOutbox.status, opts.status))
  return db
    .select(summaryColumns)
    .from(emailOutbox)
    .where(and(...conditions))
    .orderBy(asc(emailOutbox.id))
    .limit(opts.limit)
    .offset(opts.skip)
    .all()
}

export function getEmail(db: MailDb, id: number): EmailSummary | undefined {
  return db.select(summaryColumns).from(emailOutbox).where(eq(emailOutbox.id, id)).get()
}

export function counts(db: MailDb): Record<OutboxStatus, number> {
  const out: Record<OutboxStatus, number> = { queued: 0, sending: 0, sent: 0, dead: 0 }
  const rows = db
    .select({ status: emailOutbox.status, n: sql<number>`count(*)` })
    .from(emailOutbox)
    .groupBy(emailOutbox.status)
    .all()
  for (const r of rows) out[r.status] = Number(r.n)
  return out
}

/** The machine-readable part of a send failure (nodemailer code, SMTP reply code), for log lines. */
export function sendErrorCode(err: unknown): string {
  const e = (typeof err === 'object' && err !== null ? err : {}) as { code?: unknown; responseCode?: unknown; name?: unknown }
  const parts: string[] = []
  if (typeof e.code === 'string' && /^[A-Z_]{1,32}$/.test(e.code)) parts.push(e.code)
  if (typeof e.responseCode === 'number') parts.push(String(e.responseCode))
  if (!parts.length) parts.push(typeof e.name === 'string' && /^\w{1,64}$/.test(e.name) ? e.name : 'Error')
  return parts.join(' ')
}

const MAX_ERROR_LENGTH = 200

/**
 * A short, secret-free description of a send failure for last_error (which admins can
 * read). Nodemailer errors carry the SMTP reply in `response`/`responseCode`; we keep
 * the code and the first line of the reply only, and scrub anything that looks like a
 * credential or a reset token in case a server echoes them back.
 */
export function describeSendError(err: unknown, secrets: readonly string[] = []): string {
  const e = (typeof err === 'object' && err !== null ? err : {}) as {
    code?: unknown
    responseCode?: unknown
    response?: unknown
    message?: unknown
  }
  const parts: string[] = []
  if (typeof e.code === 'string') parts.push(e.code)
  if (typeof e.responseCode === 'number') parts.push(String(e.responseCode))
  const detail =
    typeof e.response === 'string' ? e.response : typeof e.message === 'string' ? e.message : typeof err === 'string' ? err : 'send failed'
  parts.push(firstLine(detail))
  let text = parts.join(' ')
  for (const s of secrets) if (s.length >= 4) text = text.split(s).join('***')
  text = text
    .replace(/(token=)[^\s&"'<>]+/gi, '$1***')
    .replace(/(\/\/)[^/\s:@]*:[^/\s@]*@/g, '$1***@')
    // AUTH PLAIN/LOGIN payloads are base64 of the credentials.
    .replace(/\b(AUTH\s+\w+\s+)\S+/gi, '$1***')
  return text.length > MAX_ERROR_LENGTH ? `${text.slice(0, MAX_ERROR_LENGTH - 1)}…` : text
}

function firstLine(s: string): string {
  const line = s.split(/\r?\n/, 1)[0] ?? ''
  return line.trim()
}
