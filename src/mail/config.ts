// Worker configuration. It crosses the thread boundary by structured clone, so it holds
// plain data only; the worker never reads process.env (the app's config module does).
import { DEFAULT_RETRY, type RetryPolicy } from './outbox'
import { DEFAULT_TIMEOUTS, type SmtpTimeouts } from './transport'

export interface MailWorkerConfig {
  /** Path of the app's SQLite file; the worker opens its own connection. */
  dbPath: string
  /** DATABASE_URL: PostgreSQL instead of dbPath; the worker opens its own pool. */
  databaseUrl?: string | undefined
  /** SMTP_URL; unset selects the log transport. */
  smtpUrl?: string | undefined
  mailFrom: string
  publicUrl?: string | undefined
  /** Idle poll period; a kick() wakes the worker earlier. */
  pollIntervalMs?: number | undefined
  /** A 'sending' claim older than this is presumed dead and re-claimed. */
  leaseMs?: number | undefined
  batchSize?: number | undefined
  /** Sent rows are deleted after this long. */
  retentionMs?: number | undefined
  pruneIntervalMs?: number | undefined
  busyTimeoutMs?: number | undefined
  retry?: Partial<RetryPolicy> | undefined
  timeouts?: Partial<SmtpTimeouts> | undefined
}

export type ResolvedMailWorkerConfig = Required<Omit<MailWorkerConfig, 'smtpUrl' | 'publicUrl' | 'retry' | 'timeouts' | 'databaseUrl'>> & {
  databaseUrl: string | undefined
  smtpUrl: string | undefined
  publicUrl: string | undefined
  retry: RetryPolicy
  timeouts: SmtpTimeouts
}

export function resolveMailConfig(c: MailWorkerConfig): ResolvedMailWorkerConfig {
  const r: ResolvedMailWorkerConfig = {
    dbPath: c.dbPath,
    databaseUrl: c.databaseUrl || undefined,
    smtpUrl: c.smtpUrl || undefined,
    mailFrom: c.mailFrom,
    publicUrl: c.publicUrl,
    pollIntervalMs: c.pollIntervalMs ?? 500,
    leaseMs: c.leaseMs ?? 2 * 60_000,
    batchSize: c.batchSize ?? 5,
    retentionMs: c.retentionMs ?? 30 * 24 * 3_600_000,
    pruneIntervalMs: c.pruneIntervalMs ?? 3_600_000,
    busyTimeoutMs: c.busyTimeoutMs ?? 5_000,
    retry: { ...DEFAULT_RETRY, ...c.retry },
    timeouts: { ...DEFAULT_TIMEOUTS, ...c.timeouts }
  }
  if (!r.dbPath && !r.databaseUrl) throw new Error('mail worker: dbPath or databaseUrl is required')
  if (!r.mailFrom) throw new Error('mail worker: mailFrom is required')
  // A send that outlives the lease would be claimed and sent a second time.
  if (r.leaseMs <= r.timeouts.sendTimeoutMs) {
    throw new Error('mail worker: leaseMs must be greater than timeouts.sendTimeoutMs')
  }
  if (r.retry.maxAttempts < 1) throw new Error('mail worker: retry.maxAttempts must be >= 1')
  return r
}
