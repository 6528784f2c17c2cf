// In-process cost of an authenticated GET /users/{id}: app.handle() in a loop,
// no network. For profiling (bun --cpu-prof test/bench/inproc-get.ts), not a
// target. `--pat` sends a personal access token (users:read) instead of an
// access JWT; test/bench/auth-path.bench.ts compares the two.
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { parseConfig } from '../../src/config'
import { createLogger } from '../../src/lib/log'
import { accessToken, buildApp } from '../app'

const dir = mkdtempSync(join(tmpdir(), 'roster-inproc-'))
const secret = 'x'.repeat(40)
const logLevel = parseConfig({ LOG_LEVEL: process.env.LOG_LEVEL ?? 'info' }).logLevel
const { app, services, data } = await buildApp({
  dataDir: dir,
  secret,
  env: { RATE_LIMIT_PER_MINUTE: process.env.RATE_LIMIT_PER_MINUTE ?? '0', LOG_LEVEL: logLevel },
  logger: createLogger(logLevel, () => {})
})
const u = await services.users.create({ username: 'bench', email: 'bench@example.com', password: 'Secret123' }, { id: 0, role: 'admin' })
const pat = process.argv.includes('--pat')
const token = pat
  ? (await services.accessTokens.create({ id: u.id, role: 'user' }, { name: 'bench', scopes: ['users:read'] })).token
  : await accessToken(services, u)
const request = () => new Request(`http://localhost/users/${u.id}`, { headers: { authorization: `Bearer ${token}` } })
const n = Number(process.argv.slice(2).find((a) => /^\d+$/.test(a)) ?? 100_000)
for (let i = 0; i < 5_000; i++) await (await app.handle(request())).text()
const t0 = performance.now()
for (let i = 0; i < n; i++) await (await app.handle(request())).text()
const us = ((performance.now() - t0) * 1000) / n
console.log(`${us.toFixed(2)} µs per authenticated GET /users/{id} with ${pat ? 'a personal access token' : 'an access JWT'} (in process, ${n} requests)`)
await data.close()
rmSync(dir, { recursive: true, force: true })
