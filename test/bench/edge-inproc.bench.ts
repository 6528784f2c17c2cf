// The edge plugins' own cost, without the network: app.handle() on
// authenticated GET /users/{id}, variants alternating in blocks, CPU time per
// request from process.cpuUsage(). No socket work is counted, so the relative
// overhead here is an upper bound of what a real server sees.
//
//   bun test/bench/edge-inproc.bench.ts [rounds=15] [requests per block=5000]
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Elysia } from 'elysia'
import { cors } from '@elysiajs/cors'
import { createLogger } from '../../src/lib/log'
import { accessToken, buildApp } from '../app'

const rounds = Number(process.argv[2] ?? 15)
const block = Number(process.argv[3] ?? 5000)
const ORIGINS = 'https://app.example.com,https://admin.example.com'
const variants: Record<string, Record<string, string>> = {
  base: { RATE_LIMIT_PER_MINUTE: '0' },
  // The same app built twice: the spread between base and base2 is the noise floor.
  base2: { RATE_LIMIT_PER_MINUTE: '0' },
  limiter: { RATE_LIMIT_PER_MINUTE: '1000000000' },
  cors: { RATE_LIMIT_PER_MINUTE: '0', CORS_ORIGINS: ORIGINS },
  // @elysiajs/cors configured for the same origins, for comparison.
  elysiacors: { RATE_LIMIT_PER_MINUTE: '0' }
}

const secret = 'bench-secret-key-that-is-long-enough-0123456789'
const dirs: string[] = []
async function build(name: string, env: Record<string, string>) {
  const dataDir = mkdtempSync(join(tmpdir(), 'roster-bench-'))
  dirs.push(dataDir)
  // TRUST_PROXY with a forwarded address: the limiter keys on a real address.
  const { app: roster, services } = await buildApp({ dataDir, secret, env: { LOG_LEVEL: 'silent', TRUST_PROXY: 'true', ...env }, logger: createLogger('silent') })
  const u = await services.users.create({ username: 'bench', email: 'bench@example.com', password: 'Secret123' }, { id: 0, role: 'admin' })
  const token = await accessToken(services, u)
  const app =
    name === 'elysiacors'
      ? new Elysia()
          .use(cors({ origin: ORIGINS.split(','), credentials: true, maxAge: 600, methods: ['GET', 'POST', 'PUT', 'PATCH', 'DELETE'], allowedHeaders: ['authorization', 'content-type'], exposeHeaders: ['x-request-id'] }))
          .use(roster)
      : roster
  const url = `http://localhost/users/${u.id}`
  const headers = { authorization: `Bearer ${token}`, 'x-forwarded-for': '203.0.113.7' }
  return async (n: number) => {
    for (let i = 0; i < n; i++) {
      const res = await app.handle(new Request(url, { headers }))
      if (res.status !== 200) throw new Error(`status ${res.status}`)
      await res.arrayBuffer()
    }
  }
}

const runners = new Map<string, (n: number) => Promise<void>>()
for (const [name, env] of Object.entries(variants)) runners.set(name, await build(name, env))
for (const run of runners.values()) await run(block) // warm-up
const cpu = new Map<string, number[]>([...runners.keys()].map((k) => [k, []]))
const names = [...runners.keys()]
for (let r = 0; r < rounds; r++) {
  for (let i = 0; i < names.length; i++) {
    const name = names[(i + r) % names.length]!
    const t0 = process.cpuUsage()
    await runners.get(name)!(block)
    const d = process.cpuUsage(t0)
    cpu.get(name)!.push((d.user + d.system) / block)
  }
}
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[xs.length >> 1]!
const base = median(cpu.get('base')!)
console.log(`in-process app.handle, GET /users/{id}, ${rounds} x ${block} requests per variant, CPU µs/request (median):`)
for (const name of names) {
  const m = median(cpu.get(name)!)
  console.log(`${name.padEnd(8)} ${m.toFixed(2)} µs  ${name === 'base' ? '' : `${m >= base ? '+' : ''}${(((m - base) / base) * 100).toFixed(1)}%`}`)
}
for (const d of dirs) rmSync(d, { recursive: true, force: true })
process.exit(0)
