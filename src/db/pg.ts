// PostgreSQL through Bun's built-in client (Bun.SQL) and drizzle-orm/bun-sql:
// no extra dependency, and the fastest of the clients measured here.
import { SQL } from 'bun'
import { drizzle, type BunSQLDatabase } from 'drizzle-orm/bun-sql'
import type { MigrationMeta } from 'drizzle-orm/migrator'
import * as schema from './schema.pg'
import { migrations } from './migrations.pg.gen'

export type PgDb = BunSQLDatabase<typeof schema> & { $client: SQL }

export function openPostgres(url: string, opts: { max?: number } = {}): PgDb {
  const client = new SQL(url, { max: opts.max ?? 10 })
  return drizzle({ client, schema }) as PgDb
}

/**
 * Key of the session-level advisory lock held while migrating: instances that
 * start together queue behind the first one instead of racing to create the
 * same tables (which fails with 23505 on the catalog).
 */
export const MIGRATION_LOCK_KEY = 0x526f7374 // "Rost"

interface Migratable {
  dialect: { migrate(m: MigrationMeta[], session: unknown, config: object): Promise<void> }
  session: unknown
}

export async function runPgMigrations(db: PgDb): Promise<void> {
  const metas: MigrationMeta[] = migrations.map((m) => ({
    sql: m.sql.split('--> statement-breakpoint'),
    bps: true,
    folderMillis: m.when,
    hash: m.hash
  }))
  // The lock lives on one reserved connection for the whole run; the migrator
  // uses the pool (its own transaction), which the lock does not need to share.
  const lock = await db.$client.reserve()
  try {
    await lock`SELECT pg_advisory_lock(${MIGRATION_LOCK_KEY})`
    try {
      const d = db as unknown as Migratable
      await d.dialect.migrate(metas, d.session, { migrationsFolder: '(embedded)' })
    } finally {
      await lock`SELECT pg_advisory_unlock(${MIGRATION_LOCK_KEY})`
    }
  } finally {
    lock.release()
  }
}

/** The number of migrations this program carries and how many the database has. */
export async function pgMigrationStatus(db: PgDb): Promise<{ known: number; applied: number }> {
  const [row] = await db.$client`SELECT to_regclass('drizzle.__drizzle_migrations') IS NOT NULL AS present`
  const applied = row?.present ? Number((await db.$client`SELECT count(*) AS n FROM drizzle.__drizzle_migrations`)[0]?.n ?? 0) : 0
  return { known: migrations.length, applied }
}
