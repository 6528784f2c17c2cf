// Durable outbox on top of the email_outbox table.
//
// Every function takes the data layer explicitly: enqueueEmail runs on the caller's
// transaction (so the mail commits or rolls back with the row that causes it), and the
// worker thread opens its own. Any number of workers (threads of several instances on
// one PostgreSQL database) may claim at once: a claim locks the rows it takes and skips
// the ones another worker holds.
import { and, asc, eq, gt, inArray, lt, lte, not, or, sql } from 'drizzle-orm'
import type { Data, Tx } from '../db/data'
import type { EmailRow } from '../db/schema'
import { MAIL_KINDS } from './templates'

/** The data layer the outbox works on (the app's, or the worker thread's own). */
export type MailDb = Data

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
const hasLink = ({ emailOutbox }: Data['t']) => or(eq(emailOutbox.hasLink, true), eq(emailOutbox.kind, MAIL_KINDS.passwordReset))!
const blankResetBodies = (t: Data['t']) => ({
  textBody: sql<string>`CASE WHEN ${hasLink(t)} THEN '' ELSE ${t.emailOutbox.textBody} END`,
  htmlBody: sql<string>`CASE WHEN ${hasLink(t)} THEN '' ELSE ${t.emailOutbox.htmlBody} END`
})

/** The channel a committed mail is announced on (PostgreSQL NOTIFY). */
export const MAIL_CHANNEL = 'roster_mail'

/** Writes a mail on the caller's transaction `tx`; idle workers of every instance wake when it commits. */
export async function enqueueEmail(data: MailDb, tx: Tx, mail: NewEmail, now: number = Date.now()): Promise<number> {
  const { emailOutbox } = data.t
  const [row] = await tx
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
  await data.notify(tx, MAIL_CHANNEL)
  return row!.id
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
export async function claimDue(data: MailDb, now: number, leaseMs: number, limit = 5, policy: RetryPolicy = DEFAULT_RETRY): Promise<EmailRow[]> {
  const { emailOutbox } = data.t
  const leaseCutoff = now - leaseMs
  const expired = and(eq(emailOutbox.status, 'sending'), lt(emailOutbox.claimedAt, leaseCutoff))
  const rows = await data.transaction(async (tx) => {
    // A lease that expired on the last allowed attempt: do not try again.
    await tx
      .update(emailOutbox)
      .set({ status: 'dead', claimedAt: null, lastError: 'lease expired (worker died while sending)', ...blankResetBodies(data.t) })
      .where(and(expired, sql`${emailOutbox.attempts} >= ${policy.maxAttempts}`))
    // The due rows are locked as they are chosen and rows another worker is
    // claiming right now are skipped (PostgreSQL), so no row is claimed twice;
    // on SQLite the writer transaction excludes other claims altogether.
    const due = data.forUpdate(
      tx
        .select({ id: emailOutbox.id })
        .from(emailOutbox)
        .where(or(and(eq(emailOutbox.status, 'queued'), lte(emailOutbox.nextAttemptAt, now)), expired))
        .orderBy(asc(emailOutbox.nextAttemptAt), asc(emailOutbox.id))
        .limit(limit),
      { skipLocked: true }
    )
    return tx
      .update(emailOutbox)
      .set({ status: 'sending', claimedAt: now, attempts: sql`${emailOutbox.attempts} + 1` })
      .where(inArray(emailOutbox.id, due))
      .returning()
  })
  return rows.sort((a, b) => a.nextAttemptAt - b.nextAttemptAt || a.id - b.id)
}

// The claim (status + claimed_at) guards every transition out of 'sending': if our lease
// expired and another worker re-claimed the row, our late result must not overwrite its.
function ownClaim({ emailOutbox }: Data['t'], row: EmailRow) {
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
export async function renewClaim(data: MailDb, row: EmailRow, now: number = Date.now()): Promise<EmailRow | undefined> {
  if (row.claimedAt === now) return row
  const { emailOutbox } = data.t
  const [renewed] = await data.transaction((tx) => tx.update(emailOutbox).set({ claimedAt: now }).where(ownClaim(data.t, row)).returning())
  return renewed
}

export async function markSent(data: MailDb, row: EmailRow, now: number = Date.now()): Promise<boolean> {
  const { emailOutbox } = data.t
  const res = await data.transaction((tx) =>
    tx
      .update(emailOutbox)
      .set({ status: 'sent', sentAt: now, claimedAt: null, lastError: null, ...blankResetBodies(data.t) })
      .where(ownClaim(data.t, row))
      .returning({ id: emailOutbox.id })
  )
  return res.length === 1
}

export function backoffDelay(attempts: number, policy: RetryPolicy = DEFAULT_RETRY, random: () => number = Math.random): number {
  const ceiling = Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** Math.max(0, attempts - 1))
  const floor = Math.min(policy.minDelayMs, ceiling)
  return Math.max(1, Math.floor(floor + random() * (ceiling - floor)))
}

/** Records a failed send: back to 'queued' with a backoff, or 'dead' when out of attempts. */
export async function markFailed(
  data: MailDb,
  row: EmailRow,
  err: unknown,
  opts: { now?: number; policy?: RetryPolicy; random?: () => number; secrets?: readonly string[] } = {}
): Promise<{ status: OutboxStatus; lastError: string }> {
  const { emailOutbox } = data.t
  const now = opts.now ?? Date.now()
  const policy = opts.policy ?? DEFAULT_RETRY
  const lastError = describeSendError(err, opts.secrets)
  const dead = row.attempts >= policy.maxAttempts
  await data.transaction((tx) =>
    tx
      .update(emailOutbox)
      .set(
        dead
          ? { status: 'dead', claimedAt: null, lastError, ...blankResetBodies(data.t) }
          : { status: 'queued', claimedAt: null, lastError, nextAttemptAt: now + backoffDelay(row.attempts, policy, opts.random) }
      )
      .where(ownClaim(data.t, row))
  )
  return { status: dead ? 'dead' : 'queued', lastError }
}

/**
 * Hands a claimed row back untouched (used on shutdown for rows claimed but not yet
 * started), so the next start does not have to wait for the lease to expire.
 */
export async function release(data: MailDb, row: EmailRow): Promise<void> {
  const { emailOutbox } = data.t
  await data.transaction((tx) =>
    tx
      .update(emailOutbox)
      .set({ status: 'queued', claimedAt: null, attempts: sql`CASE WHEN ${emailOutbox.attempts} > 0 THEN ${emailOutbox.attempts} - 1 ELSE 0 END` })
      .where(ownClaim(data.t, row))
  )
}

/** Deletes sent rows older than the retention; returns how many. */
export async function prune(data: MailDb, olderThanMs: number, now: number = Date.now()): Promise<number> {
  const { emailOutbox } = data.t
  const rows = await data.transaction((tx) =>
    tx
      .delete(emailOutbox)
      .where(and(eq(emailOutbox.status, 'sent'), lt(emailOutbox.sentAt, now - olderThanMs)))
      .returning({ id: emailOutbox.id })
  )
  return rows.length
}

export type RetryResult = 'queued' | 'not_found' | 'sent' | 'sending' | 'reset_link'

/**
 * Admin action: a dead (or waiting) row is queued again, due now, with a fresh
 * budget. A sent row is not resent (that is what the retention is for), a row being
 * sent is left to its worker, and a dead mail that carried a one-time link has had it
 * blanked: the person asks for a new link instead.
 */
export async function retry(data: MailDb, id: number, now: number = Date.now()): Promise<RetryResult> {
  const { emailOutbox } = data.t
  return data.transaction(async (tx) => {
    const res = await tx
      .update(emailOutbox)
      .set({ status: 'queued', attempts: 0, nextAttemptAt: now, claimedAt: null, lastError: null })
      .where(
        and(
          eq(emailOutbox.id, id),
          or(eq(emailOutbox.status, 'queued'), and(eq(emailOutbox.status, 'dead'), not(hasLink(data.t))))
        )
      )
      .returning({ id: emailOutbox.id })
    if (res.length === 1) return 'queued'
    const [row] = await tx.select({ status: emailOutbox.status }).from(emailOutbox).where(eq(emailOutbox.id, id))
    if (!row) return 'not_found'
    if (row.status === 'dead') return 'reset_link'
    return row.status === 'sent' ? 'sent' : 'sending'
  })
}

/**
 * Called once by a worker that holds the delivery lock (worker.ts, SQLite): any row
 * still in 'sending' was claimed by a process that died, so it is due again now rather
 * than after the lease. Its attempt stays counted; on its last attempt it goes dead.
 * (Several instances on PostgreSQL hold no such lock: there only expired leases are
 * taken back, by claimDue.)
 */
export async function recoverOrphans(data: MailDb, policy: RetryPolicy = DEFAULT_RETRY, now: number = Date.now()): Promise<number> {
  const { emailOutbox } = data.t
  return data.transaction(async (tx) => {
    await tx
      .update(emailOutbox)
      .set({ status: 'dead', claimedAt: null, lastError: 'worker died while sending', ...blankResetBodies(data.t) })
      .where(and(eq(emailOutbox.status, 'sending'), sql`${emailOutbox.attempts} >= ${policy.maxAttempts}`))
    const rows = await tx
      .update(emailOutbox)
      .set({ status: 'queued', claimedAt: null, nextAttemptAt: now })
      .where(eq(emailOutbox.status, 'sending'))
      .returning({ id: emailOutbox.id })
    return rows.length
  })
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

const summaryColumns = ({ emailOutbox }: Data['t']) => ({
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
})

/** Queue inspection without bodies (a reset mail's body is a credential). Ordered by id. */
export function listEmails(data: MailDb, opts: { status?: OutboxStatus; after?: number; skip: number; limit: number }): Promise<EmailSummary[]> {
  const { emailOutbox } = data.t
  const conditions = [gt(emailOutbox.id, opts.after ?? 0)]
  if (opts.status) conditions.push(eq(emailOutbox.status, opts.status))
  return data.db
    .select(summaryColumns(data.t))
    .from(emailOutbox)
    .where(and(...conditions))
    .orderBy(asc(emailOutbox.id))
    .limit(opts.limit)
    .offset(opts.skip)
}

export async function getEmail(data: MailDb, id: number): Promise<EmailSummary | undefined> {
  const { emailOutbox } = data.t
  const [row] = await data.db.select(summaryColumns(data.t)).from(emailOutbox).where(eq(emailOutbox.id, id))
  return row
}

export async function counts(data: MailDb): Promise<Record<OutboxStatus, number>> {
  const { emailOutbox } = data.t
  const out: Record<OutboxStatus, number> = { queued: 0, sending: 0, sent: 0, dead: 0 }
  const rows = await data.db
    .select({ status: emailOutbox.status, n: sql<number>`count(*)`.mapWith(Number) })
    .from(emailOutbox)
    .groupBy(emailOutbox.status)
  for (const r of rows) out[r.status] = r.n
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
