// Roster servers for test/bench/edge.bench.ts: one process hosting one app per
// variant, each on its own port, database and secret, so that every variant
// shares the same process (JIT, allocator and scheduling luck) and the
// comparison sees only what the variants do differently.
// Variants from argv[2], comma-separated:
//   base      limiter off, no CORS (base2, base3: the same again: the noise floor)
//   limiter   RATE_LIMIT_PER_MINUTE=1e9 (every request checked, none refused)
//   limiter-proxy  the same with TRUST_PROXY=true: the client address comes
//             from X-Forwarded-For (which the benchmark sends to every variant)
//   cors      CORS_ORIGINS set (Roster's own handler)
//   elysiacors  @elysiajs/cors configured the same way, for comparison
// Listens on 127.0.0.1, port 0; prints one JSON line: [{"variant","port","token","id"}, ...].
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Elysia } from 'elysia'
import { cors } from '@elysiajs/cors'
import { createApp } from '../../src/app'
import { createServices } from '../../src/services'
import { parseConfig } from '../../src/config'
import { DB_FILE } from '../../src/db/client'
import { sqliteData } from '../../src/db/data'
import { createLogger } from '../../src/lib/log'

const ORIGINS = 'https://app.example.com,https://admin.example.com'
const ENV: Record<string, Record<string, string>> = {
  base: { RATE_LIMIT_PER_MINUTE: '0' },
  base2: { RATE_LIMIT_PER_MINUTE: '0' },
  base3: { RATE_LIMIT_PER_MINUTE: '0' },
  limiter: { RATE_LIMIT_PER_MINUTE: '1000000000' },
  'limiter-proxy': { RATE_LIMIT_PER_MINUTE: '1000000000', TRUST_PROXY: 'true' },
  cors: { RATE_LIMIT_PER_MINUTE: '0', CORS_ORIGINS: ORIGINS },
  elysiacors: { RATE_LIMIT_PER_MINUTE: '0' }
}

interface Listening {
  listen: (o: { port: number; hostname: string }) => unknown
  server: { port?: number } | null
  stop: () => Promise<void>
}

const started: { variant: string; port: number | undefined; token: string; id: number }[] = []
const cleanups: (() => Promise<void>)[] = []

for (const spec of (process.argv[2] ?? 'base').split(',')) {
  const variant = spec
  const env = ENV[variant]
  if (!env) throw new Error(`unknown variant ${variant}`)
  const dataDir = mkdtempSync(join(tmpdir(), 'roster-bench-'))
  const secret = `bench-secret-key-that-is-long-enough-${variant}-0123456789`
  const config = parseConfig({ DATA_DIR: dataDir, SECRET_KEY: secret, LOG_LEVEL: 'silent', ...env })
  const data = sqliteData(join(dataDir, DB_FILE))
  await data.migrate()
  const deps = { config, data, secret, logger: createLogger('silent') }
  const services = createServices(deps)
  const user = await services.users.create(
    { username: 'bench', email: 'bench@example.com', password: 'Secret123', role: 'admin' },
    { id: 0, role: 'admin' }
  )
  const token = await services.tokens.sign(user.id, user.tokenVersion, (await services.sessions.start(user.id, { userAgent: null, ip: null })).id)
  const roster = createApp(deps, services)
  const app: Listening =
    variant === 'elysiacors'
      ? (new Elysia()
          .use(cors({ origin: ORIGINS.split(','), credentials: true, maxAge: 600, methods: ['GET', 'POST', 'PUT', 'PATCH', 'DELETE'], allowedHeaders: ['authorization', 'content-type'], exposeHeaders: ['x-request-id'] }))
          .use(roster) as never)
      : (roster as never)
  app.listen({ port: 0, hostname: '127.0.0.1' })
  started.push({ variant, port: app.server?.port, token, id: user.id })
  cleanups.push(async () => {
    await app.stop()
    await data.close()
    rmSync(dataDir, { recursive: true, force: true })
  })
}
process.stdout.write(JSON.stringify(started) + '\n')

const stop = async () => {
  for (const c of cleanups) await c()
  process.exit(0)
}
process.on('SIGTERM', () => void stop())
process.on('SIGINT', () => void stop())
