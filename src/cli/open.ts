// What the verbs that touch data share: the database opened and migrated, and
// the signing secret createServices needs.
import { join } from 'node:path'
import { ConfigError, resolveSecret, type Config } from '../config'
import { DB_FILE, openDatabase, type Db } from '../db/client'
import { runMigrations } from '../db/migrate'
import { CliError, codeOf } from './errors'

/** Opens and migrates the database; a failure is one line naming the variable, not the path. */
export function openData(config: Config): Db {
  // The PostgreSQL schema and migrations exist; the services do not run on it yet.
  if (config.databaseUrl) throw new CliError('DATABASE_URL: PostgreSQL is not supported by this build; unset it to use SQLite')
  let db: Db | undefined
  try {
    db = openDatabase(join(config.dataDir, DB_FILE))
  } catch (err) {
    throw new CliError(`DATA_DIR: cannot open the database${codeOf(err)}`)
  }
  try {
    runMigrations(db)
  } catch (err) {
    db.$client.close()
    // Migrations run in one transaction: nothing was changed.
    throw new CliError(`applying migrations failed, the database is unchanged${codeOf(err)}`)
  }
  return db
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
