// Applies drizzle-kit's migrations at start-up from SQL embedded in the program
// (migrations.gen.ts), so the compiled binary needs no drizzle/ folder beside it.
// Drizzle's own migrator does the bookkeeping (__drizzle_migrations, one
// transaction), fed with the embedded SQL instead of files read at run time.
import type { MigrationMeta } from 'drizzle-orm/migrator'
import { foldKey } from '../lib/unicode'
import type { Db } from './client'
import { migrations } from './migrations.gen'

interface Migratable {
  dialect: { migrate(m: MigrationMeta[], session: unknown, config: object): void }
  session: unknown
}

/** What a start-up's migration did besides the SQL: see fillUserKeys. */
export interface MigrationReport {
  /** Users whose name or address collides with an older user's after Unicode folding. */
  keyCollisions: number[]
}

export function runMigrations(db: Db): MigrationReport {
  const metas: MigrationMeta[] = migrations.map((m) => ({
    sql: m.sql.split('--> statement-breakpoint'),
    bps: true,
    folderMillis: m.when,
    hash: m.hash
  }))
  const d = db as unknown as Migratable
  d.dialect.migrate(metas, d.session, { migrationsFolder: '(embedded)' })
  return { keyCollisions: fillUserKeys(db) }
}

/**
 * Fills users.username_key and users.email_key where they are missing (rows
 * written before the keys existed), in id order, in one transaction. SQL
 * cannot compute them (SQLite has no NFKC nor Unicode case folding), so this
 * runs after the migration, at every start; with nothing to fill it is one
 * indexed lookup.
 *
 * Two existing users whose names (or addresses) fold to the same key
 * (`Straße`/`strasse`, written when only ASCII case was compared): the older
 * one keeps the key; the newer one keeps its row, data and sessions but gets a
 * key no name can fold to (`<key>\u0000<id>`), so it cannot be reached by that
 * name at login (its e-mail address, or the other way round, still works) until
 * an admin renames it. Their ids are returned for the log.
 */
export function fillUserKeys(db: Db): number[] {
  const sqlite = db.$client
  const missing = sqlite
    .query<{ id: number; username: string; email: string; usernameKey: string | null; emailKey: string | null }, []>(
      'SELECT id, username, email, username_key AS usernameKey, email_key AS emailKey FROM users WHERE username_key IS NULL OR email_key IS NULL ORDER BY id'
    )
    .all()
  if (missing.length === 0) return []
  const byUsername = sqlite.query<{ id: number }, [string]>('SELECT id FROM users WHERE username_key = ?')
  const byEmail = sqlite.query<{ id: number }, [string]>('SELECT id FROM users WHERE email_key = ?')
  const set = sqlite.query('UPDATE users SET username_key = ?, email_key = ? WHERE id = ?')
  const collisions: number[] = []
  sqlite.transaction(() => {
    for (const row of missing) {
      let usernameKey = row.usernameKey ?? foldKey(row.username)
      let emailKey = row.emailKey ?? foldKey(row.email)
      let collided = false
      if (row.usernameKey === null && byUsername.get(usernameKey)) {
        usernameKey = `${usernameKey}\u0000${row.id}`
        collided = true
      }
      if (row.emailKey === null && byEmail.get(emailKey)) {
        emailKey = `${emailKey}\u0000${row.id}`
        collided = true
      }
      if (collided) collisions.push(row.id)
      set.run(usernameKey, emailKey, row.id)
    }
  }).immediate()
  return collisions
}

/** The number of migrations this program carries and how many the database has. */
export function migrationStatus(db: Db): { known: number; applied: number } {
  const row = db.$client
    .query<{ n: number }, []>(
      "SELECT count(*) AS n FROM sqlite_master WHERE type = 'table' AND name = '__drizzle_migrations'"
    )
    .get()
  const applied = row && row.n > 0
    ? (db.$client.query<{ n: number }, []>('SELECT count(*) AS n FROM __drizzle_migrations').get()?.n ?? 0)
    : 0
  return { known: migrations.length, applied }
}

/** Readiness: the database answers and every migration this program carries is applied. */
export function databaseReady(db: Db): boolean {
  db.$client.query('SELECT 1').get()
  const s = migrationStatus(db)
  return s.applied >= s.known
}
