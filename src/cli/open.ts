// What the verbs that touch data share: the database opened and migrated, and
// the signing secret createServices needs.
import { accessSync, chmodSync, constants, mkdirSync } from 'node:fs'
import { join } from 'node:path'
import { ConfigError, resolveSecret, type Config } from '../config'
import { DB_FILE } from '../db/client'
import { pgData, sqliteData, type Data } from '../db/data'
import { KeyFillError } from '../db/user-keys'
import { createLogger, type Logger } from '../lib/log'
import { CliError, codeOf } from './errors'

/**
 * Creates DATA_DIR (mode 0700) or tightens an existing one to 0700, and checks
 * that this process may write in it. A failure is one line naming the folder
 * and the system's own reason (EACCES, EROFS, ENOTDIR...).
 */
export function prepareDataDir(dataDir: string): void {
  try {
    mkdirSync(dataDir, { recursive: true, mode: 0o700 })
  } catch (err) {
    throw new CliError(`DATA_DIR: cannot create ${dataDir}${codeOf(err)}`)
  }
  try {
    accessSync(dataDir, constants.R_OK | constants.W_OK | constants.X_OK)
  } catch (err) {
    throw new CliError(`DATA_DIR: ${dataDir} is not writable by this user${codeOf(err)}`)
  }
  try {
    // Uploads, the database and the generated secret live here.
    chmodSync(dataDir, 0o700)
  } catch (err) {
    throw new CliError(`DATA_DIR: cannot restrict ${dataDir} to its owner (mode 0700)${codeOf(err)}`)
  }
}

/**
 * Opens and migrates the database (DATABASE_URL's PostgreSQL, else the SQLite
 * file in DATA_DIR); a failure is one line naming the variable, never the URL
 * or the path.
 */
export async function openData(config: Config, logger: Logger = createLogger(config.logLevel)): Promise<Data> {
  const variable = config.databaseUrl ? 'DATABASE_URL' : 'DATA_DIR'
  if (!config.databaseUrl) prepareDataDir(config.dataDir)
  let data: Data
  try {
    data = config.databaseUrl ? pgData(config.databaseUrl) : sqliteData(join(config.dataDir, DB_FILE))
  } catch (err) {
    throw new CliError(`${variable}: cannot open the database${config.databaseUrl ? '' : ` in ${config.dataDir}`}${codeOf(err)}`)
  }
  try {
    const report = await data.migrate()
    if (report.keyCollisions.length) {
      logger.warn('users whose name or e-mail collides with an older user after Unicode folding; rename them', { user_ids: report.keyCollisions.join(',') })
    }
  } catch (err) {
    await data.close().catch(() => {})
    const failed = err instanceof KeyFillError ? err.cause : err
    const errno = (failed as { errno?: unknown; cause?: { errno?: unknown } })?.cause?.errno ?? (failed as { errno?: unknown })?.errno
    const code = typeof errno === 'string' ? ` (${errno})` : codeOf(failed)
    if (err instanceof KeyFillError) {
      // The keys are filled a batch per transaction: the committed batches stay.
      throw new CliError(`${variable}: filling the users' comparison keys failed; the users done so far keep theirs and the next start continues${code}`)
    }
    // Migrations run in one transaction: nothing was changed.
    throw new CliError(`${variable}: applying migrations failed, the database is unchanged${code}`)
  }
  return data
}

/** SECRET_KEY, or the key generated once and kept in DATA_DIR. */
export function readSecret(config: Config): string {
  prepareDataDir(config.dataDir)
  try {
    return resolveSecret(config)
  } catch (err) {
    if (err instanceof ConfigError) throw err
    throw new CliError(`DATA_DIR: cannot create or read the secret key in ${config.dataDir}${codeOf(err)}`)
  }
}
