// Applies drizzle-kit's migrations at start-up from SQL embedded in the program
// (migrations.gen.ts), so the compiled binary needs no drizzle/ folder beside it.
// Drizzle's own migrator does the bookkeeping (__drizzle_migrations, one
// transaction), fed with the embedded SQL instead of files read at run time.
import type { MigrationMeta } from 'drizzle-orm/migrator'
import type { Db } from './client'
import { migrations } from './migrations.gen'

interface Migratable {
  dialect: { migrate(m: MigrationMeta[], session: unknown, config: object): void }
  session: unknown
}

export function runMigrations(db: Db): void {
  const metas: MigrationMeta[] = migrations.map((m) => ({
    sql: m.sql.split('--> statement-breakpoint'),
    bps: true,
    folderMillis: m.when,
    hash: m.hash
  }))
  const d = db as unknown as Migratable
  d.dialect.migrate(metas, d.session, { migrationsFolder: '(embedded)' })
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
