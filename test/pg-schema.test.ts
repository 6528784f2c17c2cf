// The two schemas describe one data model: the row types must be identical
// (checked by the compiler: `bun run typecheck` fails on drift) and so must the
// tables, columns, nullability, defaults, keys and indexes (checked here).
// When this fails: change src/db/schema.pg.ts to match src/db/schema.ts and
// run `bun run db:generate`, which writes both migration histories.
import { describe, expect, test } from 'bun:test'
import { getTableColumns, getTableName, is, Table } from 'drizzle-orm'
import { getTableConfig as pgConfig } from 'drizzle-orm/pg-core'
import { getTableConfig as sqliteConfig } from 'drizzle-orm/sqlite-core'
import * as lite from '../src/db/schema'
import * as pg from '../src/db/schema.pg'
import { openPostgres, pgMigrationStatus, runPgMigrations } from '../src/db/pg'
import { migrations as pgMigrations } from '../src/db/migrations.pg.gen'
import { foldKey } from '../src/lib/unicode'
import { emptyDatabase } from './pg'

// Exact type equality (not mere assignability), evaluated by tsc.
type Equal<A, B> = (<T>() => T extends A ? 1 : 2) extends <T>() => T extends B ? 1 : 2 ? true : false
type Same<L extends Table, P extends Table> = Equal<L['$inferSelect'], P['$inferSelect']> extends true
  ? Equal<L['$inferInsert'], P['$inferInsert']>
  : false
const rowTypesMatch: {
  users: Same<typeof lite.users, typeof pg.users>
  sessions: Same<typeof lite.sessions, typeof pg.sessions>
  passwordResetTokens: Same<typeof lite.passwordResetTokens, typeof pg.passwordResetTokens>
  emailOutbox: Same<typeof lite.emailOutbox, typeof pg.emailOutbox>
  files: Same<typeof lite.files, typeof pg.files>
  totpSecrets: Same<typeof lite.totpSecrets, typeof pg.totpSecrets>
  recoveryCodes: Same<typeof lite.recoveryCodes, typeof pg.recoveryCodes>
  mfaChallenges: Same<typeof lite.mfaChallenges, typeof pg.mfaChallenges>
  accessTokens: Same<typeof lite.accessTokens, typeof pg.accessTokens>
  counters: Same<typeof lite.counters, typeof pg.counters>
  emailVerificationTokens: Same<typeof lite.emailVerificationTokens, typeof pg.emailVerificationTokens>
  invitations: Same<typeof lite.invitations, typeof pg.invitations>
  auditEvents: Same<typeof lite.auditEvents, typeof pg.auditEvents>
  auditChain: Same<typeof lite.auditChain, typeof pg.auditChain>
} = {
  users: true,
  sessions: true,
  passwordResetTokens: true,
  emailOutbox: true,
  files: true,
  totpSecrets: true,
  recoveryCodes: true,
  mfaChallenges: true,
  accessTokens: true,
  counters: true,
  emailVerificationTokens: true,
  invitations: true,
  auditEvents: true,
  auditChain: true
}

function tables(mod: Record<string, unknown>): Map<string, Table> {
  const out = new Map<string, Table>()
  for (const v of Object.values(mod)) if (is(v, Table)) out.set(getTableName(v), v)
  return out
}

function describeColumns(t: Table) {
  return Object.fromEntries(
    Object.entries(getTableColumns(t)).map(([key, c]) => [
      key,
      { name: c.name, notNull: c.notNull, hasDefault: c.hasDefault, primary: c.primary, enumValues: c.enumValues ?? null }
    ])
  )
}

// Index names, their uniqueness and their columns (an expression shows as its SQL).
function describeIndexes(cfg: { indexes: { config: { name?: string; unique: boolean; columns: unknown[] } }[] }) {
  return cfg.indexes
    .map((i) => ({
      name: i.config.name,
      unique: i.config.unique,
      columns: i.config.columns.map((c) => (c as { name?: string }).name ?? 'expression')
    }))
    .sort((a, b) => String(a.name).localeCompare(String(b.name)))
}

function describeForeignKeys(fks: { reference(): { columns: { name: string }[]; foreignTable: Table; foreignColumns: { name: string }[] }; onDelete?: string }[]) {
  return fks
    .map((fk) => {
      const r = fk.reference()
      return `${r.columns.map((c) => c.name)} -> ${getTableName(r.foreignTable)}(${r.foreignColumns.map((c) => c.name)}) on delete ${fk.onDelete ?? 'no action'}`
    })
    .sort()
}

describe('SQLite and PostgreSQL schemas', () => {
  const l = tables(lite)
  const p = tables(pg)

  test('row types are identical (compile time)', () => {
    expect(Object.values(rowTypesMatch).every((v) => v === true)).toBe(true)
  })

  test('declare the same tables', () => {
    expect([...p.keys()].sort()).toEqual([...l.keys()].sort())
  })

  for (const [name, table] of tables(lite)) {
    test(`${name}: same columns, keys, indexes and foreign keys`, () => {
      const twin = p.get(name)
      expect(twin).toBeDefined()
      expect(describeColumns(twin!)).toEqual(describeColumns(table))
      const lc = sqliteConfig(table as never)
      const pc = pgConfig(twin as never)
      expect(describeIndexes(pc)).toEqual(describeIndexes(lc))
      expect(describeForeignKeys(pc.foreignKeys as never)).toEqual(describeForeignKeys(lc.foreignKeys as never))
    })
  }
})

describe('PostgreSQL migrations', () => {
  test('four instances migrating one empty database at once all succeed, once', async () => {
    const url = await emptyDatabase()
    const dbs = Array.from({ length: 4 }, () => openPostgres(url, { max: 2 }))
    try {
      const results = await Promise.allSettled(dbs.map((db) => runPgMigrations(db)))
      expect(results.map((r) => r.status)).toEqual(['fulfilled', 'fulfilled', 'fulfilled', 'fulfilled'])
      expect(await pgMigrationStatus(dbs[0]!)).toEqual({ known: pgMigrations.length, applied: pgMigrations.length })
      const rows = await dbs[0]!.$client`SELECT table_name FROM information_schema.tables WHERE table_schema = 'public' ORDER BY 1`
      expect(rows.map((r: { table_name: string }) => r.table_name)).toEqual([...tables(pg).keys()].sort())
      // The generated SQL matches the schema file (a stale drizzle-pg/ fails here).
      for (const [name, table] of tables(pg)) {
        const cols = await dbs[0]!.$client`SELECT column_name FROM information_schema.columns WHERE table_name = ${name} ORDER BY 1`
        expect(cols.map((c: { column_name: string }) => c.column_name)).toEqual(Object.values(getTableColumns(table)).map((c) => c.name).sort())
      }
    } finally {
      await Promise.all(dbs.map((db) => db.$client.close()))
    }
  })

  test('a second run on a migrated database changes nothing', async () => {
    const url = await emptyDatabase()
    const db = openPostgres(url, { max: 2 })
    try {
      await runPgMigrations(db)
      await runPgMigrations(db)
      const [row] = await db.$client`SELECT count(*)::int AS n FROM drizzle.__drizzle_migrations`
      expect(row.n).toBe(pgMigrations.length)
    } finally {
      await db.$client.close()
    }
  })

  test('the folded-key username index holds on PostgreSQL too', async () => {
    const url = await emptyDatabase()
    const db = openPostgres(url, { max: 2 })
    try {
      await runPgMigrations(db)
      const row = { email: 'a@example.com', hashedPassword: 'x', createdAt: 'now', updatedAt: 'now' }
      // The key is computed by the application (lib/unicode.ts foldKey), as on SQLite.
      await db.insert(pg.users).values({ ...row, username: 'Иван', usernameKey: foldKey('Иван'), emailKey: foldKey(row.email) })
      const err = await db
        .insert(pg.users)
        .values({ ...row, username: 'иван', email: 'b@example.com', usernameKey: foldKey('иван'), emailKey: 'b@example.com' })
        .then(() => undefined, (e: unknown) => e as { cause?: { errno?: string } })
      expect(err?.cause?.errno).toBe('23505')
    } finally {
      await db.$client.close()
    }
  })
})

