// Benchmark datasets: N users written straight into a migrated database with one
// transaction and one prepared INSERT (no HTTP, no per-user hashing: every user
// shares one precomputed argon2id hash of BENCH_PASSWORD). A dataset is built once
// and cached under the temp dir; runs work on a copy so that writes (signups,
// login sessions) never change the cache.
import { copyFileSync, existsSync, mkdirSync, renameSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { openDatabase } from '../../src/db/client'
import { runMigrations } from '../../src/db/migrate'
import { migrations } from '../../src/db/migrations.gen'
import { HASH_PARAMS } from '../../src/lib/password'
import { foldKey } from '../../src/lib/unicode'

export const BENCH_PASSWORD = 'Bench12345'
export const CACHE_DIR = join(tmpdir(), 'roster-bench-cache')

export const username = (i: number) => `u${i}`

/** Path of a cached database holding `count` users (ids 1..count), built if missing. */
export async function dataset(count: number, log: (s: string) => void): Promise<string> {
  // The cache key includes the schema version: a new migration rebuilds it.
  const schema = migrations.at(-1)?.hash.slice(0, 12) ?? 'none'
  const file = join(CACHE_DIR, `users-${count}-${schema}-p${HASH_PARAMS.memoryCost}t${HASH_PARAMS.timeCost}-k.db`)
  if (existsSync(file)) return file
  mkdirSync(CACHE_DIR, { recursive: true })
  const started = performance.now()
  const tmp = `${file}.${process.pid}.tmp`
  rmSync(tmp, { force: true })
  const db = openDatabase(tmp)
  runMigrations(db)
  const sqlite = db.$client
  // Durability is irrelevant while building a scratch file.
  sqlite.run('PRAGMA synchronous = OFF')
  const hash = await Bun.password.hash(BENCH_PASSWORD, HASH_PARAMS)
  const now = new Date('2026-01-01T00:00:00.000Z').toISOString()
  const insert = sqlite.prepare(
    `INSERT INTO users (id, username, email, username_key, email_key, hashed_password, age, role, is_active, token_version, created_at, updated_at)
     VALUES (?, ?, ?, ?, ?, ?, ?, 'user', 1, 0, ?, ?)`
  )
  sqlite.transaction(() => {
    // The comparison keys as Roster writes them: without them Roster fills
    // every row at its first start (one transaction, every row in memory).
    for (let i = 1; i <= count; i++) {
      const email = `${username(i)}@bench.example`
      insert.run(i, username(i), email, foldKey(username(i)), foldKey(email), hash, i % 100, now, now)
    }
  })()
  sqlite.run('PRAGMA wal_checkpoint(TRUNCATE)')
  sqlite.run('ANALYZE')
  sqlite.close()
  for (const ext of ['-wal', '-shm']) rmSync(tmp + ext, { force: true })
  renameSync(tmp, file)
  log(`seeded ${count.toLocaleString('en')} users in ${((performance.now() - started) / 1000).toFixed(1)} s (cached: ${file})`)
  return file
}

/** A working copy of a dataset in `dir`, named as Roster expects it. */
export function workingCopy(cached: string, dir: string, name: string): string {
  mkdirSync(dir, { recursive: true })
  const target = join(dir, name)
  copyFileSync(cached, target)
  return target
}
