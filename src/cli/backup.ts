// `roster backup FILE`: a consistent copy of the live database, safe while the
// server runs. VACUUM INTO reads inside one transaction, so the copy is a
// snapshot of one moment (a WAL reader does not block the writer). It is written
// beside FILE under a temporary name, synced, checked, and only then given FILE's
// name, so FILE is never a half-written database.
import { Database } from 'bun:sqlite'
import { accessSync, chmodSync, constants, existsSync, linkSync, realpathSync, renameSync, rmSync, statSync } from 'node:fs'
import { basename, dirname, join, resolve } from 'node:path'
import type { Config } from '../config'
import { DB_FILE } from '../db/client'
import { fsyncPath } from '../lib/fsync'
import { CliError, codeOf, UsageError } from './errors'

export async function backup(config: Config, file: string, force: boolean): Promise<void> {
  // PostgreSQL has its own consistent online dump; Roster does not wrap it.
  if (config.databaseUrl) throw new UsageError('backup copies the SQLite file; with DATABASE_URL use pg_dump instead')
  const source = join(config.dataDir, DB_FILE)
  if (!existsSync(source)) throw new CliError('there is no database in DATA_DIR to back up')
  const dest = resolve(file)
  const live = realpathSync(source)
  for (const p of [live, `${live}-wal`, `${live}-shm`]) {
    if (existsSync(dest) && realpathSync(dest) === p) throw new CliError(`${file} is the live database; choose another file`)
  }
  if (existsSync(dest) && !force) throw new CliError(`${file} already exists (use --force to replace it)`)
  if (existsSync(dest) && statSync(dest).isDirectory()) throw new CliError(`${file} is a directory`)

  // SQLite would only say SQLITE_CANTOPEN: name the folder and the system's reason.
  const folder = dirname(file)
  try {
    if (!statSync(dirname(dest)).isDirectory()) throw Object.assign(new Error('not a directory'), { code: 'ENOTDIR' })
    accessSync(dirname(dest), constants.W_OK | constants.X_OK)
  } catch (err) {
    const code = (err as { code?: unknown })?.code
    const why = code === 'ENOENT' ? 'does not exist' : code === 'ENOTDIR' ? 'is not a folder' : code === 'EACCES' || code === 'EPERM' ? 'is not writable by this user' : 'cannot be written'
    throw new CliError(`backup to ${file} failed: the folder ${folder} ${why}${codeOf(err)}`)
  }

  const tmp = join(dirname(dest), `.${basename(dest)}.tmp-${process.pid}-${Date.now()}`)
  let db: Database | undefined
  try {
    db = new Database(source, { readwrite: true, create: false })
    db.run('PRAGMA busy_timeout = 5000')
    db.run('VACUUM INTO ?', [tmp])
    db.close()
    db = undefined

    // SQLite does not sync VACUUM INTO's output: do it before the rename. The
    // copy holds password hashes, so it is readable by its owner only.
    chmodSync(tmp, 0o600)
    fsyncPath(tmp)
    const check = new Database(tmp, { readonly: true })
    let users = 0
    try {
      const ok = check.query<{ integrity_check: string }, []>('PRAGMA integrity_check').get()?.integrity_check
      if (ok !== 'ok') throw new CliError('the copy failed its integrity check; the database itself may be damaged')
      users = check.query<{ n: number }, []>('SELECT count(*) AS n FROM users').get()?.n ?? 0
    } finally {
      check.close()
    }

    if (force) {
      renameSync(tmp, dest)
    } else {
      // link() refuses to replace a file that appeared meanwhile; rename() would not.
      linkSync(tmp, dest)
      rmSync(tmp)
    }
    fsyncPath(dirname(dest))
    process.stdout.write(`backup written to ${file} (${users} users, ${statSync(dest).size} bytes)\n`)
  } catch (err) {
    db?.close()
    rmSync(tmp, { force: true })
    if (err instanceof CliError) throw err
    if ((err as { code?: unknown })?.code === 'EEXIST') throw new CliError(`${file} already exists (use --force to replace it)`)
    throw new CliError(`backup to ${file} failed${codeOf(err)}`)
  }
}
