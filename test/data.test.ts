// The data layer's transactions on the selected backend (ROSTER_TEST_DB): a
// failing transaction leaves nothing even when it awaited real I/O in between,
// concurrent read-modify-write transactions never lose an update, and nobody
// outside sees a transaction's rows before it commits.
import { describe, expect, test } from 'bun:test'
import { foldKey } from '../src/lib/unicode'
import { eq, sql } from 'drizzle-orm'
import { createCounters } from '../src/db/counters'
import { constraintError } from '../src/db/data'
import { BACKEND, tempDir, testData } from './helpers'

const now = () => new Date().toISOString()
// The folded keys are what makes a name unique (see users/service.ts).
const user = (name: string) => ({
  username: name,
  email: `${name}@example.com`,
  usernameKey: foldKey(name),
  emailKey: foldKey(`${name}@example.com`),
  hashedPassword: 'x',
  createdAt: now(),
  updatedAt: now()
})

describe(`transactions (${BACKEND})`, () => {
  test('a transaction that fails after awaiting a timer leaves nothing behind', async () => {
    const data = await testData(tempDir())
    const { users } = data.t
    const failed = data.transaction(async (tx) => {
      await tx.insert(users).values(user('ghost'))
      await Bun.sleep(20)
      throw new Error('boom')
    })
    await expect(failed).rejects.toThrow('boom')
    expect(await data.db.select().from(users)).toEqual([])
  })

  test('a write by someone else while a transaction is open is not rolled back with it', async () => {
    const data = await testData(tempDir())
    const { users } = data.t
    let release!: () => void
    const gate = new Promise<void>((r) => (release = r))
    const failing = data.transaction(async (tx) => {
      await tx.insert(users).values(user('ghost'))
      await gate
      throw new Error('boom')
    })
    const other = data.transaction(async (tx) => {
      await tx.insert(users).values(user('kept'))
    })
    await Bun.sleep(10)
    release()
    await expect(failing).rejects.toThrow('boom')
    await other
    expect((await data.db.select({ name: users.username }).from(users)).map((r) => r.name)).toEqual(['kept'])
  })

  test('readers do not see uncommitted rows', async () => {
    const data = await testData(tempDir())
    const { users } = data.t
    let release!: () => void
    const gate = new Promise<void>((r) => (release = r))
    let inserted!: () => void
    const wrote = new Promise<void>((r) => (inserted = r))
    const tx = data.transaction(async (q) => {
      await q.insert(users).values(user('pending'))
      inserted()
      await gate
    })
    await wrote
    expect(await data.db.select().from(users)).toEqual([])
    release()
    await tx
    expect(await data.db.select().from(users)).toHaveLength(1)
  })

  test('20 concurrent read-modify-write transactions lose no update', async () => {
    const data = await testData(tempDir())
    const { users } = data.t
    const [u] = await data.db.insert(users).values(user('counter')).returning()
    await Promise.all(
      Array.from({ length: 20 }, () =>
        data.transaction(async (tx) => {
          const [row] = await data.forUpdate(tx.select({ v: users.tokenVersion }).from(users).where(eq(users.id, u!.id)))
          await Bun.sleep(1)
          await tx.update(users).set({ tokenVersion: row!.v + 1 }).where(eq(users.id, u!.id))
        })
      )
    )
    const [row] = await data.db.select({ v: users.tokenVersion }).from(users).where(eq(users.id, u!.id))
    expect(row!.v).toBe(20)
  })

  test('afterCommit runs after a commit only', async () => {
    const data = await testData(tempDir())
    const { users } = data.t
    const ran: string[] = []
    await data.transaction(async (tx) => {
      await tx.insert(users).values(user('a'))
      data.afterCommit(tx, () => ran.push('committed'))
      expect(ran).toEqual([])
    })
    await data
      .transaction(async (tx) => {
        data.afterCommit(tx, () => ran.push('rolled back'))
        throw new Error('no')
      })
      .catch(() => {})
    expect(ran).toEqual(['committed'])
  })

  test('constraint errors are recognised by kind on either engine', async () => {
    const data = await testData(tempDir())
    const { users, files } = data.t
    await data.db.insert(users).values(user('dup'))
    const dup = await data.db.insert(users).values({ ...user('DUP'), email: 'other@example.com' }).catch((e: unknown) => e)
    expect(constraintError(dup)).toBe('unique')
    const orphan = await data.db
      .insert(files)
      .values({ ownerId: 999, storageName: 'x', filename: 'f', contentType: 'text/plain', size: 1, sha256: 'x', createdAt: now() })
      .catch((e: unknown) => e)
    expect(constraintError(orphan)).toBe('foreign_key')
    const [n] = await data.db.select({ n: sql<number>`count(*)`.mapWith(Number) }).from(users)
    expect(n!.n).toBe(1)
  })

  test('shared counters: 20 concurrent hits on a limit of 5 count exactly 5; refused hits count nothing on any key', async () => {
    const data = await testData(tempDir())
    const counters = createCounters(data)
    const keys = [
      { key: 'a', limit: 5, windowMs: 60_000 },
      { key: 'b', limit: 100, windowMs: 60_000 }
    ]
    const waits = await Promise.all(Array.from({ length: 20 }, () => counters.take(keys)))
    expect(waits.filter((w) => w === 0)).toHaveLength(5)
    expect(waits.filter((w) => w > 0).every((w) => w <= 60)).toBe(true)
    const rows = await data.db.select().from(data.t.counters).orderBy(data.t.counters.key)
    expect(rows.map((r) => [r.key, r.count])).toEqual([
      ['a', 5],
      ['b', 5]
    ])
    expect(await counters.waitFor(keys)).toBeGreaterThan(0)
    await counters.giveBack('a')
    expect(await counters.waitFor(keys)).toBe(0)
  })
})
