// Peak memory and time of the first start on a database written before the
// users' comparison keys existed (src/db/user-keys.ts fills them). Each start
// runs in its own process so that its peak RSS is its own.
//
//   bun test/bench/key-fill.ts [users=200000]
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { openDatabase } from '../../src/db/client'
import { sqliteData } from '../../src/db/data'
import { runMigrations } from '../../src/db/migrate'

if (process.argv[2] === 'start') {
  // The child: one start (migrations + key fill), then its own figures on stdout.
  const started = performance.now()
  const data = sqliteData(process.argv[3]!)
  const report = await data.migrate()
  const seconds = (performance.now() - started) / 1000
  await data.close()
  console.log(JSON.stringify({ seconds, maxRssMb: process.resourceUsage().maxRSS / 1024, collisions: report.keyCollisions.length }))
  process.exit(0)
}

const count = Number(process.argv[2] ?? 200_000)
const dir = mkdtempSync(join(tmpdir(), 'roster-keyfill-'))
const file = join(dir, 'roster.db')
const db = openDatabase(file)
runMigrations(db)
const sqlite = db.$client
sqlite.run('PRAGMA synchronous = OFF')
const now = new Date('2026-01-01T00:00:00.000Z').toISOString()
// Rows as an older version wrote them: no keys. Every 1000th name differs from an
// earlier one by case only, the collisions that version allowed.
const insert = sqlite.prepare('INSERT INTO users (id, username, email, hashed_password, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?)')
sqlite.transaction(() => {
  for (let i = 1; i <= count; i++) {
    const name = i % 1000 === 0 ? `Straße${i - 1}` : i % 1000 === 999 ? `strasse${i}` : `user${i}`
    insert.run(i, name, `user${i}@bench.example`, '$argon2id$v=19$m=19456,t=2,p=1$x$y', now, now)
  }
})()
sqlite.run('PRAGMA wal_checkpoint(TRUNCATE)')
sqlite.close()

async function start(): Promise<{ seconds: number; maxRssMb: number; collisions: number }> {
  const p = Bun.spawn(['bun', import.meta.path, 'start', file], { stdout: 'pipe', stderr: 'inherit' })
  const out = await new Response(p.stdout).text()
  if ((await p.exited) !== 0) throw new Error('the start failed')
  return JSON.parse(out)
}

const fill = await start()
const idle = await start()
console.log(`${count.toLocaleString('en')} users without keys`)
console.log(`first start (fills every key): ${fill.seconds.toFixed(1)} s, peak RSS ${fill.maxRssMb.toFixed(0)} MB, ${fill.collisions} collisions`)
console.log(`next start (nothing to fill):  ${idle.seconds.toFixed(2)} s, peak RSS ${idle.maxRssMb.toFixed(0)} MB`)
rmSync(dir, { recursive: true, force: true })
