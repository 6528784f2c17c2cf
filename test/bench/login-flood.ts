// Benchmark: does a flood of wrong-password logins starve authenticated requests?
//
//   bun test/bench/login-flood.ts [seconds-per-run=8] [rounds=3]
//
// Starts a real Roster process on 127.0.0.1 (fresh temp DATA_DIR, global rate
// limit off, TRUST_PROXY on so the flood can spread itself over random client
// IPs: the login throttle then never blocks it and every attempt costs a real
// argon2id verification, the worst case). Then, alternating in the same run:
//   baseline: wrk on GET /users/me alone;
//   flood:    the same wrk while 32 connections POST wrong passwords to /auth/login.
// Reports each run and the ratio flood/baseline of /users/me throughput and its
// p99 latency. Target: ratio >= 0.5 and p99 < 50 ms under flood.
// Not part of `bun test` (the file name does not end in .test.ts).
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { SOURCE, startServer } from '../server'
import { ensureWrk, wrk, writeScript, type WrkResult } from './wrk'

const SECONDS = Number(process.argv[2] ?? 8)
const ROUNDS = Number(process.argv[3] ?? 3)
const ME_CONNECTIONS = 8
const FLOOD_CONNECTIONS = 32

async function main() {
  ensureWrk((s) => console.log(s))
  const dir = mkdtempSync(join(tmpdir(), 'roster-bench-'))
  const server = await startServer(SOURCE, {
    env: {
      ...(process.env as Record<string, string>),
      HOST: '127.0.0.1',
      PORT: '0',
      DATA_DIR: dir,
      SECRET_KEY: 'bench-secret-key-that-is-long-enough-0123456789',
      RATE_LIMIT_PER_MINUTE: '0',
      TRUST_PROXY: 'true',
      LOG_LEVEL: 'warn'
    }
  })
  const base = server.url
  const cleanup = () => {
    server.proc.kill()
    rmSync(dir, { recursive: true, force: true })
  }
  process.on('SIGINT', () => {
    cleanup()
    process.exit(130)
  })
  try {
    const user = { username: 'bench', email: 'bench@example.com', password: 'Secret123' }
    await fetch(`${base}/users`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(user) })
    const login = await fetch(`${base}/auth/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ username: user.username, password: user.password })
    })
    const { access_token } = (await login.json()) as { access_token: string }

    const meLua = writeScript(dir, 'me', `wrk.headers["Authorization"] = "Bearer ${access_token}"\n`)
    // Wrong passwords for a real account, each from a random client IP.
    const floodLua = writeScript(
      dir,
      'flood',
      `wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
local body = '{"username":"bench","password":"Wrong1234"}'
request = function()
  local ip = math.random(1, 223) .. "." .. math.random(0, 255) .. "." .. math.random(0, 255) .. "." .. math.random(1, 254)
  wrk.headers["X-Forwarded-For"] = ip
  return wrk.format(nil, "/auth/login", nil, body)
end
`
    )
    // wrk's own default timeout (2 s): a login stuck behind the hash queue longer counts as an error.
    const me = { url: `${base}/users/me`, script: meLua, seconds: SECONDS, threads: 1, connections: ME_CONNECTIONS, timeout: '2s' }
    await wrk({ ...me, seconds: 2, connections: 4 }) // warm-up

    const rows: { round: number; kind: string; r: WrkResult; logins?: WrkResult }[] = []
    for (let round = 1; round <= ROUNDS; round++) {
      rows.push({ round, kind: 'baseline', r: await wrk(me) })
      const flood = wrk({ url: base, script: floodLua, seconds: SECONDS + 2, threads: 2, connections: FLOOD_CONNECTIONS, timeout: '2s' })
      await Bun.sleep(1000) // let the hashing queue fill
      const r = await wrk(me)
      rows.push({ round, kind: 'flood', r, logins: await flood })
    }

    console.log(`\nGET /users/me, wrk -t1 -c${ME_CONNECTIONS} ${SECONDS}s; flood = ${FLOOD_CONNECTIONS} connections of wrong-password logins`)
    console.log('round | run      | req/s   | p50 ms | p99 ms | errors  | logins/s (all 401)')
    for (const { round, kind, r, logins } of rows) {
      console.log(
        `${String(round).padEnd(5)} | ${kind.padEnd(8)} | ${r.rps.toFixed(0).padStart(7)} | ${r.p50ms.toFixed(2).padStart(6)} | ${r.p99ms.toFixed(2).padStart(6)} | ${String(r.errors).padStart(7)} | ${logins ? logins.rps.toFixed(1) : ''}`
      )
    }
    const ratios = []
    for (let round = 1; round <= ROUNDS; round++) {
      const b = rows.find((x) => x.round === round && x.kind === 'baseline')!
      const f = rows.find((x) => x.round === round && x.kind === 'flood')!
      ratios.push(f.r.rps / b.r.rps)
    }
    ratios.sort((a, b) => a - b)
    const median = ratios[Math.floor(ratios.length / 2)]!
    const p99s = (kind: string) => rows.filter((x) => x.kind === kind).map((x) => x.r.p99ms).sort((a, b) => a - b)
    const floodP99 = p99s('flood')
    const aloneP99 = p99s('baseline')
    const med = (xs: number[]) => xs[Math.floor(xs.length / 2)]!
    console.log(`\nmedian flood/baseline throughput: ${(median * 100).toFixed(0)}% (target >= 50%: ${median >= 0.5 ? 'met' : 'NOT met'})`)
    console.log(`p99 under flood: median ${med(floodP99).toFixed(2)} ms, worst ${floodP99.at(-1)!.toFixed(2)} ms (target < 50 ms: ${floodP99.at(-1)! < 50 ? 'met' : 'NOT met'})`)
    console.log(`p99 alone:       median ${med(aloneP99).toFixed(2)} ms, worst ${aloneP99.at(-1)!.toFixed(2)} ms`)
    if (aloneP99.at(-1)! >= 50) console.log('note: the undisturbed p99 itself reached 50 ms: the machine is too busy for the p99 target to mean much')
  } finally {
    cleanup()
  }
}

await main()
