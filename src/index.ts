// Entry point: CLI verbs (serve | migrate), start-up and shutdown.
import { createApp } from './app'
import { ConfigError, parseConfig, resolveSecret, type Config } from './config'
import { DB_FILE, openDatabase } from './db/client'
import { runMigrations } from './db/migrate'
import { createLogger } from './lib/log'
import { mailWorkerConfig, startMailWorker } from './mail/mailer'
import { createUserService } from './modules/users/service'
import { sweepUploads, uploadBodyLimit } from './modules/files/service'
import { join } from 'node:path'

function fail(message: string): never {
  process.stderr.write(`roster: ${message}\n`)
  process.exit(1)
}

async function serve(config: Config) {
  const logger = createLogger(config.logLevel)
  const secret = resolveSecret(config)
  const db = openDatabase(join(config.dataDir, DB_FILE))
  runMigrations(db)
  if (config.admin) {
    const result = await createUserService(db).ensureAdmin(config.admin)
    logger.info('admin bootstrap', { username: config.admin.username, result })
  }
  sweepUploads(db, config.dataDir, logger)
  const mailer = startMailWorker(mailWorkerConfig(config), { logger })
  const app = createApp({ config, db, secret, logger, mailer })
  app.listen({ port: config.port, hostname: config.host, maxRequestBodySize: uploadBodyLimit(config.maxUploadBytes) })
  logger.info('listening', { url: `http://${config.host}:${app.server?.port}` })

  const shutdown = async (signal: string) => {
    logger.info('shutting down', { signal })
    await app.stop()
    // Lets the message being sent finish (bounded by the SMTP send timeout).
    await mailer.stop()
    db.$client.run('PRAGMA wal_checkpoint(TRUNCATE)')
    db.$client.close()
    process.exit(0)
  }
  process.once('SIGTERM', () => void shutdown('SIGTERM'))
  process.once('SIGINT', () => void shutdown('SIGINT'))
}

async function main(argv: string[]) {
  const verb = argv[0] ?? 'serve'
  let config: Config
  try {
    config = parseConfig()
  } catch (err) {
    if (err instanceof ConfigError) fail(err.message)
    throw err
  }
  switch (verb) {
    case 'serve':
      return serve(config)
    case 'migrate': {
      const db = openDatabase(join(config.dataDir, DB_FILE))
      runMigrations(db)
      db.$client.close()
      process.stdout.write('migrations applied\n')
      return
    }
    default:
      fail(`unknown command ${JSON.stringify(verb)}; try: serve, migrate`)
  }
}

main(process.argv.slice(2)).catch((err) => {
  if (err instanceof ConfigError) fail(err.message)
  fail(`start failed (${err instanceof Error ? err.name : 'error'})`)
})
