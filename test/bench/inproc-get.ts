// In-process cost of an authenticated GET /users/{id}: app.handle() in a loop,
// no network. For profiling (bun --cpu-prof test/bench/inproc-get.ts), not a target.
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createApp } from '../../src/app'
import { createServices } from '../../src/services'
import { parseConfig } from '../../src/config'
import { DB_FILE } from '../../src/db/client'
import { sqliteData } from '../../src/db/data'
import { createLogger } from '../../src/lib/log'

const dir = mkdtempSync(join(tmpdir(), 'roster-inproc-'))
const secret = 'x'.repeat(40)
const config = parseConfig({ DATA_DIR: dir, SECRET_KEY: secret, RATE_LIMIT_PER_MINUTE: process.env.RATE_LIMIT_PER_MINUTE ?? '0', LOG_LEVEL: process.env.LOG_LEVEL ?? 'info' })
const data = sqliteData(join(dir, DB_FILE))
await data.migrate()
const deps = { config, data, secret, logger: createLogger(config.logLevel, () => {}) }
const services = createServices(deps)
const u = await services.users.create({ username: 'bench', email: 'bench@example.com', password: 'Secret123' }, { id: 0, role: 'admin' })
const token = await services.tokens.sign(u.id, u.tokenVersion, (await services.sessions.start(u.id, { userAgent: null, ip: null })).id)
const app = createApp(deps, services)
const request = () => new Request(`http://localhost/users/${u.id}`, { headers: { authorization: `Bearer ${token}` } })
const n = Number(process.argv[2] ?? 100_000)
for (let i = 0; i < 5_000; i++) await (await app.handle(request())).text()
const t0 = performance.now()
for (let i = 0; i < n; i++) await (await app.handle(request())).text()
const us = ((performance.now() - t0) * 1000) / n
console.log(`${us.toFixed(2)} µs per authenticated GET /users/{id} (in process, ${n} requests)`)
await data.close()
rmSync(dir, { recursive: true, force: true })
