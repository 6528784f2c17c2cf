// Drives wrk (installed with apt-get when missing) and reads its results from a
// Lua `done` hook that prints one JSON line, so nothing depends on wrk's text
// layout.
import { mkdirSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'

export interface WrkResult {
  requests: number
  seconds: number
  rps: number
  p50ms: number
  p99ms: number
  errors: number
}

const DONE = `
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format('WRKJSON {"requests":%d,"duration_us":%d,"p50_us":%d,"p99_us":%d,"errors":%d}\\n',
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(99),
    e.connect + e.read + e.write + e.status + e.timeout))
end
`

export function ensureWrk(log: (s: string) => void): void {
  if (Bun.which('wrk')) return
  log('wrk not found: installing it with apt-get')
  const sudo = process.getuid?.() === 0 ? [] : ['sudo']
  for (const args of [['apt-get', 'update'], ['apt-get', 'install', '-y', 'wrk']]) {
    const r = Bun.spawnSync([...sudo, ...args], { stdout: 'ignore', stderr: 'inherit', env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' } })
    if (r.exitCode !== 0) throw new Error(`${args.join(' ')} failed; install wrk by hand`)
  }
  if (!Bun.which('wrk')) throw new Error('wrk still missing after apt-get install')
}

/** A Lua script: `body` (request logic, may be empty) plus the JSON `done` hook. */
export function writeScript(dir: string, name: string, body: string): string {
  mkdirSync(dir, { recursive: true })
  const file = join(dir, `${name}.lua`)
  writeFileSync(file, body + DONE)
  return file
}

export interface WrkOptions {
  url: string
  script: string
  seconds: number
  threads?: number
  connections?: number
  /** Per-request timeout; signups queue behind argon2 for a while. */
  timeout?: string
  /** Passed to the script's init(args). */
  args?: string[]
}

export async function wrk(o: WrkOptions): Promise<WrkResult> {
  const args = ['wrk', '-t', String(o.threads ?? 2), '-c', String(o.connections ?? 64), '-d', `${o.seconds}s`, '--timeout', o.timeout ?? '10s', '-s', o.script, o.url, ...(o.args?.length ? ['--', ...o.args] : [])]
  const proc = Bun.spawn(args, { stdout: 'pipe', stderr: 'pipe' })
  const [out, err] = await Promise.all([new Response(proc.stdout).text(), new Response(proc.stderr).text()])
  await proc.exited
  const line = out.split('\n').find((l) => l.startsWith('WRKJSON '))
  if (proc.exitCode !== 0 || !line) throw new Error(`wrk failed (${proc.exitCode}): ${err || out}`)
  const j = JSON.parse(line.slice(8)) as { requests: number; duration_us: number; p50_us: number; p99_us: number; errors: number }
  const seconds = j.duration_us / 1e6
  return { requests: j.requests, seconds, rps: j.requests / seconds, p50ms: j.p50_us / 1000, p99ms: j.p99_us / 1000, errors: j.errors }
}
