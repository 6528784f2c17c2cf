// One Roster server for test/bench/edge.bench.ts. Variant from argv[2]:
//   base      limiter off, no CORS (base2: the same, a second server: the noise floor)
//   limiter   RATE_LIMIT_PER_MINUTE=1e9 (every request checked, none refused)
//   cors      CORS_ORIGINS set (Roster's own handler)
//   elysiacors  @elysiajs/cors configured the same way, for comparison
// Listens on 127.0.0.1, port 0; prints {"port","token","id"} on one line.
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Elysia } from 'elysia'
import { cors } from '@elysiajs/cors'
import { createApp, createServices } from '../../src/app'
import { parseConfig } from '../../src/config'
import { DB_FILE, openDatabase } from '../../src/db/client'
import { runMigrations } from '../../src/db/migrate'
import { createLogger } from '../../src/lib/log'

const variant = process.argv[2] ?? 'base'
const ORIGINS = 'https://app.example.com,https://admin.example.com'
const env: Record<string, string> = {
  base: { RATE_LIMIT_PER_MINUTE: '0' },
  base2: { RATE_LIMIT_PER_MINUTE: '0' },
  limiter: { RATE_LIMIT_PER_MINUTE: '1000000000' },
  cors: { RATE_LIMIT_PER_MINUTE: '0', CORS_ORIGINS: ORIGINS },
  elysiacors: { RATE_LIMIT_PER_MINUTE: '0' }
}[variant] as Record<string, string>
if (!env) throw new Error(`unknown variant ${variant}`)

const dataDir = mkdtempSync(join(tmpdir(), 'roster-bench-'))
const secret = 'bench-secret-key-that-is-long-enough-0123456789'
const config = parseConfig({ DATA_DIR: dataDir, SECRET_KEY: secret, LOG_LEVEL: 'silent', ...env })
const db = openDatabase(join(dataDir, DB_FILE))
runMigrations(db)
const deps = { config, db, secret, logger: createLogger('silent') }
const services = createServices(deps)
const user = await services.users.create(
  { username: 'bench', email: 'bench@example.com', password: 'Secret123', role: 'admin' },
  { id: 0, role: 'admin' }
)
const token = await services.tokens.sign(user.id, user.tokenVersion, services.sessions.start(user.id, { userAgent: null, ip: null }).id)
let app: { listen: (o: { port: number; hostname: string }) => unknown; server: { port?: number } | null; stop: () => Promise<void> }
const roster = createApp(deps, services)
if (variant === 'elysiacors') {
  app = new Elysia()
    .use(cors({ origin: ORIGINS.split(','), credentials: true, maxAge: 600, methods: ['GET', 'POST', 'PUT', 'PATCH', 'DELETE'], allowedHeaders: ['authorization', 'content-type'], exposeHeaders: ['x-request-id'] }))
    .use(roster) as never
} else {
  app = roster as never
}
app.listen({ port: 0, hostname: '127.0.0.1' })
process.stdout.write(JSON.stringify({ port: app.server?.port, token, id: user.id }) + '\n')

const stop = async () => {
  await app.stop()
  db.$client.close()
  rmSync(dataDir, { recursive: true, force: true })
  process.exit(0)
}
process.on('SIGTERM', () => void stop())
process.on('SIGINT', () => void stop())
