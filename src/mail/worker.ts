// Mail delivery thread. Started by mailer.ts; also a separate entry point of
// `bun build --compile src/index.ts src/mail/worker.ts` (see mailer.ts for the URL).
//
// Protocol (main -> worker): {type:'init', config} first, then {type:'kick'} after each
// committed enqueue and {type:'stop'} once. Worker -> main: WorkerEvent. The worker
// never logs by itself: the main thread's Logger does, from these events.
import { Database } from 'bun:sqlite'
import { pgData, sqliteData, type Data } from '../db/data'
import { resolveMailConfig, type MailWorkerConfig, type ResolvedMailWorkerConfig } from './config'
import { deliverDue, type DeliveryEvent } from './delivery'
import { MAIL_CHANNEL, prune, recoverOrphans } from './outbox'
import { createTransport, type LoggedMail } from './transport'

declare var self: Worker

export type WorkerCommand = { type: 'init'; config: MailWorkerConfig } | { type: 'kick' } | { type: 'stop' }
export type WorkerEvent =
  | DeliveryEvent
  | { type: 'ready'; transport: 'smtp' | 'log'; recovered: number }
  | { type: 'waiting-for-lock' }
  | { type: 'logged'; mail: LoggedMail }
  | { type: 'pruned'; count: number }
  | { type: 'error'; error: string; code?: string | undefined; fatal: boolean }
  | { type: 'stopped' }

const emit = (e: WorkerEvent) => postMessage(e)

let started = false
let stopping = false
let wakeUp: (() => void) | null = null
let kicked = false

// Installed synchronously at top level: messages that arrive before a handler exists
// are dropped, and the init message is posted right after the Worker is constructed.
self.onmessage = (ev: MessageEvent<WorkerCommand>) => {
  const msg = ev.data
  switch (msg.type) {
    case 'init':
      if (started) return
      started = true
      run(msg.config).catch((err: unknown) => {
        emit({ type: 'error', ...describe(err), fatal: true })
        emit({ type: 'stopped' })
      })
      return
    case 'kick':
      kicked = true
      wakeUp?.()
      return
    case 'stop':
      stopping = true
      wakeUp?.()
      if (!started) emit({ type: 'stopped' })
      return
  }
}

function sleep(ms: number): Promise<void> {
  // A kick that arrived while we were busy means "there may be new rows": do not sleep.
  if (kicked || stopping) {
    kicked = false
    return Promise.resolve()
  }
  return new Promise((resolve) => {
    const done = () => {
      clearTimeout(timer)
      wakeUp = null
      kicked = false
      resolve()
    }
    const timer = setTimeout(done, ms)
    wakeUp = done
  })
}

/**
 * One delivering worker per database. The lock is an exclusive lock on a small
 * SQLite file beside the database, held for the worker's lifetime; the operating
 * system releases it when the process dies, however it dies. Holding it proves that
 * no other worker is alive, so rows left in 'sending' are orphans of a crash and are
 * due again at once instead of after the lease.
 */
function tryLock(path: string): Database | null {
  const lock = new Database(path, { create: true })
  try {
    lock.run('PRAGMA busy_timeout = 0')
    lock.run('PRAGMA locking_mode = EXCLUSIVE')
    lock.run('CREATE TABLE IF NOT EXISTS mail_worker_lock (x)')
    // A write in EXCLUSIVE locking mode keeps the file locked until the connection closes.
    lock.run('BEGIN EXCLUSIVE')
    lock.run('DELETE FROM mail_worker_lock')
    lock.run('COMMIT')
    return lock
  } catch {
    lock.close()
    return null
  }
}

/** The worker's own connection: SQLite behind the delivery lock, or a small PostgreSQL pool. */
async function open(cfg: ResolvedMailWorkerConfig): Promise<{ data: Data; lock: Database | null } | null> {
  // Several instances deliver side by side on PostgreSQL: claims skip each
  // other's locked rows, and a row of a dead worker comes back when its lease expires.
  if (cfg.databaseUrl) {
    const data = pgData(cfg.databaseUrl, { max: 2 })
    // A mail committed by any instance wakes this worker at once (NOTIFY); the
    // poll stays as the fallback when a notification is missed.
    await data.pg!.listen(MAIL_CHANNEL, () => {
      kicked = true
      wakeUp?.()
    })
    return { data, lock: null }
  }
  let lock = tryLock(`${cfg.dbPath}.mail-lock`)
  if (!lock) emit({ type: 'waiting-for-lock' })
  while (!lock && !stopping) {
    await sleep(Math.max(cfg.pollIntervalMs, 1_000))
    lock = tryLock(`${cfg.dbPath}.mail-lock`)
  }
  if (!lock) return null
  // Same durability as the app's connection (synchronous=FULL): a "sent" mark
  // lost on power loss would mean a duplicate mail.
  return { data: sqliteData(cfg.dbPath, { busyTimeoutMs: cfg.busyTimeoutMs, create: false }), lock }
}

async function run(raw: MailWorkerConfig): Promise<void> {
  const cfg: ResolvedMailWorkerConfig = resolveMailConfig(raw)
  const opened = await open(cfg)
  if (!opened) {
    emit({ type: 'stopped' })
    return
  }
  const { data: db, lock } = opened
  const transport = createTransport(cfg, (mail) => emit({ type: 'logged', mail }))
  // Holding the SQLite lock proves no other worker is alive: its claims are orphans.
  const recovered = lock ? await recoverOrphans(db, cfg.retry) : 0
  emit({ type: 'ready', transport: transport.kind, recovered })

  let lastPrune = 0
  try {
    while (!stopping) {
      try {
        if (Date.now() - lastPrune >= cfg.pruneIntervalMs) {
          lastPrune = Date.now()
          const count = await prune(db, cfg.retentionMs)
          if (count > 0) emit({ type: 'pruned', count })
        }
        const claimed = await deliverDue({
          db,
          transport,
          leaseMs: cfg.leaseMs,
          batchSize: cfg.batchSize,
          policy: cfg.retry,
          shouldStop: () => stopping,
          onEvent: emit
        })
        // A full batch suggests more is due: go again without waiting.
        if (claimed < cfg.batchSize) await sleep(cfg.pollIntervalMs)
      } catch (err) {
        // Typically SQLITE_BUSY beyond busy_timeout: transient, keep the thread alive.
        emit({ type: 'error', ...describe(err), fatal: false })
        await sleep(cfg.pollIntervalMs)
      }
    }
  } finally {
    transport.close()
    await db.close()
    lock?.close()
  }
  emit({ type: 'stopped' })
}

// The class name and code only: messages can carry SQL text, paths or addresses.
function describe(err: unknown): { error: string; code?: string | undefined } {
  const name = err instanceof Error ? err.name : typeof err
  const code = (err as { code?: unknown } | null)?.code
  return { error: name, code: typeof code === 'string' ? code.slice(0, 64) : undefined }
}
