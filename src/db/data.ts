// The data layer every feature is written against, once: Drizzle's query
// builder over either engine, typed as the PostgreSQL flavour (the SQLite
// schema has identical row types, test/pg-schema.test.ts). Features await every
// query; on SQLite the statement runs synchronously inside that await.
//
// What differs between the engines lives here and nowhere else:
// - transactions: PostgreSQL's are real (drizzle-orm/bun-sql); on SQLite one
//   writer connection and a queue make an async callback truly isolated
//   (drizzle's bun-sqlite transaction() commits before the callback's awaits run);
// - row locks: FOR UPDATE and advisory locks on PostgreSQL; on SQLite the
//   writer transaction (BEGIN IMMEDIATE) already excludes every other writer;
// - error codes: SQLSTATE on PostgreSQL, extended result codes on SQLite.
import type { Database } from 'bun:sqlite'
import type { SQL } from 'bun'
import { drizzle as drizzleSqlite } from 'drizzle-orm/bun-sqlite'
import type { BunSQLQueryResultHKT } from 'drizzle-orm/bun-sql'
import type { PgDatabase } from 'drizzle-orm/pg-core'
import { sql } from 'drizzle-orm'
import type { MaybePromise } from '../lib/maybe'
import { openDatabase, type Db as SqliteDb } from './client'
import { migrationStatus, runMigrations } from './migrate'
import { openPostgres, pgMigrationStatus, runPgMigrations, type PgDb } from './pg'
import * as sqliteSchema from './schema'
import { fillUserKeys } from './user-keys'
import * as pgSchema from './schema.pg'

export type Tables = typeof pgSchema
/** A query handle: the database itself or a transaction on it. */
export type Q = PgDatabase<BunSQLQueryResultHKT, Tables>
/** The handle a transaction callback receives; services pass it to hooks so their writes commit together. */
export type Tx = Q

/** What a start-up's migration did besides the SQL. */
export interface MigrationReport {
  /** Users whose name or address collides with an older user's after Unicode folding (user-keys.ts). */
  keyCollisions: number[]
}

export interface Data {
  readonly kind: 'sqlite' | 'pg'
  /** Reads outside a transaction (and single statements that need no lock). */
  readonly db: Q
  /** The tables of this engine's schema (same names and row types on both). */
  readonly t: Tables
  /**
   * Runs `fn` in one transaction: all of it commits, or (it throws) none of it.
   * Never call it again from inside `fn`: use the `tx` handed in.
   */
  transaction<T>(fn: (tx: Q) => Promise<T>): Promise<T>
  /** Runs `fn` once the transaction `tx` has committed (wake a worker, remove files). */
  afterCommit(tx: Q, fn: () => void): void
  /**
   * Serialises transactions that decide on the same `key` (a cap, a quota, the
   * last admin): a transaction-scoped advisory lock on PostgreSQL; a no-op on
   * SQLite, where a writing transaction excludes all others already.
   */
  lock(tx: Q, key: string): Promise<void>
  /**
   * Wakes every listener of `channel` once `tx` commits (NOTIFY on
   * PostgreSQL: the mail workers of all instances); nothing on SQLite, whose
   * one worker is woken in process.
   */
  notify(tx: Q, channel: string): Promise<void>
  /**
   * `query FOR UPDATE` on PostgreSQL (the rows stay locked until commit; with
   * skipLocked, rows another transaction holds are left out); as is on SQLite.
   */
  forUpdate<T>(query: T, opts?: { skipLocked?: boolean }): T
  /** The bun:sqlite connection for reads, when the engine is SQLite (prepared hot paths). */
  readonly sqlite: Database | undefined
  /**
   * Applies the embedded migrations this program carries (idempotent), then
   * fills the users' folded keys where missing (user-keys.ts).
   */
  migrate(): Promise<MigrationReport>
  /** The number of migrations this program carries and how many the database has. */
  migrationStatus(): MaybePromise<{ known: number; applied: number }>
  /** The SQLite database file, when there is one (backup, metrics, the mail worker). */
  readonly file: string | undefined
  /** Bun.SQL pool, when the engine is PostgreSQL. */
  readonly pg: SQL | undefined
  close(): Promise<void>
}

/** A failed constraint, by kind, whichever engine reported it. */
export function constraintError(err: unknown): 'unique' | 'foreign_key' | undefined {
  for (let e = err as { code?: unknown; errno?: unknown; cause?: unknown } | undefined, i = 0; e && i < 4; e = e.cause as typeof e, i++) {
    // PostgreSQL (Bun.SQL): SQLSTATE in errno.
    if (e.errno === '23505') return 'unique'
    if (e.errno === '23503') return 'foreign_key'
    // SQLite (bun:sqlite): extended result code names.
    if (e.code === 'SQLITE_CONSTRAINT_UNIQUE' || e.code === 'SQLITE_CONSTRAINT_PRIMARYKEY') return 'unique'
    if (e.code === 'SQLITE_CONSTRAINT_FOREIGNKEY') return 'foreign_key'
  }
  return undefined
}

/** The name of the violated constraint, when the engine says (PostgreSQL does; SQLite names columns in its message). */
export function constraintName(err: unknown): string {
  for (let e = err as { constraint?: unknown; message?: unknown; cause?: unknown } | undefined, i = 0; e && i < 4; e = e.cause as typeof e, i++) {
    if (typeof e.constraint === 'string') return e.constraint
    if (typeof e.message === 'string' && e.message.includes('constraint failed')) return e.message
  }
  return ''
}

/** A promise chain used as a mutex: each caller waits for the one before it. */
function createQueue() {
  let tail: Promise<void> = Promise.resolve()
  return async function run<T>(fn: () => Promise<T>): Promise<T> {
    const before = tail
    let release!: () => void
    tail = new Promise<void>((r) => (release = r))
    await before
    try {
      return await fn()
    } finally {
      release()
    }
  }
}

/**
 * SQLite: reads on one connection (prepared statements, never blocked in WAL
 * mode), every transaction on a second, writer connection, one at a time.
 * Reads never see a transaction's uncommitted rows, and a statement of another
 * request can never land inside someone else's open transaction.
 */
export function sqliteData(path: string, opts: { busyTimeoutMs?: number; create?: boolean } = {}): Data {
  const reader = openDatabase(path, opts)
  const writer = path === ':memory:' ? reader : openDatabase(path, opts)
  if (opts.busyTimeoutMs !== undefined) writer.$client.run(`PRAGMA busy_timeout = ${Math.floor(opts.busyTimeoutMs)}`)
  const queue = createQueue()
  let pending: (() => void)[] = []
  const db = reader as unknown as Q
  const wtx = writer as unknown as Q
  return {
    kind: 'sqlite',
    db,
    t: sqliteSchema as unknown as Tables,
    sqlite: reader.$client,
    file: path === ':memory:' ? undefined : path,
    pg: undefined,
    transaction<T>(fn: (tx: Q) => Promise<T>): Promise<T> {
      return queue(async () => {
        const conn = writer.$client
        // IMMEDIATE takes the write lock up front: a deferred transaction whose
        // snapshot went stale (the mail worker, a CLI wrote meanwhile) could not
        // upgrade to a writer and would fail with SQLITE_BUSY at once.
        conn.run('BEGIN IMMEDIATE')
        let result: T
        try {
          result = await fn(wtx)
          conn.run('COMMIT')
        } catch (err) {
          if (conn.inTransaction) conn.run('ROLLBACK')
          pending = []
          throw err
        }
        const after = pending
        pending = []
        for (const f of after) f()
        return result
      })
    },
    afterCommit(_tx, fn) {
      // Transactions run one at a time: whatever is pending belongs to the open one.
      pending.push(fn)
    },
    async lock() {},
    async notify() {},
    forUpdate: (q) => q,
    async migrate() {
      runMigrations(writer)
      return { keyCollisions: await fillUserKeys(this) }
    },
    migrationStatus: () => migrationStatus(reader),
    async close() {
      if (writer !== reader) writer.$client.close()
      reader.$client.close()
    }
  }
}

export function pgData(url: string, opts: { max?: number } = {}): Data {
  const pdb: PgDb = openPostgres(url, opts)
  const pending = new WeakMap<object, (() => void)[]>()
  return {
    kind: 'pg',
    db: pdb as unknown as Q,
    t: pgSchema,
    sqlite: undefined,
    file: undefined,
    pg: pdb.$client,
    async transaction<T>(fn: (tx: Q) => Promise<T>): Promise<T> {
      let txRef: object | undefined
      const result = await pdb.transaction(async (tx) => {
        txRef = tx
        return fn(tx as unknown as Q)
      })
      const after = txRef ? pending.get(txRef) : undefined
      if (after) for (const f of after) f()
      return result
    },
    afterCommit(tx, fn) {
      const list = pending.get(tx)
      if (list) list.push(fn)
      else pending.set(tx, [fn])
    },
    async lock(tx, key) {
      await tx.execute(sql`SELECT pg_advisory_xact_lock(hashtext(${key}))`)
    },
    async notify(tx, channel) {
      await tx.execute(sql`SELECT pg_notify(${channel}, '')`)
    },
    forUpdate: (q, o) => (q as { for(s: 'update', c?: { skipLocked?: boolean }): unknown }).for('update', o?.skipLocked ? { skipLocked: true } : undefined) as typeof q,
    async migrate() {
      await runPgMigrations(pdb)
      return { keyCollisions: await fillUserKeys(this) }
    },
    migrationStatus: () => pgMigrationStatus(pdb),
    async close() {
      await pdb.$client.close()
    }
  }
}

export type { SqliteDb }
