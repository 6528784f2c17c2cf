// `roster copy-db FROM TO`: copies every table from one database to another,
// SQLite file or postgres:// URL on either side: how a deployment moves to
// PostgreSQL to scale out (or back to one file). The target is migrated first
// and must be empty; the source must carry every migration this program has.
// Run it with every instance stopped: rows written meanwhile would be missed.
import { asc, getTableColumns, getTableName, is, sql, Table } from 'drizzle-orm'
import { getTableConfig } from 'drizzle-orm/pg-core'
import { pgData, sqliteData, type Data, type Tables } from '../db/data'
import * as pgSchema from '../db/schema.pg'
import { CliError, codeOf } from './errors'

const BATCH = 500

function open(target: string, create: boolean): Data {
  if (/^postgres(ql)?:\/\//.test(target)) return pgData(target, { max: 2 })
  return sqliteData(target, { create })
}

/** The schema's tables, every table after the ones it references (foreign keys). */
export function tablesInCopyOrder(): (keyof Tables)[] {
  const byName = new Map<string, keyof Tables>()
  const deps = new Map<keyof Tables, string[]>()
  for (const [key, value] of Object.entries(pgSchema)) {
    if (!is(value, Table)) continue
    const k = key as keyof Tables
    byName.set(getTableName(value), k)
    deps.set(
      k,
      getTableConfig(value as never).foreignKeys.map((fk) => getTableName(fk.reference().foreignTable))
    )
  }
  const out: (keyof Tables)[] = []
  const visit = (k: keyof Tables) => {
    if (out.includes(k)) return
    for (const d of deps.get(k) ?? []) {
      const dk = byName.get(d)
      if (dk && dk !== k) visit(dk)
    }
    out.push(k)
  }
  for (const k of deps.keys()) visit(k)
  return out
}

const describe = (target: string) => (/^postgres(ql)?:\/\//.test(target) ? 'the PostgreSQL database' : target)

export async function copyDb(from: string, to: string): Promise<void> {
  let source: Data | undefined
  let target: Data | undefined
  try {
    try {
      source = open(from, false)
      const s = await source.migrationStatus()
      if (s.applied < s.known) throw new CliError(`${describe(from)} is not fully migrated; run roster migrate on it first`)
    } catch (err) {
      if (err instanceof CliError) throw err
      throw new CliError(`cannot open ${describe(from)}${codeOf(err)}`)
    }
    try {
      target = open(to, true)
      await target.migrate()
    } catch (err) {
      throw new CliError(`cannot open or migrate ${describe(to)}${codeOf(err)}`)
    }
    const order = tablesInCopyOrder()
    for (const key of order) {
      const rows: { n: number }[] = await target.db.select({ n: sql<number>`count(*)`.mapWith(Number) }).from(target.t[key] as Table as never)
      if ((rows[0]?.n ?? 0) > 0) throw new CliError(`${describe(to)} is not empty (table ${getTableName(target.t[key])}); copy into a new database`)
    }

    const src = source
    const dst = target
    const counts: string[] = []
    // One transaction on the target: a failed copy leaves it empty.
    await dst.transaction(async (tx) => {
      for (const key of order) {
        const from = src.t[key] as Table
        const into = dst.t[key] as Table
        // A stable order for the pages: the primary key, or every column.
        const columns = Object.values(getTableColumns(from))
        const pk = columns.find((c) => c.primary)
        const order = (pk ? [pk] : columns).map((c) => asc(c))
        let copied = 0
        for (let offset = 0; ; offset += BATCH) {
          const rows = (await src.db
            .select()
            .from(from as never)
            .orderBy(...(order as never[]))
            .limit(BATCH)
            .offset(offset)) as Record<string, unknown>[]
          if (rows.length === 0) break
          await tx.insert(into as never).values(rows as never)
          copied += rows.length
          if (rows.length < BATCH) break
        }
        counts.push(`${getTableName(into)} ${copied}`)
      }
      // Identity columns go on after the highest copied id (PostgreSQL; SQLite's
      // AUTOINCREMENT follows explicit ids by itself).
      if (dst.kind === 'pg') {
        for (const key of order) {
          if (!('id' in getTableColumns(dst.t[key] as Table))) continue
          const name = getTableName(dst.t[key])
          const [col] = await tx.execute<{ c: string | null }>(sql`SELECT pg_get_serial_sequence(${name}, 'id') AS c`)
          if (!col?.c) continue
          await tx.execute(sql.raw(`SELECT setval('${col.c}', coalesce((SELECT max(id) FROM "${name}"), 1), (SELECT max(id) IS NOT NULL FROM "${name}"))`))
        }
      }
    })
    process.stdout.write(`copied ${counts.join(', ')}\n`)
  } finally {
    await source?.close().catch(() => {})
    await target?.close().catch(() => {})
  }
}
