// One `serve` per DATA_DIR: two processes on one SQLite file would each keep
// their own in-memory rate limiter, login throttle and grace-window cache, and
// their own mail worker. The lock is SQLite's own file lock (POSIX fcntl) on a
// small file beside the database, taken by an EXCLUSIVE transaction that stays
// open for the life of the process: the kernel drops it when the process ends,
// however it ends (kill -9 included), so it never goes stale. Other verbs
// (backup, migrate, create-admin) do not take it: they are meant to run beside
// a server.
import { Database } from 'bun:sqlite'
import { chmodSync } from 'node:fs'
import { join } from 'node:path'
import { CliError, codeOf } from './errors'

export const LOCK_FILE = 'roster.lock'

/**
 * Holds the DATA_DIR lock until released or the process exits; throws a
 * one-line CliError when another Roster has it. The caller must keep the
 * returned handle referenced: a garbage-collected handle closes the file, and
 * closing it drops the lock.
 */
export function lockDataDir(dataDir: string): { release(): void } {
  const path = join(dataDir, LOCK_FILE)
  let db: Database
  try {
    db = new Database(path, { create: true })
    chmodSync(path, 0o600)
  } catch (err) {
    throw new CliError(`DATA_DIR: cannot create ${path}${codeOf(err)}`)
  }
  try {
    // No busy timeout: a held lock answers SQLITE_BUSY at once.
    db.run('PRAGMA busy_timeout = 0')
    db.run('BEGIN EXCLUSIVE')
  } catch (err) {
    db.close()
    if ((err as { code?: unknown })?.code === 'SQLITE_BUSY') throw new CliError(`DATA_DIR: another Roster is already serving ${dataDir}`)
    throw new CliError(`DATA_DIR: cannot lock ${path}${codeOf(err)}`)
  }
  return {
    release() {
      try {
        db.run('ROLLBACK')
      } finally {
        db.close()
      }
    }
  }
}
