// Main-thread side of the mail worker: starts the thread, wakes it after commits,
// logs its events through the app's Logger, and stops it on shutdown.
import { join } from 'node:path'
import type { Config } from '../config'
import { DB_FILE } from '../db/client'
import type { Logger } from '../lib/log'
import { resolveMailConfig, type MailWorkerConfig } from './config'
import type { WorkerCommand, WorkerEvent } from './worker'

export type { MailWorkerConfig } from './config'
export type { WorkerEvent } from './worker'

export interface MailWorkerHandle {
  /** Call after the transaction that enqueued mail has committed. */
  kick(): void
  /** Lets the message being sent finish, then ends the thread. Idempotent. */
  stop(): Promise<void>
}

export interface StartOptions {
  logger?: Logger
  /** Every event, besides the log line (tests). */
  onEvent?: (e: WorkerEvent) => void
  /** Override of the worker entry (tests, unusual build layouts). */
  workerUrl?: string
  /** First delay before restarting a worker thread that ended by itself; doubles up to 60 s. */
  restartDelayMs?: number
}

/** The worker's settings from the app's configuration (the worker never reads the environment). */
export function mailWorkerConfig(config: Config, overrides: Partial<MailWorkerConfig> = {}): MailWorkerConfig {
  return {
    dbPath: join(config.dataDir, DB_FILE),
    databaseUrl: config.databaseUrl,
    smtpUrl: config.smtpUrl,
    mailFrom: config.mailFrom,
    publicUrl: config.publicUrl,
    retentionMs: config.emailRetentionDays * 24 * 3_600_000,
    ...overrides
  }
}

/**
 * Where the worker module is.
 *
 * Under `bun src/index.ts` (and bun test) modules keep their own file URL, so the worker
 * is next to this file. In a `bun build --compile src/index.ts src/mail/worker.ts`
 * binary every bundled module reports the main entry's URL (file:///$bunfs/root/<exe>)
 * and the extra entry point lives at its path relative to the entry points' common root
 * (src/), i.e. /$bunfs/root/mail/worker.js; Bun maps the .ts name to the bundled .js.
 * `new URL('./worker.ts', import.meta.url)` alone, as in the Bun docs, only works when
 * the worker sits next to the main entry.
 */
export function defaultWorkerUrl(): string {
  const compiled = import.meta.url.includes('/$bunfs/') || import.meta.url.includes('~BUN')
  return compiled ? new URL('./mail/worker.ts', import.meta.url).href : new URL('./worker.ts', import.meta.url).href
}

function logEvent(logger: Logger, e: WorkerEvent): void {
  switch (e.type) {
    case 'ready':
      return logger.info('mail worker started', { transport: e.transport, recovered: e.recovered })
    case 'waiting-for-lock':
      return logger.warn('mail worker waiting: another Roster process is delivering this database\'s mail')
    case 'sent':
      return logger.info('mail sent', { email_id: e.id })
    case 'failed':
      return logger.warn(e.status === 'dead' ? 'mail dead' : 'mail send failed', { email_id: e.id, attempts: e.attempts, status: e.status, code: e.code })
    case 'logged':
      // No SMTP_URL: the mail is "delivered" to the log, metadata only (a reset
      // mail's body is a credential).
      return logger.info('mail (log transport, not sent)', {
        email_id: e.mail.id,
        kind: e.mail.kind,
        to: e.mail.to,
        subject: e.mail.subject,
        message_id: e.mail.messageId
      })
    case 'pruned':
      return logger.info('mail pruned', { count: e.count })
    case 'error':
      return logger.error('mail worker error', { error: e.error, code: e.code, fatal: e.fatal })
    case 'stopped':
      return logger.info('mail worker stopped')
  }
}

export function startMailWorker(config: MailWorkerConfig, opts: StartOptions = {}): MailWorkerHandle {
  // Fail in the caller (at boot) on bad config, not later inside the thread.
  const resolved = resolveMailConfig(config)
  const logger = opts.logger
  const onEvent = (e: WorkerEvent) => {
    if (logger) logEvent(logger, e)
    opts.onEvent?.(e)
  }
  const url = opts.workerUrl ?? defaultWorkerUrl()
  const restartBaseMs = opts.restartDelayMs ?? 5_000

  let current: Worker | null = null
  let stopRequested = false
  let failures = 0
  let restartTimer: ReturnType<typeof setTimeout> | undefined
  let resolveStopped: () => void = () => {}
  const stopped = new Promise<void>((r) => (resolveStopped = r))

  // A thread that ends without being asked to (it could not open the database, an
  // uncaught error) is started again, with a growing delay, so mail resumes by itself.
  function spawn(): void {
    const worker = new Worker(url)
    current = worker
    // Resolves once the thread is gone, and with it its database connection: the
    // WAL checkpoint at shutdown needs no other connection holding a snapshot.
    const closed = new Promise<void>((r) => worker.addEventListener('close', () => r(), { once: true }))
    let ended = false
    const end = () => {
      if (ended) return
      ended = true
      worker.terminate()
      if (current === worker) current = null
      if (stopRequested) return void closed.then(resolveStopped)
      const delay = Math.min(60_000, restartBaseMs * 2 ** failures++)
      onEvent({ type: 'error', error: 'WorkerExited', fatal: true })
      restartTimer = setTimeout(spawn, delay)
    }
    worker.onmessage = (ev: MessageEvent<WorkerEvent>) => {
      if (ev.data.type === 'ready') failures = 0
      onEvent(ev.data)
      if (ev.data.type === 'stopped') end()
    }
    worker.addEventListener('error', () => {
      onEvent({ type: 'error', error: 'WorkerError', fatal: true })
      end()
    })
    worker.addEventListener('close', end)
    worker.postMessage({ type: 'init', config } satisfies WorkerCommand)
  }
  spawn()

  let stopping: Promise<void> | null = null
  return {
    kick: () => current?.postMessage({ type: 'kick' } satisfies WorkerCommand),
    stop() {
      if (stopping) return stopping
      stopRequested = true
      clearTimeout(restartTimer)
      const worker = current
      if (!worker) {
        resolveStopped()
        return (stopping = stopped)
      }
      worker.postMessage({ type: 'stop' } satisfies WorkerCommand)
      // The current send is bounded by sendTimeoutMs; past that, something is wrong.
      const deadline = setTimeout(() => {
        worker.terminate()
        resolveStopped()
      }, resolved.timeouts.sendTimeoutMs + 5_000)
      stopping = stopped.then(() => clearTimeout(deadline))
      return stopping
    }
  }
}
