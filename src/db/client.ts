import { Database } from 'bun:sqlite'
import { drizzle, type BunSQLiteDatabase } from 'drizzle-orm/bun-sqlite'
import { chmodSync, closeSync, mkdirSync, openSync } from 'node:fs'
import { dirname } from 'node:path'
import * as schema from './schema'

export type Db = BunSQLiteDatabase<typeof schema> & { $client: Database }

/** The handle a transaction callback receives; services pass it to hooks so their writes commit together. */
export type Tx = Parameters<Parameters<Db['transaction']>[0]>[0]

export const DB_FILE = 'roster.db'

/**
 * The database holds password hashes: its file, and the -wal and -shm files
 * SQLite creates beside it, are readable by their owner only, whatever the
 * umask. The file is created 0600 before SQLite opens it (SQLite gives the -wal
 * and -shm files it creates later the database file's mode); files left with
 * wider modes by an earlier version are tightened.
 */
function restrictDatabaseFiles(path: string): void {
  mkdirSync(dirname(path), { recursive: true, mode: 0o700 })
  closeSync(openSync(path, 'a', 0o600))
  for (const file of [path, `${path}-wal`, `${path}-shm`]) {
    try {
      chmodSync(file, 0o600)
    } catch (err) {
      if ((err as { code?: unknown })?.code !== 'ENOENT') throw err
    }
  }
}

/**
 * Opens the database with the settings every connection needs.
 *
 * WAL lets readers run beside the writer. synchronous=FULL: every commit that
 * returned survives a process crash (kill -9) and also a power loss or kernel
 * panic; NORMAL would be faster on writes but may lose the last commits on power
 * loss, and "nothing acknowledged is ever lost" is the promise (see README).
 */
export function openDatabase(path: string, opts: { create?: boolean } = {}): Db {
  const create = opts.create ?? true
  if (create && path !== ':memory:') restrictDatabaseFiles(path)
  const sqlite = new Database(path, create ? { create: true, strict: true } : { readwrite: true, strict: true })
  sqlite.run('PRAGMA journal_mode = WAL')
  sqlite.run('PRAGMA synchronous = FULL')
  sqlite.run('PRAGMA foreign_keys = ON')
  // Writers wait for each other instead of failing with SQLITE_BUSY; the mail
  // worker and the CLI's backup share the file with the server.
  sqlite.run('PRAGMA busy_timeout = 5000')
  sqlite.run('PRAGMA cache_size = -16000')
  sqlite.run('PRAGMA temp_store = MEMORY')
  return drizzle({ client: sqlite, schema }) as Db
}
