// Cost of the edge plugins on the hot path: authenticated GET /users/{id},
// requests without an Origin header, one server per variant, wrk runs
// alternating between variants (order rotated each round) in one invocation so
// that the machine's background load hits every variant alike. Reports the
// median requests/s per variant, its change against the baseline (median of
// the per-round ratios), and the server's CPU time per request (user+system
// from /proc, which other processes' load disturbs less than throughput).
//
//   bun test/bench/edge.bench.ts [rounds=5] [seconds=5] [connections=16]
//   (env VARIANTS=base,limiter,... to choose; WARMUP=seconds per server, default 5)
//
// Not part of `bun test` (the name does not match *.test.ts).
import { spawn, spawnSync } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { createInterface } from 'node:readline'

const rounds = Number(process.argv[2] ?? 5)
const seconds = Number(process.argv[3] ?? 5)
const connections = Number(process.argv[4] ?? 16)
const warmup = Number(process.env.WARMUP ?? 5)
const variants = (process.env.VARIANTS ?? 'base,base2,limiter,limiter-proxy,cors,elysiacors').split(',')

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
}

/** utime + stime of a process, in clock ticks (1/100 s). */
function cpuTicks(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
  return Number(fields[11]) + Number(fields[12])
}

/** One process serving every variant, each on its own port. */
async function start(specs: string[]): Promise<{ servers: Server[]; kill: () => Promise<void> }> {
  const child = spawn('bun', [new URL('./edge-server.ts', import.meta.url).pathname, specs.join(',')], { stdio: ['ignore', 'pipe', 'inherit'] })
  const line = await new Promise<string>((resolve, reject) => {
    const rl = createInterface({ input: child.stdout! })
    rl.once('line', resolve)
    child.once('exit', (code) => reject(new Error(`bench server exited (${code})`)))
  })
  const infos = JSON.parse(line) as { variant: string; port: number; token: string; id: number }[]
  const kill = () =>
    new Promise<void>((resolve) => {
      if (child.exitCode !== null) return resolve()
      child.once('exit', () => resolve())
      child.kill('SIGTERM')
    })
  return { servers: infos.map((i) => ({ ...i, pid: child.pid! })), kill }
}

function wrk(s: Server, secs: number): { rps: number; cpuUs: number } {
  const before = cpuTicks(s.pid)
  const r = spawnSync(
    'wrk',
    ['-t1', `-c${connections}`, `-d${secs}s`, '-H', `Authorization: Bearer ${s.token}`, '-H', 'X-Forwarded-For: 203.0.113.7', `http://127.0.0.1:${s.port}/users/${s.id}`],
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

// All variants live in one process (see edge-server.ts), started afresh each
// round: two processes running the same code differed by up to ~5% in
// throughput here (JIT and memory-layout luck, measured base vs base2), more
// than the effect being measured.
let kill: () => Promise<void> = async () => {}
try {
  const results = new Map<string, number[]>(variants.map((v) => [v, []]))
  const cpu = new Map<string, number[]>(variants.map((v) => [v, []]))
  for (let r = 0; r < rounds; r++) {
    const started = await start(variants)
    kill = started.kill
    const servers = started.servers
    // Sanity: the endpoint answers 200 on every server before measuring.
    for (const s of servers) {
      const res = await fetch(`http://127.0.0.1:${s.port}/users/${s.id}`, { headers: { authorization: `Bearer ${s.token}` } })
      if (res.status !== 200) throw new Error(`${s.variant}: GET /users/${s.id} answered ${res.status}`)
    }
    for (const s of servers) wrk(s, warmup) // warm-up (JIT)
    const order = servers.map((_, i) => servers[(i + r) % servers.length]!)
    const line: string[] = []
    for (const s of order) {
      const { rps, cpuUs } = wrk(s, seconds)
      results.get(s.variant)!.push(rps)
      cpu.get(s.variant)!.push(cpuUs)
      line.push(`${s.variant}=${rps.toFixed(0)}/s ${cpuUs.toFixed(1)}µs`)
    }
    console.log(`round ${r + 1}: ${line.join('  ')}`)
    await kill()
  }
  // Each variant is compared with the baseline of the same round (median of
  // the per-round ratios): slow drift of the machine cancels out.
  const b0 = variants[0]!
  const paired = (m: Map<string, number[]>, v: string) => median(m.get(v)!.map((x, i) => x / m.get(b0)![i]!))
  const pct = (ratio: number) => `${ratio >= 1 ? '+' : ''}${((ratio - 1) * 100).toFixed(1)}%`
  console.log(`\nGET /users/{id}, ${connections} connections, ${rounds} rounds x ${seconds}s per variant:`)
  console.log(`| variant | req/s (median) | vs ${b0} | server CPU µs/request (median) | vs ${b0} | req/s runs |`)
  console.log('|---|---|---|---|---|---|')
  for (const v of variants) {
    const xs = results.get(v)!
    console.log(
      `| ${v} | ${median(xs).toFixed(0)} | ${pct(paired(results, v))} | ${median(cpu.get(v)!).toFixed(1)} | ${pct(paired(cpu, v))} | ${xs.map((x) => x.toFixed(0)).join(', ')} |`
    )
  }
} finally {
  await kill()
}
