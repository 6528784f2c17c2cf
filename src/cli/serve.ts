// `roster serve`: open the database, apply migrations, listen, and shut down
// gracefully on SIGTERM/SIGINT.
import { createApp } from '../app'
import type { Config } from '../config'
import { createLogger } from '../lib/log'
import { mailWorkerConfig, startMailWorker } from '../mail/mailer'
import { sweepUploads } from '../modules/files/service'
import { CliError, codeOf } from './errors'
import { startAuditRetention } from '../modules/audit/retention'
import { lockDataDir } from './lock'
import { createServices } from '../services'
import { openData, readSecret } from './open'

/**
 * How long in-flight requests get to finish before their connections are closed.
 * With BACKGROUND_TIMEOUT_MS this stays under the 10 s that `docker stop` and
 * many supervisors wait before SIGKILL.
 */
export const DRAIN_TIMEOUT_MS = 5_000
/** How long background tasks (stopped together) get to finish their current item. */
export const BACKGROUND_TIMEOUT_MS = 3_000
/** With several instances on one UPLOAD_DIR, the start-up sweep leaves anything younger alone. */
export const SHARED_SWEEP_MIN_AGE_MS = 60 * 60 * 1000

/** Background work that runs beside the server (the mail worker, sweeps, ...). */
export interface BackgroundTask {
  name: string
  /** Lets the current item finish, then resolves; nothing new is started. */
  stop(): Promise<void> | void
}

/** Resolves with the work's result, or 'timeout' after `ms`. The timer keeps the process alive meanwhile. */
async function within<T>(work: Promise<T>, ms: number): Promise<T | 'timeout'> {
  let timer: ReturnType<typeof setTimeout> | undefined
  try {
    return await Promise.race([work, new Promise<'timeout'>((resolve) => (timer = setTimeout(resolve, ms, 'timeout')))])
  } finally {
    clearTimeout(timer)
  }
}

export async function serve(config: Config): Promise<void> {
  const logger = createLogger(config.logLevel)
  const secret = readSecret(config)
  // With SQLite, before the database is touched: a second serve on this
  // DATA_DIR stops here. Held until the process exits (the kernel drops it
  // then, even on kill -9). Kept referenced: a collected handle would close the
  // file and drop the lock. Instances sharing PostgreSQL need no such lock.
  const lock = config.databaseUrl ? undefined : lockDataDir(config.dataDir)
  const data = await openData(config, logger)

  // Stopped together on shutdown, after the server has drained (requests may
  // enqueue work until then) and before the WAL checkpoint.
  const background: BackgroundTask[] = []
  const mailer = startMailWorker(mailWorkerConfig(config), { logger })
  // Lets the message being sent finish. A send that outlasts the bound is cut
  // off; its row stays claimed and is re-queued at the next start (at least once).
  background.push({ name: 'mail', stop: () => mailer.stop() })

  // The same wiring as every other path: the bootstrap admin gets the hooks a signup gets.
  const services = createServices({ config, data, secret, logger, mailer })
  background.push(startAuditRetention(services.audit, config.auditRetentionDays, logger))
  if (config.admin) {
    const result = await services.users.ensureAdmin(config.admin)
    logger.info('admin bootstrap', { username: config.admin.username, result })
  }

  // Temporary files and rows without bytes left by a crash mid-upload.
  // Several instances share UPLOAD_DIR on PostgreSQL: only what is an hour old
  // is swept, never another instance's upload in flight (or its fresh row).
  await sweepUploads(data, config.uploadDir, logger, data.kind === 'pg' ? SHARED_SWEEP_MIN_AGE_MS : 0)

  const app = createApp({ config, data, logger }, services)
  try {
    // Every route caps its own body and refuses with the contract's JSON 413
    // (JSON and forms at 1 MiB, uploads at MAX_UPLOAD_BYTES plus framing), a
    // declared Content-Length before reading a byte. Bun's own limit answers an
    // empty 413 before any handler runs, so it is set out of reach.
    // reusePort off (Elysia turns it on): a second process on the same port
    // must fail with EADDRINUSE, not silently take half the connections.
    app.listen({ port: config.port, hostname: config.host, reusePort: false, maxRequestBodySize: Number.MAX_SAFE_INTEGER })
  } catch (err) {
    await data.close()
    const inUse = (err as { code?: unknown })?.code === 'EADDRINUSE'
    throw new CliError(`cannot listen on ${config.host}:${config.port}${inUse ? ': the address is in use by another program' : ''}${codeOf(err)}`)
  }
  const server = app.server
  if (!server) throw new Error('server did not start')
  // performance.now() counts from process start: the boot time, without a client's polling.
  logger.info('listening', { url: `http://${config.host.includes(':') ? `[${config.host}]` : config.host}:${server.port}`, startup_ms: Math.round(performance.now()) })

  let stopping = false
  const shutdown = async (signal: string) => {
    if (stopping) {
      // A second signal: stop waiting for slow clients. Commits are already
      // durable (synchronous=FULL), so this loses no acknowledged write.
      logger.warn('forcing shutdown', { signal })
      void server.stop(true)
      return
    }
    stopping = true
    const started = performance.now()
    logger.info('shutting down', { signal })

    // 1. Stop accepting; let in-flight requests finish, within a bound.
    const drained = await within(app.stop(false), DRAIN_TIMEOUT_MS)
    if (drained === 'timeout') {
      logger.warn('requests still in flight, closing their connections', { after_ms: DRAIN_TIMEOUT_MS })
      await server.stop(true)
    }

    // 2. Background work finishes its current item (all tasks at once, one bound).
    await Promise.all(
      background.map(async (task) => {
        try {
          const r = await within(Promise.resolve(task.stop()), BACKGROUND_TIMEOUT_MS)
          if (r === 'timeout') logger.warn('background task did not stop in time', { task: task.name })
        } catch (err) {
          logger.error('background task failed to stop', { task: task.name, error: err instanceof Error ? err.name : 'error' })
        }
      })
    )

    // 3. Fold the WAL into the database file and close it: the next start (or a
    // plain file copy) finds one self-contained roster.db.
    let exitCode = 0
    try {
      data.sqlite?.run('PRAGMA wal_checkpoint(TRUNCATE)')
      await data.close()
    } catch (err) {
      exitCode = 1
      logger.error('closing the database failed', { error: err instanceof Error ? err.name : 'error' })
    }
    logger.info('stopped', { duration_ms: Math.round(performance.now() - started) })
    lock?.release()
    process.exit(exitCode)
  }
  process.on('SIGTERM', () => void shutdown('SIGTERM'))
  process.on('SIGINT', () => void shutdown('SIGINT'))
}
