// `bun run bench`: Roster against a raw Bun.serve + bun:sqlite baseline, in the
// same run, with wrk (2 threads, 64 connections, fixed durations, warm-up first).
// Runs alternate (baseline, Roster, then Roster, baseline, ...) so that drift of a
// shared machine hits both sides alike; compare ratios, not absolute figures.
//
//   bun run bench              full run (about 6 to 8 minutes)
//   bun run bench --quick      short runs (about a minute)
//   options: --duration S  --warmup S  --rounds N  --large N (users in the big dataset)
//            --only small|large (one dataset)  --filter TEXT (only rows whose request contains TEXT)
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { availableParallelism, loadavg, tmpdir } from 'node:os'
import { join } from 'node:path'
import { openDatabase } from '../../src/db/client'
import { HASH_PARAMS } from '../../src/lib/password'
import { encodeCursor } from '../../src/modules/users/service'
import { BENCH_PASSWORD, dataset, username, workingCopy } from './seed'
import { ensureWrk, wrk, writeScript, type WrkResult } from './wrk'
import { SOURCE, startServer } from '../server'
import type { Subprocess } from 'bun'

const SECRET = 'bench-secret-key-that-is-long-enough-0123456789'

// ---------------------------------------------------------------- options

function option(name: string, fallback: number): number {
  const i = process.argv.indexOf(`--${name}`)
  if (i < 0) return fallback
  const v = Number(process.argv[i + 1])
  if (!Number.isFinite(v) || v <= 0) throw new Error(`--${name} needs a positive number`)
  return v
}
const quick = process.argv.includes('--quick')
const onlyAt = process.argv.indexOf('--only')
const only = onlyAt < 0 ? undefined : process.argv[onlyAt + 1]
if (only !== undefined && only !== 'small' && only !== 'large') throw new Error('--only takes small or large')
const filterAt = process.argv.indexOf('--filter')
const filter = filterAt < 0 ? undefined : process.argv[filterAt + 1]
const opts = {
  duration: option('duration', quick ? 3 : 10),
  warmup: option('warmup', quick ? 1 : 5),
  rounds: option('rounds', quick ? 1 : 2),
  small: 1000,
  large: option('large', 1_000_000)
}

const log = (s: string) => process.stderr.write(`[bench] ${s}\n`)

// ---------------------------------------------------------------- processes

interface Proc {
  name: string
  pid: number
  port: number
  stop(): Promise<void>
}

const live = new Set<Proc>()
async function stopAll() {
  for (const p of [...live]) await p.stop()
}
process.on('SIGINT', () => void stopAll().then(() => process.exit(130)))

function track(name: string, child: Subprocess, port: number, after?: () => void): Proc {
  const p: Proc = {
    name,
    pid: child.pid,
    port,
    async stop() {
      live.delete(p)
      child.kill('SIGTERM')
      const timer = setTimeout(() => child.kill('SIGKILL'), 5000)
      await child.exited
      clearTimeout(timer)
      after?.()
    }
  }
  live.add(p)
  return p
}

async function startBaseline(dbFile: string): Promise<Proc> {
  const child = Bun.spawn(['bun', join(import.meta.dir, 'baseline.ts'), dbFile], { stdout: 'pipe', stderr: 'inherit' })
  const reader = child.stdout.getReader()
  let text = ''
  while (!text.includes('\n')) {
    const { value, done } = await reader.read()
    if (done) throw new Error('baseline exited before listening')
    text += new TextDecoder().decode(value)
  }
  reader.releaseLock()
  const port = Number(/listening (\d+)/.exec(text)?.[1])
  return track('baseline', child, port)
}

/**
 * Roster as it ships: `bun src/index.ts serve` at LOG_LEVEL=info (one JSON line
 * per request, written to a file as a container runtime would), rate limit off.
 */
async function startRoster(dataDir: string): Promise<Proc & { logFile: string }> {
  const logFile = join(dataDir, 'roster.log')
  const env = {
    PATH: process.env.PATH ?? '/usr/bin:/bin',
    HOME: process.env.HOME ?? '/tmp',
    DATA_DIR: dataDir,
    HOST: '127.0.0.1',
    PORT: '0',
    SECRET_KEY: SECRET,
    RATE_LIMIT_PER_MINUTE: '0',
    LOG_LEVEL: 'info',
    ALLOW_SIGNUP: 'true'
  }
  const s = await startServer(SOURCE, { env, logFile })
  return Object.assign(track('roster', s.proc, Number(new URL(s.url).port)), { logFile })
}

// ---------------------------------------------------------------- memory

const statusField = (pid: number, field: string): number => {
  try {
    const m = new RegExp(`${field}:\\s+(\\d+) kB`).exec(readFileSync(`/proc/${pid}/status`, 'utf8'))
    return m ? Number(m[1]) / 1024 : NaN
  } catch {
    return NaN
  }
}
const rssMb = (pid: number) => statusField(pid, 'VmRSS')

/** Samples a process's RSS every 100 ms while `fn` runs; returns the highest. */
async function peakRss<T>(pid: number, fn: () => Promise<T>): Promise<{ value: T; peak: number }> {
  let peak = rssMb(pid)
  const timer = setInterval(() => {
    const r = rssMb(pid)
    if (r > peak) peak = r
  }, 100)
  try {
    const value = await fn()
    return { value, peak: Math.max(peak, rssMb(pid)) }
  } finally {
    clearInterval(timer)
  }
}

// ---------------------------------------------------------------- scenarios

interface Entry {
  label: string
  proc: Proc
  path: string
  script: string
  /** The baseline entry whose req/s this one is compared with. */
  vs?: string
  timeout?: string
  /** Waits until the server has finished work left over by a run (queued hashes). */
  drain?: () => Promise<unknown>
  /** Hash-bound: measure cores ÷ single-hash time just before each run. */
  hashBound?: boolean
  seconds?: number
}

interface Row {
  dataset: string
  label: string
  server: string
  runs: WrkResult[]
  vs?: string
  peakRss: number
  /** Mean of cores ÷ single-hash time measured beside the runs (hashes/s). */
  bound?: number
  /** Hashes/s this process got running `cores` hashes at once, beside the runs. */
  parallel?: number
}

const rows: Row[] = []
let scriptDir = ''

const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length

/**
 * Warm each entry up, then run the entries in turns for `rounds` rounds,
 * reversing the order every round (A B, B A, ...) so drift hits all alike.
 */
async function group(datasetName: string, entries: Entry[]): Promise<void> {
  if (filter !== undefined && !entries.some((e) => e.label.includes(filter))) return
  for (const e of entries) {
    log(`${datasetName}: warm-up ${e.label} (${e.proc.name}, ${opts.warmup} s)`)
    await wrk({ url: `http://127.0.0.1:${e.proc.port}${e.path}`, script: e.script, seconds: opts.warmup, timeout: e.timeout, args: ['w'] })
    await e.drain?.()
  }
  const results = new Map<Entry, { runs: WrkResult[]; peak: number; bounds: number[]; parallel: number[] }>(
    entries.map((e) => [e, { runs: [], peak: 0, bounds: [], parallel: [] }])
  )
  for (let r = 0; r < opts.rounds; r++) {
    const order = r % 2 === 0 ? entries : [...entries].reverse()
    for (const e of order) {
      const slot = results.get(e)!
      // The machine is shared: the hash bound is measured next to each run.
      const before = e.hashBound ? await singleHashMs() : NaN
      const { value, peak } = await peakRss(e.proc.pid, () =>
        wrk({ url: `http://127.0.0.1:${e.proc.port}${e.path}`, script: e.script, seconds: e.seconds ?? opts.duration, timeout: e.timeout, args: [`r${r}`] })
      )
      await e.drain?.()
      if (e.hashBound) {
        const ms = (before + (await singleHashMs())) / 2
        slot.bounds.push((cores * 1000) / ms)
        slot.parallel.push(await parallelHashRate())
        log(`single argon2id hash beside the run: ${ms.toFixed(1)} ms, bound ${((cores * 1000) / ms).toFixed(1)}/s; ${cores} at once: ${slot.parallel.at(-1)!.toFixed(1)}/s`)
      }
      slot.runs.push(value)
      slot.peak = Math.max(slot.peak, peak)
      log(`${datasetName}: ${e.label} (${e.proc.name}) ${value.rps.toFixed(0)} req/s, p99 ${value.p99ms.toFixed(2)} ms, errors ${value.errors}`)
    }
  }
  for (const e of entries) {
    const slot = results.get(e)!
    rows.push({ dataset: datasetName, label: e.label, server: e.proc.name, runs: slot.runs, vs: e.vs, peakRss: slot.peak, bound: slot.bounds.length ? mean(slot.bounds) : undefined, parallel: slot.parallel.length ? mean(slot.parallel) : undefined })
  }
}

// Lua request scripts. Every script gets the JSON `done` hook from wrk.ts.
const THREAD_IDS = `
local nextThread = 0
setup = function(thread) nextThread = nextThread + 1; thread:set("tid", nextThread) end
`
function randomIdsScript(name: string, token: string, maxId: number): string {
  // Fixed random ids (same seed for both servers), prepared at start so that
  // building requests costs wrk nothing during the run.
  return writeScript(
    scriptDir,
    name,
    `${THREAD_IDS}
local reqs = {}
local i = 0
init = function(args)
  math.randomseed(1234 + tid)
  for k = 1, 10000 do
    reqs[k] = wrk.format("GET", "/users/" .. math.random(1, ${maxId}), { ["Authorization"] = "Bearer ${token}" })
  end
end
request = function() i = i % #reqs + 1; return reqs[i] end
`
  )
}
const authScript = (name: string, token: string) => writeScript(scriptDir, name, `wrk.headers["Authorization"] = "Bearer ${token}"\n`)
const loginScript = () =>
  writeScript(
    scriptDir,
    'login',
    `wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.body = '{"username":"${username(2)}","password":"${BENCH_PASSWORD}"}'
`
  )
// Every signup is a new user: thread id, run tag (init args) and a counter.
const signupScript = () =>
  writeScript(
    scriptDir,
    'signup',
    `${THREAD_IDS}
local prefix
local n = 0
init = function(args) prefix = "s" .. tostring(args[1] or "x") .. "t" .. tid .. "x" .. os.time() end
request = function()
  n = n + 1
  local name = prefix .. "n" .. n
  return wrk.format("POST", "/users", { ["Content-Type"] = "application/json" },
    '{"username":"' .. name .. '","email":"' .. name .. '@bench.example","password":"${BENCH_PASSWORD}","age":30}')
end
`
  )

async function login(proc: Proc, user: string): Promise<string> {
  const res = await fetch(`http://127.0.0.1:${proc.port}/auth/login`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ username: user, password: BENCH_PASSWORD })
  })
  if (res.status !== 200) throw new Error(`login failed: ${res.status}`)
  return ((await res.json()) as { access_token: string }).access_token
}

/** Sanity check before timing anything: both servers return the same JSON. */
async function sameAnswer(baseline: Proc, roster: Proc, token: string, path: string): Promise<void> {
  const a = await (await fetch(`http://127.0.0.1:${baseline.port}${path}`)).text()
  const b = await (await fetch(`http://127.0.0.1:${roster.port}${path}`, { headers: { authorization: `Bearer ${token}` } })).text()
  if (a !== b) throw new Error(`baseline and roster disagree on ${path}:\n${a.slice(0, 300)}\n${b.slice(0, 300)}`)
}

/** What the machine really gives to `cores` hashes at once right now (it is shared). */
async function parallelHashRate(seconds = 1.5): Promise<number> {
  const t0 = performance.now()
  let n = 0
  await Promise.all(
    Array.from({ length: cores }, async () => {
      while (performance.now() - t0 < seconds * 1000) {
        await Bun.password.hash(`Pw${n}x12345`, HASH_PARAMS)
        n++
      }
    })
  )
  return n / ((performance.now() - t0) / 1000)
}

/** Median time of one durable commit (synchronous=FULL, as Roster runs) on this disk. */
function commitMs(dir: string): { median: number; p90: number } {
  const db = openDatabase(join(dir, 'fsync-probe.db'))
  db.$client.run('CREATE TABLE IF NOT EXISTS t (v TEXT)')
  const insert = db.$client.prepare('INSERT INTO t (v) VALUES (?)')
  const times: number[] = []
  for (let i = 0; i < 60; i++) {
    const t0 = performance.now()
    insert.run(String(i))
    times.push(performance.now() - t0)
  }
  db.$client.close()
  times.sort((a, b) => a - b)
  return { median: times[30]!, p90: times[54]! }
}

async function singleHashMs(): Promise<number> {
  const times: number[] = []
  for (let i = 0; i < 8; i++) {
    const t0 = performance.now()
    await Bun.password.hash(`Pw${i}x12345`, HASH_PARAMS)
    if (i >= 2) times.push(performance.now() - t0)
  }
  times.sort((a, b) => a - b)
  return times[Math.floor(times.length / 2)]!
}

// ---------------------------------------------------------------- the run

interface Memory {
  idle: number
  peakGet: number
  peakAll: number
}
const memory = new Map<string, Memory>()
const extras: string[] = []
let commit: { median: number; p90: number } | undefined
const cores = availableParallelism()

async function runDataset(name: string, count: number, work: string, full: boolean): Promise<void> {
  const cached = await dataset(count, log)
  const dir = join(work, name)
  const dbFile = workingCopy(cached, dir, 'roster.db')
  const roster = await startRoster(dir)
  const baseline = await startBaseline(dbFile)
  try {
    await Bun.sleep(1000)
    const idle = rssMb(roster.pid)
    log(`${name}: roster idle RSS ${idle.toFixed(1)} MB`)
    const token = await login(roster, username(1))
    await sameAnswer(baseline, roster, token, `/users/${Math.ceil(count / 2)}`)
    await sameAnswer(baseline, roster, token, `/users?limit=10`)

    const byId = randomIdsScript(`get-${name}`, token, count)
    const auth = authScript(`auth-${name}`, token)
    const getRows = rows.length
    await group(name, [
      { label: 'GET /users/{id}', proc: baseline, path: '', script: byId },
      { label: 'GET /users/{id}', proc: roster, path: '', script: byId, vs: 'GET /users/{id}' }
    ])
    await group(name, [
      { label: 'GET /users?limit=10', proc: baseline, path: '/users?limit=10', script: auth },
      { label: 'GET /users?limit=10', proc: roster, path: '/users?limit=10', script: auth, vs: 'GET /users?limit=10' }
    ])
    if (count > opts.small) {
      // Dataset size against dataset size in one alternation: Roster on the small
      // dataset beside this one, both asked for random ids in their range.
      const smallDir = join(work, `${name}-small`)
      workingCopy(await dataset(opts.small, log), smallDir, 'roster.db')
      const rosterSmall = await startRoster(smallDir)
      try {
        const tokenSmall = await login(rosterSmall, username(1))
        await group(name, [
          { label: `GET /users/{id} on ${fmt(opts.small)} users (alternating)`, proc: rosterSmall, path: '', script: randomIdsScript('get-small-alt', tokenSmall, opts.small) },
          { label: `GET /users/{id} on ${fmt(count)} users (alternating)`, proc: roster, path: '', script: byId }
        ])
      } finally {
        await rosterSmall.stop()
        rmSync(smallDir, { recursive: true, force: true })
      }
    }
    const deepId = count - Math.min(1000, count / 10)
    const deep = encodeCursor(deepId)
    await group(name, [
      { label: 'GET /api/v2/users?limit=10 (first page)', proc: roster, path: '/api/v2/users?limit=10', script: auth },
      { label: `GET /api/v2/users?limit=10&after=<id ${deepId}>`, proc: roster, path: `/api/v2/users?limit=10&after=${deep}`, script: auth },
      ...(count > 10_000
        ? [{ label: 'GET /api/v2/users?limit=10&skip=10000', proc: roster, path: '/api/v2/users?limit=10&skip=10000', script: auth }]
        : [])
    ])
    const peakGet = Math.max(...rows.slice(getRows).filter((r) => r.server === 'roster').map((r) => r.peakRss))

    if (full && (filter === undefined || 'POST'.includes(filter))) {
      commit = commitMs(dir)
      const timeout = '30s'
      const seconds = Math.max(opts.duration, 6)
      // wrk's closed connections leave their requests queued for a hash; one
      // more login waits behind all of them (the queue is FIFO).
      const drain = () => login(roster, username(3))
      await group(name, [{ label: 'POST /users (signup)', proc: roster, path: '', script: signupScript(), timeout, drain, hashBound: true, seconds }])
      await group(name, [{ label: 'POST /auth/login', proc: roster, path: '/auth/login', script: loginScript(), timeout, drain, hashBound: true, seconds }])
      // The event loop must stay free while hashes run: GETs beside a signup flood.
      log(`${name}: GET /users/{id} (48 connections) during a signup flood (16 connections)`)
      const [get, flood] = await Promise.all([
        wrk({ url: `http://127.0.0.1:${roster.port}`, script: byId, seconds: opts.duration, connections: 48 }),
        wrk({ url: `http://127.0.0.1:${roster.port}`, script: signupScript(), seconds: opts.duration, connections: 16, timeout: '30s', args: ['flood'] })
      ])
      rows.push({ dataset: name, label: 'GET /users/{id} during signup flood (48 conn.)', server: 'roster', runs: [get], peakRss: NaN })
      rows.push({ dataset: name, label: 'POST /users flood beside it (16 conn.)', server: 'roster', runs: [flood], peakRss: NaN })
      await drain()
    }
    const peakAll = statusField(roster.pid, 'VmHWM')
    memory.set(name, { idle, peakGet, peakAll })

    // One JSON line per request: count what Roster wrote.
    const lines = readFileSync(roster.logFile, 'utf8').split('\n').filter((l) => l.includes('"msg":"request"')).length
    extras.push(`${name}: Roster wrote ${lines.toLocaleString('en')} request log lines (LOG_LEVEL=info)`)
  } finally {
    await baseline.stop()
    await roster.stop()
    rmSync(dir, { recursive: true, force: true })
  }
}

function fmt(n: number, digits = 0): string {
  return Number.isFinite(n) ? n.toLocaleString('en', { minimumFractionDigits: digits, maximumFractionDigits: digits }) : '–'
}

function report(started: number): string {
  const out: string[] = []
  const la = loadavg()
  out.push(
    `Roster benchmark, ${new Date().toISOString().slice(0, 16)}Z, Bun ${Bun.version}, ${cores} cores (wrk on the same cores), ` +
      `load average before ${la.map((x) => x.toFixed(2)).join(' ')}; wrk -t2 -c64, ${opts.warmup} s warm-up, ` +
      `${opts.rounds} × ${opts.duration} s alternating runs per row (figures are means), Roster at LOG_LEVEL=info, rate limit off.`
  )
  out.push('')
  out.push('| dataset | request | server | req/s | p50 ms | p99 ms | errors | Roster/baseline or bound |')
  out.push('|---|---|---|---:|---:|---:|---:|---:|')
  for (const r of rows) {
    const rps = mean(r.runs.map((x) => x.rps))
    const base = r.vs ? rows.find((b) => b.dataset === r.dataset && b.server === 'baseline' && b.label === r.vs) : undefined
    const ratio = base ? rps / mean(base.runs.map((x) => x.rps)) : NaN
    const against = Number.isFinite(ratio) ? ratio.toFixed(2) + '×' : r.bound ? `${((rps / r.bound) * 100).toFixed(0)}% of ${r.bound.toFixed(0)}/s hash bound` : ''
    out.push(
      `| ${r.dataset} | \`${r.label}\` | ${r.server} | ${fmt(rps)} | ${fmt(mean(r.runs.map((x) => x.p50ms)), 2)} | ${fmt(mean(r.runs.map((x) => x.p99ms)), 2)} | ${r.runs.reduce((a, x) => a + x.errors, 0)} | ${against} |`
    )
  }
  out.push('')
  out.push('| dataset | Roster RSS idle | peak under GET load | peak overall (incl. argon2) |')
  out.push('|---|---:|---:|---:|')
  for (const [name, m] of memory) out.push(`| ${name} | ${fmt(m.idle, 1)} MB | ${fmt(m.peakGet, 1)} MB | ${fmt(m.peakAll, 1)} MB |`)
  out.push('')

  // Targets.
  const get = (ds: string, label: string, server = 'roster'): Row | undefined => rows.find((r) => r.dataset === ds && r.label.startsWith(label) && r.server === server)
  const rps = (r?: Row) => (r ? mean(r.runs.map((x) => x.rps)) : NaN)
  const p99 = (r?: Row) => (r ? mean(r.runs.map((x) => x.p99ms)) : NaN)
  const small = `${fmt(opts.small)} users`
  const large = `${fmt(opts.large)} users`
  const check = (ok: boolean) => (ok ? 'met' : 'MISSED')
  const targets: string[] = []
  const g1 = rps(get(small, 'GET /users/{id}')) / rps(get(small, 'GET /users/{id}', 'baseline'))
  const baseP99 = p99(get(small, 'GET /users/{id}', 'baseline'))
  targets.push(`GET /users/{id} ≥ 0.6× baseline: ${g1.toFixed(3)}× (${check(g1 >= 0.6)}); p99 < 10 ms: ${fmt(p99(get(small, 'GET /users/{id}')), 2)} ms (${check(p99(get(small, 'GET /users/{id}')) < 10)}; the baseline's own p99 in the same run: ${fmt(baseP99, 2)} ms)`)
  const l1 = rps(get(small, 'GET /users?limit')) / rps(get(small, 'GET /users?limit', 'baseline'))
  targets.push(`GET /users?limit=10 ≥ 0.4× baseline: ${l1.toFixed(3)}× (${check(l1 >= 0.4)})`)
  if (memory.has(large)) {
    const a = rps(get(large, `GET /users/{id} on ${small}`))
    const b = rps(get(large, `GET /users/{id} on ${large}`))
    const physical = rps(get(large, 'GET /users/{id}', 'baseline')) / rps(get(small, 'GET /users/{id}', 'baseline'))
    targets.push(
      `GET /users/{id} at ${large} within 10% of ${small} (alternating runs): ${((b / a - 1) * 100).toFixed(1)}% (${check(b >= 0.9 * a)}); ` +
        `Roster/baseline ${(rps(get(large, 'GET /users/{id}')) / rps(get(large, 'GET /users/{id}', 'baseline'))).toFixed(2)}× at ${large} against ${(rps(get(small, 'GET /users/{id}')) / rps(get(small, 'GET /users/{id}', 'baseline'))).toFixed(2)}× at ${small}; ` +
        `the baseline's own change between datasets (not alternated): ${((physical - 1) * 100).toFixed(1)}%`
    )
    const first = p99(get(large, 'GET /api/v2/users?limit=10 (first'))
    const deep = p99(get(large, 'GET /api/v2/users?limit=10&after'))
    targets.push(`v2 deep cursor page p99 within 20% of the first page's at ${large}: ${fmt(deep, 2)} vs ${fmt(first, 2)} ms, ${((deep / first - 1) * 100).toFixed(1)}% (${check(deep <= first * 1.2)})`)
  }
  for (const [name, m] of memory) {
    targets.push(`RSS at ${name}: idle ${fmt(m.idle, 1)} MB < 80 (${check(m.idle < 80)}); peak under GET load ${fmt(m.peakGet, 1)} MB < 200 (${check(m.peakGet < 200)})`)
  }
  const signup = get(small, 'POST /users (signup)')
  if (signup?.bound) {
    const bound = signup.bound
    const s = rps(signup)
    targets.push(`signup ≥ 90% of cores ÷ single-hash time (${cores} ÷ ${((cores * 1000) / bound).toFixed(1)} ms = ${bound.toFixed(1)}/s, measured beside the runs): ${s.toFixed(1)}/s = ${((s / bound) * 100).toFixed(0)}% (${check(s >= 0.9 * bound)})`)
    if (signup.parallel) targets.push(`  what ${cores} hashes at once really got beside the runs (shared machine): ${signup.parallel.toFixed(1)}/s; signup = ${((s / signup.parallel) * 100).toFixed(0)}% of that`)
    if (commit) targets.push(`  one durable commit (synchronous=FULL) on this disk: median ${commit.median.toFixed(2)} ms, p90 ${commit.p90.toFixed(2)} ms, on the event loop`)
    const login = get(small, 'POST /auth/login')
    if (login?.bound) targets.push(`login (same argon2 bound, plus a session insert): ${rps(login).toFixed(1)}/s = ${((rps(login) / login.bound) * 100).toFixed(0)}% of ${login.bound.toFixed(1)}/s`)
    const during = get(small, 'GET /users/{id} during')
    if (during) targets.push(`GET /users/{id} beside a signup flood: ${fmt(rps(during))} req/s, p99 ${fmt(p99(during), 2)} ms (hashing runs off the event loop)`)
  }
  out.push('Targets:')
  for (const t of targets) out.push(`- ${t}`)
  for (const e of extras) out.push(`- ${e}`)
  out.push(`- total time ${((performance.now() - started) / 1000).toFixed(0)} s`)
  return out.join('\n')
}

async function main() {
  const started = performance.now()
  ensureWrk(log)
  const work = mkdtempSync(join(tmpdir(), 'roster-bench-'))
  scriptDir = join(work, 'scripts')
  log(`options ${JSON.stringify({ quick, ...opts })}; work dir ${work}`)
  try {
    if (only !== 'large') await runDataset(`${fmt(opts.small)} users`, opts.small, work, true)
    if (only !== 'small') await runDataset(`${fmt(opts.large)} users`, opts.large, work, false)
  } finally {
    await stopAll()
    rmSync(work, { recursive: true, force: true })
  }
  process.stdout.write(report(started) + '\n')
}

main().catch(async (err) => {
  await stopAll()
  process.stderr.write(`bench failed: ${err instanceof Error ? err.stack : String(err)}\n`)
  process.exit(1)
})
