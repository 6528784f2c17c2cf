// `roster copy-db`: every table from SQLite to PostgreSQL and back, row for
// row, ids kept and the next id following on; a non-empty target is refused.
import { describe, expect, test } from 'bun:test'
import { join } from 'node:path'
import { asc, getTableColumns } from 'drizzle-orm'
import { getTableConfig } from 'drizzle-orm/sqlite-core'
import { copyDb, tablesInCopyOrder } from '../src/cli/copy-db'
import { pgData, sqliteData, type Data, type Tables } from '../src/db/data'
import { createLogger } from '../src/lib/log'
import { buildApp } from './app'
import { BACKEND, PASSWORD, SECRET, tempDir } from './helpers'
import { emptyDatabase } from './pg'
import { SOURCE } from './server'

/** Every row of every table, in primary-key order. */
async function dump(data: Data): Promise<Record<string, unknown[]>> {
  const out: Record<string, unknown[]> = {}
  for (const key of tablesInCopyOrder()) {
    const table = data.t[key] as Tables['users']
    const columns = Object.values(getTableColumns(table))
    const pk = columns.find((c) => c.primary)
    out[key] = await data.db
      .select()
      .from(table)
      .orderBy(...(pk ? [pk] : columns).map((c) => asc(c)))
  }
  return out
}

/**
 * One made-up row in every table the features above left empty (tables added
 * later included), its foreign keys pointing at the first row of the table they
 * reference: so "every table" really means every table.
 */
async function fillEmptyTables(data: Data) {
  for (const key of tablesInCopyOrder()) {
    const table = data.t[key] as Tables['users']
    if ((await data.db.select().from(table).limit(1)).length > 0) continue
    const refs = new Map<string, { table: Tables['users']; column: string }>()
    for (const fk of getTableConfig(table as never).foreignKeys) {
      const r = fk.reference()
      refs.set(r.columns[0]!.name, { table: r.foreignTable as never, column: r.foreignColumns[0]!.name })
    }
    const row: Record<string, unknown> = {}
    for (const [prop, c] of Object.entries(getTableColumns(table))) {
      const ref = refs.get(c.name)
      if (ref) {
        const [target] = (await data.db.select().from(ref.table).limit(1)) as Record<string, unknown>[]
        const targetProp = Object.entries(getTableColumns(ref.table)).find(([, col]) => col.name === ref.column)![0]
        row[prop] = target![targetProp]
      } else if (c.primary && c.dataType === 'number') continue
      else if (c.enumValues?.length) row[prop] = c.enumValues[0]
      else if (c.dataType === 'number') row[prop] = prop.endsWith('At') ? Date.now() : 1
      else if (c.dataType === 'boolean') row[prop] = true
      else row[prop] = `${key}.${prop}`
    }
    await data.transaction((tx) => tx.insert(table).values(row as never).then(() => undefined))
  }
}

async function sourceWithEveryTable(): Promise<{ file: string }> {
  const dir = tempDir()
  const { services, data } = await buildApp({ dataDir: dir, secret: SECRET, logger: createLogger('silent'), env: { RATE_LIMIT_PER_MINUTE: '0' } })
  const root = await services.users.create({ username: 'root', email: 'root@example.com', password: PASSWORD, role: 'admin' }, { id: 0, role: 'admin' })
  const alice = await services.users.create({ username: 'alice', email: 'alice@example.com', password: PASSWORD, age: 30 }, undefined)
  await services.users.update(alice.id, { is_active: false }, { id: root.id, role: 'admin' }, false)
  const s = (await services.sessions.start(root, { userAgent: 'test', ip: '127.0.0.1' }))!
  await services.sessions.rotate(s.refreshToken, { userAgent: 'test', ip: '127.0.0.1' })
  services.resets.request('root@example.com')
  await services.resets.settled()
  await data.transaction((tx) =>
    tx.insert(data.t.files).values({ ownerId: root.id, storageName: 'ab'.repeat(16), filename: 'a.txt', contentType: 'text/plain', size: 3, sha256: 'x', createdAt: new Date().toISOString() })
  )
  await data.transaction((tx) => tx.insert(data.t.counters).values({ key: 'login:i:x', count: 2, resetAt: Date.now() + 60_000 }))
  await fillEmptyTables(data)
  await data.close()
  return { file: join(dir, 'roster.db') }
}

describe.skipIf(BACKEND === 'pg')('roster copy-db', () => {
  test('SQLite -> PostgreSQL -> SQLite keeps every row of every table; new ids follow on', async () => {
    const { file } = await sourceWithEveryTable()
    const url = await emptyDatabase()
    await copyDb(file, url)
    const back = join(tempDir(), 'back.db')
    await copyDb(url, back)

    const lite = sqliteData(file)
    const pg = pgData(url, { max: 2 })
    const again = sqliteData(back)
    try {
      const original = await dump(lite)
      for (const rows of Object.values(original)) expect(rows.length).toBeGreaterThan(0)
      expect(await dump(pg)).toEqual(original)
      expect(await dump(again)).toEqual(original)
      const maxId = Math.max(...(original.users as { id: number }[]).map((u) => u.id))
      const [next] = await pg.db
        .insert(pg.t.users)
        .values({ username: 'carol', email: 'carol@example.com', hashedPassword: 'x', createdAt: 'now', updatedAt: 'now' })
        .returning()
      expect(next!.id).toBe(maxId + 1)
    } finally {
      await Promise.all([lite.close(), pg.close(), again.close()])
    }
  })

  test('a target that already holds rows is refused and left as it was', async () => {
    const { file } = await sourceWithEveryTable()
    const url = await emptyDatabase()
    await copyDb(file, url)
    await expect(copyDb(file, url)).rejects.toThrow('is not empty')
    const pg = pgData(url, { max: 2 })
    try {
      expect((await pg.db.select().from(pg.t.users)).length).toBe(2)
    } finally {
      await pg.close()
    }
  })

  test('the verb: a missing argument is a usage error (exit 2); a copy prints what it copied', async () => {
    const usage = Bun.spawnSync([...SOURCE, 'copy-db', 'only-one'], { stdout: 'pipe', stderr: 'pipe' })
    expect(usage.exitCode).toBe(2)
    expect(usage.stderr.toString()).toContain('copy-db needs a source and a target')
    const { file } = await sourceWithEveryTable()
    const url = await emptyDatabase()
    const run = Bun.spawnSync([...SOURCE, 'copy-db', file, url], { stdout: 'pipe', stderr: 'pipe' })
    expect(run.stderr.toString()).toBe('')
    expect(run.exitCode).toBe(0)
    expect(run.stdout.toString()).toMatch(/^copied .*users 2.*files 1/)
    expect(run.stdout.toString()).not.toContain(url)
  })

  test('backup with DATABASE_URL says to use pg_dump, in one line, exit 2', async () => {
    const r = Bun.spawnSync([...SOURCE, 'backup', join(tempDir(), 'x.db')], { env: { ...process.env, DATABASE_URL: 'postgres://u:secret@127.0.0.1:1/x' }, stdout: 'pipe', stderr: 'pipe' })
    expect(r.exitCode).toBe(2)
    const err = r.stderr.toString()
    expect(err.trim().split('\n')).toHaveLength(1)
    expect(err).toContain('pg_dump')
    expect(err).not.toContain('secret')
  })
})
