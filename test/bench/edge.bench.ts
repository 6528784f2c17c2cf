// Cost of the edge plugins on the hot path: authenticated GET /users/{id},
// requests without an Origin header, one server per variant, wrk runs
// alternating between variants (order rotated each round) in one invocation so
// that the machine's background load hits every variant alike. Reports the
// median requests/s per variant and its ratio to the baseline, and the
// server's CPU time per request (user+system from /proc, which other
// processes' load disturbs far less than throughput on a shared machine).
//
//   bun test/bench/edge.bench.ts [rounds=5] [seconds=5] [connections=16]
//
// Not part of `bun test` (the name does not match *.test.ts).
import { spawn, spawnSync } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { createInterface } from 'node:readline'

const rounds = Number(process.argv[2] ?? 5)
const seconds = Number(process.argv[3] ?? 5)
const connections = Number(process.argv[4] ?? 16)
const variants = (process.env.VARIANTS ?? 'base,base2,limiter,cors,elysiacors').split(',')

if (spawnSync('sh', ['-c', 'command -v wrk']).status !== 0) {
  console.log('wrk not found: installing it with apt-get')
  const r = spawnSync('sh', ['-c', 'apt-get install -y wrk || (apt-get update && apt-get install -y wrk)'], { stdio: 'inherit' })
  if (r.status !== 0) throw new Error('could not install wrk')
}

interface Server {
  variant: string
  port: number
  token: string
  id: number
  pid: number
  kill: () => void
}

/** utime + stime of a process, in clock ticks (1/100 s). */
function cpuTicks(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
  return Number(fields[11]) + Number(fields[12])
}

async function start(variant: string): Promise<Server> {
  const child = spawn('bun', [new URL('./edge-server.ts', import.meta.url).pathname, variant], { stdio: ['ignore', 'pipe', 'inherit'] })
  const line = await new Promise<string>((resolve, reject) => {
    const rl = createInterface({ input: child.stdout! })
    rl.once('line', resolve)
    child.once('exit', (code) => reject(new Error(`${variant} server exited (${code})`)))
  })
  const info = JSON.parse(line) as { port: number; token: string; id: number }
  return { variant, ...info, pid: child.pid!, kill: () => child.kill('SIGTERM') }
}

function wrk(s: Server, secs: number): { rps: number; cpuUs: number } {
  const before = cpuTicks(s.pid)
  const r = spawnSync(
    'wrk',
    ['-t1', `-c${connections}`, `-d${secs}s`, '-H', `Authorization: Bearer ${s.token}`, `http://127.0.0.1:${s.port}/users/${s.id}`],
    { encoding: 'utf8' }
  )
  const m = /Requests\/sec:\s+([\d.]+)/.exec(r.stdout)
  const n = /(\d+) requests in/.exec(r.stdout)
  if (!m || !n || /Non-2xx/.test(r.stdout)) throw new Error(`wrk failed for ${s.variant}:\n${r.stdout}${r.stderr}`)
  const ticks = cpuTicks(s.pid) - before
  return { rps: Number(m[1]), cpuUs: (ticks * 10_000) / Number(n[1]) }
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b)
  const mid = s.length >> 1
  return s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2
}

const servers: Server[] = []
try {
  for (const v of variants) servers.push(await start(v))
  // Sanity: the endpoint answers 200 on every server before measuring.
  for (const s of servers) {
    const res = await fetch(`http://127.0.0.1:${s.port}/users/${s.id}`, { headers: { authorization: `Bearer ${s.token}` } })
    if (res.status !== 200) throw new Error(`${s.variant}: GET /users/${s.id} answered ${res.status}`)
  }
  for (const s of servers) wrk(s, 2) // warm-up (JIT)
  const results = new Map<string, number[]>(variants.map((v) => [v, []]))
  const cpu = new Map<string, number[]>(variants.map((v) => [v, []]))
  for (let r = 0; r < rounds; r++) {
    const order = servers.map((_, i) => servers[(i + r) % servers.length]!)
    const line: string[] = []
    for (const s of order) {
      const { rps, cpuUs } = wrk(s, seconds)
      results.get(s.variant)!.push(rps)
      cpu.get(s.variant)!.push(cpuUs)
      line.push(`${s.variant}=${rps.toFixed(0)}/s ${cpuUs.toFixed(1)}µs`)
    }
    console.log(`round ${r + 1}: ${line.join('  ')}`)
  }
  const base = median(results.get(variants[0]!)!)
  const baseCpu = median(cpu.get(variants[0]!)!)
  const pct = (x: number, b: number) => `${x >= b ? '+' : ''}${(((x - b) / b) * 100).toFixed(1)}%`
  console.log(`\nGET /users/{id}, ${connections} connections, ${rounds} x ${seconds}s per variant, medians:`)
  console.log(`| variant | req/s | vs ${variants[0]} | server CPU µs/request | vs ${variants[0]} | req/s runs |`)
  console.log('|---|---|---|---|---|---|')
  for (const v of variants) {
    const xs = results.get(v)!
    const m = median(xs)
    const c = median(cpu.get(v)!)
    console.log(`| ${v} | ${m.toFixed(0)} | ${pct(m, base)} | ${c.toFixed(1)} | ${pct(c, baseCpu)} | ${xs.map((x) => x.toFixed(0)).join(', ')} |`)
  }
} finally {
  for (const s of servers) s.kill()
}
