// What the verbs that touch data share: the database opened and migrated, and
// the signing secret createServices needs.
import { join } from 'node:path'
import { ConfigError, resolveSecret, type Config } from '../config'
import { DB_FILE } from '../db/client'
import { pgData, sqliteData, type Data } from '../db/data'
import { CliError, codeOf } from './errors'

/**
 * Opens and migrates the database (DATABASE_URL's PostgreSQL, else the SQLite
 * file in DATA_DIR); a failure is one line naming the variable, never the URL
 * or the path.
 */
export async function openData(config: Config): Promise<Data> {
  const variable = config.databaseUrl ? 'DATABASE_URL' : 'DATA_DIR'
  let data: Data
  try {
    data = config.databaseUrl ? pgData(config.databaseUrl) : sqliteData(join(config.dataDir, DB_FILE))
  } catch (err) {
    throw new CliError(`${variable}: cannot open the database${codeOf(err)}`)
  }
  try {
    await data.migrate()
  } catch (err) {
    await data.close().catch(() => {})
    // Migrations run in one transaction: nothing was changed.
    const errno = (err as { errno?: unknown; cause?: { errno?: unknown } })?.cause?.errno ?? (err as { errno?: unknown })?.errno
    const code = typeof errno === 'string' ? ` (${errno})` : codeOf(err)
    throw new CliError(`${variable}: applying migrations failed, the database is unchanged${code}`)
  }
  return data
}

/** SECRET_KEY, or the key generated once and kept in DATA_DIR. */
export function readSecret(config: Config): string {
  try {
    return resolveSecret(config)
  } catch (err) {
    if (err instanceof ConfigError) throw err
    throw new CliError(`DATA_DIR: cannot create or read the data folder${codeOf(err)}`)
  }
}
