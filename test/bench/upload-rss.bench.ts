// How much a large upload grows the server's memory.
//
//   bun test/bench/upload-rss.bench.ts [MiB=200] [rounds=3]
//
// Starts the real server (`src/index.ts serve`) on 127.0.0.1 with a fresh
// DATA_DIR and MAX_UPLOAD_BYTES = 512 MiB, logs in as a bootstrap admin, and
// uploads a generated file (never held whole by the client either), once with
// Content-Length and once chunked, while sampling the server's VmRSS from
// /proc/<pid>/status every 20 ms. Growth = peak during the upload - RSS just
// before it (after a warm-up upload and a settle pause).
//
// The machine is shared, so each round also runs the same upload against a bare
// Bun.serve that only drains the body (drain-server.ts): Bun's own floor. The
// two alternate, round by round. Target: Roster's growth < 32 MiB.
import { createHash } from 'node:crypto'
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs'
import { request } from 'node:http'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { SOURCE, startServer } from '../server'

const MiB = 1024 * 1024
const SIZE = Number(process.argv[2] ?? 200) * MiB
const ROUNDS = Number(process.argv[3] ?? 3)
const ROOT = join(import.meta.dir, '..', '..')

interface Server {
  name: string
  pid: number
  port: number
  token?: string
  path: string
  dataDir?: string
  stop: () => Promise<void>
}

/** The bare drain server (Roster itself starts through the shared launcher). */
async function start(name: string, cmd: string[], env: Record<string, string>): Promise<Omit<Server, 'path' | 'token'>> {
  const child = Bun.spawn(cmd, { cwd: ROOT, env: { ...process.env, ...env }, stdout: 'pipe', stderr: 'inherit' })
  const reader = child.stdout.getReader()
  const dec = new TextDecoder()
  let buf = ''
  let port = 0
  while (!port) {
    const { value, done } = await reader.read()
    if (done) throw new Error(`${name} exited before listening`)
    buf += dec.decode(value)
    const m = /"url":"http:\/\/127\.0\.0\.1:(\d+)"/.exec(buf)
    if (m) port = Number(m[1])
  }
  // Keep draining its log so that a full pipe never blocks it.
  void (async () => {
    for (;;) if ((await reader.read().catch(() => ({ done: true }))).done) return
  })()
  return {
    name,
    pid: child.pid,
    port,
    stop: async () => {
      child.kill()
      await child.exited
    }
  }
}

function rssKiB(pid: number): number {
  return Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))![1])
}

/** Anonymous memory only (heap, buffers): VmRSS also counts pages of the bun binary faulted in by new code paths. */
function anonKiB(pid: number): number {
  return Number(/RssAnon:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))![1])
}

/** Deterministic pseudo-random bytes, 64 KiB at a time. */
function* payload(total: number): Generator<Uint8Array> {
  const block = new Uint8Array(64 * 1024)
  let x = 0x12345678
  for (let sent = 0; sent < total; sent += block.length) {
    for (let i = 0; i < block.length; i += 4) {
      x ^= x << 13
      x ^= x >>> 17
      x ^= x << 5
      block[i] = x
      block[i + 1] = x >>> 8
      block[i + 2] = x >>> 16
      block[i + 3] = x >>> 24
    }
    yield total - sent >= block.length ? block : block.subarray(0, total - sent)
  }
}

function upload(s: Server, size: number, chunked: boolean): Promise<{ status: number; body: string; sha: string }> {
  const boundary = '----bench' + Math.random().toString(16).slice(2)
  const head = Buffer.from(
    `--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="big.bin"\r\nContent-Type: application/octet-stream\r\n\r\n`
  )
  const tail = Buffer.from(`\r\n--${boundary}--\r\n`)
  const headers: Record<string, string | number> = { 'content-type': `multipart/form-data; boundary=${boundary}` }
  if (s.token) headers.authorization = `Bearer ${s.token}`
  if (!chunked) headers['content-length'] = head.length + size + tail.length
  const hash = createHash('sha256')
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port: s.port, method: 'POST', path: s.path, headers }, (res) => {
      let body = ''
      res.setEncoding('utf8')
      res.on('data', (d) => (body += d))
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body, sha: hash.digest('hex') }))
    })
    req.on('error', reject)
    void (async () => {
      const write = (b: Uint8Array) => (req.write(b) ? Promise.resolve() : new Promise<void>((r) => req.once('drain', () => r())))
      await write(head)
      for (const b of payload(size)) {
        hash.update(b)
        await write(b)
      }
      await write(tail)
      req.end()
    })().catch(reject)
  })
}

async function measure(s: Server, chunked: boolean) {
  await upload(s, MiB, chunked) // warm-up: JIT, lazily allocated buffers
  await Bun.sleep(300)
  const before = rssKiB(s.pid)
  const anonBefore = anonKiB(s.pid)
  let peak = before
  let anonPeak = anonBefore
  const timer = setInterval(() => {
    try {
      peak = Math.max(peak, rssKiB(s.pid))
      anonPeak = Math.max(anonPeak, anonKiB(s.pid))
    } catch {
      // exited
    }
  }, 20)
  const t0 = performance.now()
  const res = await upload(s, SIZE, chunked)
  const secs = (performance.now() - t0) / 1000
  clearInterval(timer)
  peak = Math.max(peak, rssKiB(s.pid))
  if (res.status !== 201) throw new Error(`${s.name}: HTTP ${res.status} ${res.body}`)
  const json = JSON.parse(res.body) as { size: number; sha256?: string }
  // Roster reports the file; the bare server the whole body, framing included.
  if (s.token && (json.size !== SIZE || json.sha256 !== res.sha)) throw new Error(`${s.name}: size or sha256 mismatch`)
  return { growth: (peak - before) / 1024, anon: (anonPeak - anonBefore) / 1024, before: before / 1024, mibps: SIZE / MiB / secs }
}

const dataDir = mkdtempSync(join(tmpdir(), 'roster-bench-'))
const admin = { username: 'bench', email: 'bench@example.com', password: 'Bench12345' }
const servers: Server[] = []
try {
  const s = await startServer(SOURCE, {
    env: {
      ...(process.env as Record<string, string>),
      DATA_DIR: dataDir,
      HOST: '127.0.0.1',
      PORT: '0',
      MAX_UPLOAD_BYTES: String(512 * MiB),
      RATE_LIMIT_PER_MINUTE: '0',
      LOG_LEVEL: 'info',
      ADMIN_USERNAME: admin.username,
      ADMIN_EMAIL: admin.email,
      ADMIN_PASSWORD: admin.password
    }
  })
  const roster = {
    name: 'roster',
    pid: s.proc.pid,
    port: Number(new URL(s.url).port),
    stop: async () => {
      s.proc.kill()
      await s.exited
    }
  }
  const rosterServer: Server = { ...roster, path: '/upload', dataDir }
  servers.push(rosterServer)
  const login = await fetch(`http://127.0.0.1:${roster.port}/auth/login`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ username: admin.username, password: admin.password })
  })
  rosterServer.token = ((await login.json()) as { access_token: string }).access_token
  const bare = await start('bare Bun.serve', ['bun', 'test/bench/drain-server.ts'], {})
  servers.push({ ...bare, path: '/' })

  console.log(`upload of ${SIZE / MiB} MiB, MAX_UPLOAD_BYTES 512 MiB, ${ROUNDS} rounds alternating; growth = peak VmRSS - VmRSS before`)
  const results: Record<string, number[]> = {}
  for (let round = 1; round <= ROUNDS; round++) {
    for (const chunked of [false, true]) {
      for (const s of round % 2 ? servers : [...servers].reverse()) {
        const r = await measure(s, chunked)
        const key = `${s.name}, ${chunked ? 'chunked' : 'Content-Length'}`
        ;(results[key] ??= []).push(r.growth)
        console.log(`round ${round}  ${key.padEnd(32)} growth ${r.growth.toFixed(1).padStart(5)} MiB, anonymous ${r.anon.toFixed(1).padStart(5)} MiB  (RSS before ${r.before.toFixed(0)} MiB, ${r.mibps.toFixed(0)} MiB/s)`)
      }
    }
  }
  console.log('\nsummary (growth in MiB per round):')
  for (const [key, v] of Object.entries(results)) console.log(`  ${key.padEnd(32)} ${v.map((g) => g.toFixed(1)).join(' / ')}  max ${Math.max(...v).toFixed(1)}`)
  const worst = Math.max(...Object.entries(results).filter(([k]) => k.startsWith('roster')).flatMap(([, v]) => v))
  const uploads = join(dataDir, 'uploads')
  console.log(`stored files: ${readdirSync(uploads).filter((n) => n !== '.tmp').length}, temporary leftovers: ${readdirSync(join(uploads, '.tmp')).length}`)
  console.log(`RESULT roster worst growth ${worst.toFixed(1)} MiB: ${worst < 32 ? 'OK (< 32 MiB)' : 'OVER the 32 MiB target'}`)
  if (worst >= 32) process.exitCode = 1
} finally {
  for (const s of servers) await s.stop()
  rmSync(dataDir, { recursive: true, force: true })
}
