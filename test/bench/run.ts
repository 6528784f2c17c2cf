// `bun run bench`: Roster as it ships (the compiled binary, LOG_LEVEL=info, the
// rate limiter on with a limit nothing reaches) against two baselines on the same
// database file, in the same run: a raw Bun.serve + bun:sqlite prepared lookup,
// and a bare Elysia app doing the same lookup. wrk, 2 threads, 64 connections,
// warm-up first. Runs alternate (A B C, then C B A, ...) so that drift of a shared
// machine hits every server alike.
//
// Every row reports the server's own CPU time per request (utime + stime from
// /proc/<pid>/stat over the run, divided by the requests wrk completed): on a
// loaded machine req/s says how busy the neighbours were, CPU per request says
// what a request costs. Compare ratios within one run.
//
//   bun run bench              full run (about 8 minutes)
//   bun run bench --quick      short runs, no argon2-bound rows (about 2 minutes)
//   options: --duration S  --warmup S  --rounds N  --large N (users in the big dataset)
//            --only small|large (one dataset)  --filter TEXT (only groups with a request containing TEXT)
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { availableParallelism, loadavg, tmpdir } from 'node:os'
import { join } from 'node:path'
import { openDatabase } from '../../src/db/client'
import { HASH_PARAMS } from '../../src/lib/password'
import { encodeCursor } from '../../src/modules/users/service'
import { BENCH_PASSWORD, dataset, username, workingCopy } from './seed'
import { ensureWrk, wrk, writeScript, type WrkResult } from './wrk'
import { ROOT, startServer } from '../server'
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
  warmup: option('warmup', quick ? 1 : 4),
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

function track(name: string, child: Subprocess, port: number): Proc {
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
    }
  }
  live.add(p)
  return p
}

async function startBaseline(dbFile: string, kind: 'raw' | 'elysia'): Promise<Proc> {
  const child = Bun.spawn(['bun', join(import.meta.dir, 'baseline.ts'), dbFile, kind], { stdout: 'pipe', stderr: 'inherit' })
  const reader = child.stdout.getReader()
  let text = ''
  while (!text.includes('\n')) {
    const { value, done } = await reader.read()
    if (done) throw new Error(`${kind} baseline exited before listening`)
    text += new TextDecoder().decode(value)
  }
  reader.releaseLock()
  const port = Number(/listening (\d+)/.exec(text)?.[1])
  return track(kind, child, port)
}

/** The compiled binary, built once per run with the real build script. */
async function buildBinary(work: string): Promise<string> {
  const out = join(work, 'roster')
  const p = Bun.spawn([process.execPath, join(ROOT, 'src/build.ts'), out], { cwd: ROOT, stdout: 'pipe', stderr: 'pipe' })
  if ((await p.exited) !== 0) throw new Error(`build failed: ${await new Response(p.stderr).text()}`)
  return out
}

/** What Roster ships with, and the variants that isolate the edge's cost. */
const SHIPPED = { LOG_LEVEL: 'info', RATE_LIMIT_PER_MINUTE: '1000000000' }
const LIMITER_OFF = { LOG_LEVEL: 'info', RATE_LIMIT_PER_MINUTE: '0' }
const CORS_ORIGIN = 'https://app.example.com'
const WITH_CORS = { ...SHIPPED, CORS_ORIGINS: CORS_ORIGIN }

/**
 * Roster as the binary: one JSON log line per request written to a file (as a
 * container runtime would), on its own data folder (one instance per folder).
 */
async function startRoster(binary: string, name: string, dataDir: string, env: Record<string, string>): Promise<Proc> {
  const logFile = join(dataDir, 'roster.log')
  const s = await startServer([binary], {
    env: {
      PATH: process.env.PATH ?? '/usr/bin:/bin',
      HOME: process.env.HOME ?? '/tmp',
      DATA_DIR: dataDir,
      SECRET_KEY: SECRET,
      ALLOW_SIGNUP: 'true',
      ...env
    },
    logFile,
    cwd: dataDir
  })
  return track(name, s.proc, Number(new URL(s.url).port))
}

// ---------------------------------------------------------------- memory and CPU

const statusField = (pid: number, field: string): number => {
  try {
    const m = new RegExp(`${field}:\\s+(\\d+) kB`).exec(readFileSync(`/proc/${pid}/status`, 'utf8'))
    return m ? Number(m[1]) / 1024 : NaN
  } catch {
    return NaN
  }
}
const rssMb = (pid: number) => statusField(pid, 'VmRSS')

const CLK_TCK = Number(new TextDecoder().decode(Bun.spawnSync(['getconf', 'CLK_TCK']).stdout).trim()) || 100

/** utime + stime of every thread of a process so far, in µs (clock-tick resolution). */
function cpuUs(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
  // Fields after the command name, which may hold spaces: utime and stime are fields 14 and 15.
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
  return ((Number(f[11]) + Number(f[12])) * 1e6) / CLK_TCK
}

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

interface Run extends WrkResult {
  /** Server CPU time per completed request, µs. */
  cpu: number
}

interface Entry {
  label: string
  proc: Proc
  path: string
  script: string
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
  runs: Run[]
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
  const results = new Map<Entry, { runs: Run[]; peak: number; bounds: number[]; parallel: number[] }>(
    entries.map((e) => [e, { runs: [], peak: 0, bounds: [], parallel: [] }])
  )
  for (let r = 0; r < opts.rounds; r++) {
    const order = r % 2 === 0 ? entries : [...entries].reverse()
    for (const e of order) {
      const slot = results.get(e)!
      // The machine is shared: the hash bound is measured next to each run.
      const before = e.hashBound ? await singleHashMs() : NaN
      const cpu0 = cpuUs(e.proc.pid)
      const { value, peak } = await peakRss(e.proc.pid, () =>
        wrk({ url: `http://127.0.0.1:${e.proc.port}${e.path}`, script: e.script, seconds: e.seconds ?? opts.duration, timeout: e.timeout, args: [`r${r}`] })
      )
      const cpu = (cpuUs(e.proc.pid) - cpu0) / value.requests
      await e.drain?.()
      if (e.hashBound) {
        const ms = (before + (await singleHashMs())) / 2
        slot.bounds.push((cores * 1000) / ms)
        slot.parallel.push(await parallelHashRate())
        log(`single argon2id hash beside the run: ${ms.toFixed(1)} ms, bound ${((cores * 1000) / ms).toFixed(1)}/s; ${cores} at once: ${slot.parallel.at(-1)!.toFixed(1)}/s`)
      }
      slot.runs.push({ ...value, cpu })
      slot.peak = Math.max(slot.peak, peak)
      log(`${datasetName}: ${e.label} (${e.proc.name}) ${value.rps.toFixed(0)} req/s, p99 ${value.p99ms.toFixed(2)} ms, CPU ${cpu.toFixed(1)} µs/req, errors ${value.errors}`)
    }
  }
  for (const e of entries) {
    const slot = results.get(e)!
    rows.push({ dataset: datasetName, label: e.label, server: e.proc.name, runs: slot.runs, peakRss: slot.peak, bound: slot.bounds.length ? mean(slot.bounds) : undefined, parallel: slot.parallel.length ? mean(slot.parallel) : undefined })
  }
}

// Lua request scripts. Every script gets the JSON `done` hook from wrk.ts.
const THREAD_IDS = `
local nextThread = 0
setup = function(thread) nextThread = nextThread + 1; thread:set("tid", nextThread) end
`
const luaHeaders = (h: Record<string, string>) => `{ ${Object.entries(h).map(([k, v]) => `["${k}"] = "${v}"`).join(', ')} }`
function randomIdsScript(name: string, headers: Record<string, string>, maxId: number): string {
  // Fixed random ids (same seed for every server), prepared at start so that
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
    reqs[k] = wrk.format("GET", "/users/" .. math.random(1, ${maxId}), ${luaHeaders(headers)})
  end
end
request = function() i = i % #reqs + 1; return reqs[i] end
`
  )
}
const headerScript = (name: string, headers: Record<string, string>) =>
  writeScript(scriptDir, name, Object.entries(headers).map(([k, v]) => `wrk.headers["${k}"] = "${v}"\n`).join(''))
const bearer = (token: string) => ({ Authorization: `Bearer ${token}` })
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

/** A personal access token for `users:read`, or undefined when this build has none. */
async function personalToken(proc: Proc, session: string): Promise<string | undefined> {
  const res = await fetch(`http://127.0.0.1:${proc.port}/auth/tokens`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${session}` },
    body: JSON.stringify({ name: 'bench', scopes: ['users:read'] })
  })
  if (res.status === 404) return undefined
  if (res.status !== 201) throw new Error(`creating a personal access token failed: ${res.status}`)
  return ((await res.json()) as { token: string }).token
}

/** Sanity check before timing anything: every server returns the same JSON. */
async function sameAnswer(servers: Proc[], headers: Record<string, string>, path: string): Promise<void> {
  const [first, ...rest] = await Promise.all(servers.map(async (s) => (await fetch(`http://127.0.0.1:${s.port}${path}`, { headers })).text()))
  for (const [i, b] of rest.entries()) {
    if (b !== first) throw new Error(`${servers[0]!.name} and ${servers[i + 1]!.name} disagree on ${path}:\n${first!.slice(0, 300)}\n${b.slice(0, 300)}`)
  }
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
  /** Idle RSS of the raw and Elysia baselines (bun from source), for scale. */
  rawIdle: number
  elysiaIdle: number
  peakGet: number
  peakAll: number
}
const memory = new Map<string, Memory>()
const extras: string[] = []
let commit: { median: number; p90: number } | undefined
const cores = availableParallelism()

// Server names in the table.
const RAW = 'raw'
const ELYSIA = 'elysia'
const ROSTER = 'roster'
const ROSTER_OFF = 'roster, limiter off'
const ROSTER_CORS = 'roster + CORS'
const GET_ID = 'GET /users/{id}'
const ME = 'GET /users/me'
const PAT = 'GET /users/{id} with an access token'
const ALT = (n: number) => `GET /users/{id} on ${fmt(n)} users (alternating)`

async function runDataset(binary: string, name: string, count: number, work: string, full: boolean): Promise<void> {
  const cached = await dataset(count, log)
  const copy = (sub: string) => {
    const dir = join(work, `${name}-${sub}`)
    return { dir, db: workingCopy(cached, dir, 'roster.db') }
  }
  const main = copy('roster')
  const roster = await startRoster(binary, ROSTER, main.dir, SHIPPED)
  const started: Proc[] = [roster]
  try {
    await Bun.sleep(1000)
    const idle = rssMb(roster.pid)
    log(`${name}: roster (binary) idle RSS ${idle.toFixed(1)} MB`)
    const raw = await startBaseline(main.db, 'raw')
    const elysia = await startBaseline(main.db, 'elysia')
    started.push(raw, elysia)
    await Bun.sleep(1000)
    const rawIdle = rssMb(raw.pid)
    const elysiaIdle = rssMb(elysia.pid)
    const token = await login(roster, username(1))
    await sameAnswer([raw, elysia, roster], bearer(token), `/users/${Math.ceil(count / 2)}`)
    await sameAnswer([raw, roster], bearer(token), `/users?limit=10`)

    const byId = randomIdsScript(`get-${name}`, bearer(token), count)
    const auth = headerScript(`auth-${name}`, bearer(token))
    const getRows = rows.length
    const headline: Entry[] = [
      { label: GET_ID, proc: raw, path: '', script: byId },
      { label: GET_ID, proc: elysia, path: '', script: byId },
      { label: GET_ID, proc: roster, path: '', script: byId }
    ]
    if (full) {
      // The edge's cost: the same requests with the limiter off, and with CORS
      // configured and an allowed Origin on every request (the most it does).
      const off = copy('off')
      const withCors = copy('cors')
      const rosterOff = await startRoster(binary, ROSTER_OFF, off.dir, LIMITER_OFF)
      started.push(rosterOff)
      const rosterCors = await startRoster(binary, ROSTER_CORS, withCors.dir, WITH_CORS)
      started.push(rosterCors)
      const tokenOff = await login(rosterOff, username(1))
      const tokenCors = await login(rosterCors, username(1))
      const pat = await personalToken(roster, token)
      headline.push(
        { label: ME, proc: roster, path: '/users/me', script: auth },
        ...(pat ? [{ label: PAT, proc: roster, path: '', script: randomIdsScript(`pat-${name}`, bearer(pat), count) }] : []),
        { label: GET_ID, proc: rosterOff, path: '', script: randomIdsScript(`get-off-${name}`, bearer(tokenOff), count) },
        { label: GET_ID, proc: rosterCors, path: '', script: randomIdsScript(`get-cors-${name}`, { ...bearer(tokenCors), Origin: CORS_ORIGIN }, count) }
      )
      if (!pat) extras.push('personal access tokens: not in this build (POST /auth/tokens is 404), no row')
    }
    await group(name, headline)
    for (const p of started.splice(3)) await p.stop()
    await group(name, [
      { label: 'GET /users?limit=10', proc: raw, path: '/users?limit=10', script: auth },
      { label: 'GET /users?limit=10', proc: roster, path: '/users?limit=10', script: auth }
    ])
    if (count > opts.small) {
      // Dataset size against dataset size in one alternation: Roster on the small
      // dataset beside this one, both asked for random ids in their range.
      const smallDir = join(work, `${name}-small`)
      workingCopy(await dataset(opts.small, log), smallDir, 'roster.db')
      const rosterSmall = await startRoster(binary, ROSTER, smallDir, SHIPPED)
      try {
        const tokenSmall = await login(rosterSmall, username(1))
        await group(name, [
          { label: ALT(opts.small), proc: rosterSmall, path: '', script: randomIdsScript('get-small-alt', bearer(tokenSmall), opts.small) },
          { label: ALT(count), proc: roster, path: '', script: byId }
        ])
      } finally {
        await rosterSmall.stop()
      }
    }
    const deepId = count - Math.min(1000, count / 10)
    const deep = encodeCursor(deepId)
    await group(name, [
      { label: 'GET /api/v2/users?limit=10 (first page)', proc: roster, path: '/api/v2/users?limit=10', script: auth },
      { label: `GET /api/v2/users?limit=10&after=<id ${deepId}>`, proc: roster, path: `/api/v2/users?limit=10&after=${deep}`, script: auth },
      ...(count > 10_000 ? [{ label: 'GET /api/v2/users?limit=10&skip=10000', proc: roster, path: '/api/v2/users?limit=10&skip=10000', script: auth }] : [])
    ])
    const peakGet = Math.max(...rows.slice(getRows).filter((r) => r.server === ROSTER).map((r) => r.peakRss))

    if (full && !quick && (filter === undefined || 'POST'.includes(filter))) {
      // Hash-bound rows on a Roster with the limiter off: /auth/login has a
      // strict bucket of its own (10 a minute) that would refuse the flood.
      const hash = copy('hash')
      const hashed = await startRoster(binary, ROSTER_OFF, hash.dir, LIMITER_OFF)
      started.push(hashed)
      const hashedById = randomIdsScript(`get-hash-${name}`, bearer(await login(hashed, username(1))), count)
      commit = commitMs(hash.dir)
      const timeout = '30s'
      const seconds = Math.max(opts.duration, 6)
      // wrk's closed connections leave their requests queued for a hash; one
      // more login waits behind all of them (the queue is FIFO).
      const drain = () => login(hashed, username(3))
      await group(name, [{ label: 'POST /users (signup)', proc: hashed, path: '', script: signupScript(), timeout, drain, hashBound: true, seconds }])
      await group(name, [{ label: 'POST /auth/login', proc: hashed, path: '/auth/login', script: loginScript(), timeout, drain, hashBound: true, seconds }])
      // The event loop must stay free while hashes run: GETs beside a signup flood.
      log(`${name}: GET /users/{id} (48 connections) during a signup flood (16 connections)`)
      const cpu0 = cpuUs(hashed.pid)
      const [get, flood] = await Promise.all([
        wrk({ url: `http://127.0.0.1:${hashed.port}`, script: hashedById, seconds: opts.duration, connections: 48 }),
        wrk({ url: `http://127.0.0.1:${hashed.port}`, script: signupScript(), seconds: opts.duration, connections: 16, timeout: '30s', args: ['flood'] })
      ])
      const cpu = (cpuUs(hashed.pid) - cpu0) / (get.requests + flood.requests)
      rows.push({ dataset: name, label: 'GET /users/{id} during signup flood (48 conn.)', server: ROSTER_OFF, runs: [{ ...get, cpu: NaN }], peakRss: NaN })
      rows.push({ dataset: name, label: 'POST /users flood beside it (16 conn.)', server: ROSTER_OFF, runs: [{ ...flood, cpu }], peakRss: NaN })
      await drain()
      extras.push(`${name}: peak RSS overall of the Roster that ran the argon2-bound rows ${fmt(statusField(hashed.pid, 'VmHWM'), 1)} MB`)
    }
    const peakAll = statusField(roster.pid, 'VmHWM')
    memory.set(name, { idle, rawIdle, elysiaIdle, peakGet, peakAll })

    // One JSON line per request: count what Roster wrote.
    const lines = readFileSync(join(main.dir, 'roster.log'), 'utf8').split('\n').filter((l) => l.includes('"msg":"request"')).length
    extras.push(`${name}: Roster wrote ${lines.toLocaleString('en')} request log lines (LOG_LEVEL=info)`)
  } finally {
    for (const p of started) await p.stop()
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
      `load average at the end ${la.map((x) => x.toFixed(2)).join(' ')}; wrk -t2 -c64, ${opts.warmup} s warm-up, ` +
      `${opts.rounds} × ${opts.duration} s alternating runs per row (figures are means); Roster is the compiled binary at ` +
      `LOG_LEVEL=info with the rate limiter on (RATE_LIMIT_PER_MINUTE=1000000000: nothing refused).`
  )
  out.push('')
  const find = (ds: string, label: string, server = ROSTER): Row | undefined => rows.find((r) => r.dataset === ds && r.label === label && r.server === server)
  const rps = (r?: Row) => (r ? mean(r.runs.map((x) => x.rps)) : NaN)
  const p99 = (r?: Row) => (r ? mean(r.runs.map((x) => x.p99ms)) : NaN)
  const cpu = (r?: Row) => (r ? mean(r.runs.map((x) => x.cpu)) : NaN)
  out.push('| dataset | request | server | req/s | p50 ms | p99 ms | errors | CPU µs/req | CPU vs raw | against |')
  out.push('|---|---|---|---:|---:|---:|---:|---:|---:|---|')
  for (const r of rows) {
    // Single-user reads are compared with the raw primary-key lookup, listings with the raw listing.
    const rawRow = r.label.startsWith('GET /users?limit') ? find(r.dataset, 'GET /users?limit=10', RAW) : r.label === ME || r.label === PAT || r.label === GET_ID ? find(r.dataset, GET_ID, RAW) : undefined
    const vsRaw = rawRow ? cpu(r) / cpu(rawRow) : NaN
    const against = r.bound ? `${((rps(r) / r.bound) * 100).toFixed(0)}% of ${r.bound.toFixed(0)}/s hash bound` : ''
    out.push(
      `| ${r.dataset} | \`${r.label}\` | ${r.server} | ${fmt(rps(r))} | ${fmt(mean(r.runs.map((x) => x.p50ms)), 2)} | ${fmt(p99(r), 2)} | ${r.runs.reduce((a, x) => a + x.errors, 0)} | ${fmt(cpu(r), 1)} | ${Number.isFinite(vsRaw) ? vsRaw.toFixed(2) + '×' : ''} | ${against} |`
    )
  }
  out.push('')
  out.push('| dataset | Roster (binary) RSS idle | peak under GET load | peak overall | raw idle | elysia idle |')
  out.push('|---|---:|---:|---:|---:|---:|')
  for (const [name, m] of memory) out.push(`| ${name} | ${fmt(m.idle, 1)} MB | ${fmt(m.peakGet, 1)} MB | ${fmt(m.peakAll, 1)} MB | ${fmt(m.rawIdle, 1)} MB | ${fmt(m.elysiaIdle, 1)} MB |`)
  out.push('')

  // Targets.
  const small = `${fmt(opts.small)} users`
  const large = `${fmt(opts.large)} users`
  const check = (ok: boolean) => (ok ? 'met' : 'MISSED')
  const pct = (x: number) => `${x >= 0 ? '+' : ''}${(x * 100).toFixed(1)}%`
  const targets: string[] = []
  const ds = memory.has(small) ? small : large
  const rawGet = find(ds, GET_ID, RAW)
  const head = find(ds, GET_ID)
  if (rawGet && head) {
    const x = cpu(head) / cpu(rawGet)
    targets.push(`${GET_ID} (${ds}) CPU per request ≤ 1.6× raw: ${fmt(cpu(head), 1)} / ${fmt(cpu(rawGet), 1)} µs = ${x.toFixed(2)}× (${check(x <= 1.6)}); efficiency ${(1 / x).toFixed(2)}`)
    targets.push(`  bare Elysia, same lookup: ${(cpu(find(ds, GET_ID, ELYSIA)) / cpu(rawGet)).toFixed(2)}× raw; req/s roster/raw ${(rps(head) / rps(rawGet)).toFixed(2)}`)
    targets.push(`${GET_ID} p99 < 10 ms at 64 connections: ${fmt(p99(head), 2)} ms (${check(p99(head) < 10)}; raw's own p99 in the same run: ${fmt(p99(rawGet), 2)} ms)`)
    for (const label of [ME, PAT]) {
      const r = find(ds, label)
      if (r) targets.push(`\`${label}\` within 10% of ${GET_ID}'s CPU per request: ${fmt(cpu(r), 1)} µs, ${pct(cpu(r) / cpu(head) - 1)} (${check(cpu(r) <= 1.1 * cpu(head))})`)
    }
    const off = find(ds, GET_ID, ROSTER_OFF)
    const cors = find(ds, GET_ID, ROSTER_CORS)
    if (off && cors) {
      const both = cpu(cors) / cpu(off) - 1
      targets.push(`limiter + CORS (allowed Origin on every request) ≤ 3% of CPU per request: ${fmt(cpu(cors), 1)} vs ${fmt(cpu(off), 1)} µs, ${pct(both)} (${check(both <= 0.03)}); limiter alone ${pct(cpu(head) / cpu(off) - 1)}`)
    }
  }
  const l1 = find(ds, 'GET /users?limit=10')
  const l0 = find(ds, 'GET /users?limit=10', RAW)
  if (l1 && l0) targets.push(`GET /users?limit=10: ${(cpu(l1) / cpu(l0)).toFixed(2)}× raw's CPU per request`)
  if (memory.has(large)) {
    const a = find(large, ALT(opts.small))
    const b = find(large, ALT(opts.large))
    targets.push(`GET /users/{id} at ${large} within 10% of ${small} on CPU per request (alternating runs): ${fmt(cpu(b), 1)} vs ${fmt(cpu(a), 1)} µs, ${pct(cpu(b) / cpu(a) - 1)} (${check(cpu(b) <= 1.1 * cpu(a))})`)
    const rawSmall = find(small, GET_ID, RAW)
    const rawLarge = find(large, GET_ID, RAW)
    if (rawSmall && rawLarge) targets.push(`  raw's own change between datasets (not alternated): ${pct(cpu(rawLarge) / cpu(rawSmall) - 1)}`)
    const first = p99(find(large, 'GET /api/v2/users?limit=10 (first page)'))
    const deep = p99(rows.find((r) => r.dataset === large && r.label.startsWith('GET /api/v2/users?limit=10&after')))
    targets.push(`v2 deep cursor page p99 within 20% of the first page's at ${large}: ${fmt(deep, 2)} vs ${fmt(first, 2)} ms, ${pct(deep / first - 1)} (${check(deep <= first * 1.2)})`)
  }
  for (const [name, m] of memory) {
    targets.push(`RSS of the binary at ${name}: idle ${fmt(m.idle, 1)} MB ≤ 64 (${check(m.idle <= 64)}); peak under GET load ${fmt(m.peakGet, 1)} MB ≤ 150 (${check(m.peakGet <= 150)})`)
  }
  const signup = find(small, 'POST /users (signup)', ROSTER_OFF)
  if (signup?.bound) {
    const bound = signup.bound
    const s = rps(signup)
    targets.push(`signup ≥ 90% of cores ÷ single-hash time (${cores} ÷ ${((cores * 1000) / bound).toFixed(1)} ms = ${bound.toFixed(1)}/s, measured beside the runs): ${s.toFixed(1)}/s = ${((s / bound) * 100).toFixed(0)}% (${check(s >= 0.9 * bound)})`)
    if (signup.parallel) targets.push(`  what ${cores} hashes at once really got beside the runs (shared machine): ${signup.parallel.toFixed(1)}/s; signup = ${((s / signup.parallel) * 100).toFixed(0)}% of that`)
    if (commit) targets.push(`  one durable commit (synchronous=FULL) on this disk: median ${commit.median.toFixed(2)} ms, p90 ${commit.p90.toFixed(2)} ms, on the event loop`)
    const loginRow = find(small, 'POST /auth/login', ROSTER_OFF)
    if (loginRow?.bound) targets.push(`login (same argon2 bound, plus a session insert): ${rps(loginRow).toFixed(1)}/s = ${((rps(loginRow) / loginRow.bound) * 100).toFixed(0)}% of ${loginRow.bound.toFixed(1)}/s`)
    const during = find(small, 'GET /users/{id} during signup flood (48 conn.)', ROSTER_OFF)
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
    const binary = await buildBinary(work)
    if (only !== 'large') await runDataset(binary, `${fmt(opts.small)} users`, opts.small, work, true)
    if (only !== 'small') await runDataset(binary, `${fmt(opts.large)} users`, opts.large, work, only === 'large')
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
