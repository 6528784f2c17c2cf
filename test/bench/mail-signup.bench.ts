// Signup latency with the mail worker running against: no SMTP (log transport, the
// baseline), a hung SMTP server (accepts, never answers), and a refusing port.
// Not part of `bun test`; run with `bun test/bench/mail-signup.bench.ts`.
// The three setups are measured in alternating rounds in the same run, because the
// machine is shared and absolute figures are noisy.
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { parseConfig } from '../../src/config'
import { createLogger } from '../../src/lib/log'
import { buildApp } from '../app'
import { mailWorkerConfig, startMailWorker } from '../../src/mail/mailer'
import { startSilentServer } from '../mail-helpers'
import { freePort } from '../server'

const ROUNDS = Number(process.argv[2] ?? 8)
const PER_ROUND = Number(process.argv[3] ?? 10)

const hung = await startSilentServer()
const refused = `smtp://127.0.0.1:${freePort()}`

async function setup(name: string, smtpUrl: string | undefined) {
  const dir = mkdtempSync(join(tmpdir(), 'roster-bench-'))
  const env = { RATE_LIMIT_PER_MINUTE: '0', LOG_LEVEL: 'silent', ...(smtpUrl ? { SMTP_URL: smtpUrl } : {}) }
  const secret = 'x'.repeat(40)
  // The worker reads the same configuration; it opens its own connection.
  const mailer = startMailWorker(mailWorkerConfig(parseConfig({ DATA_DIR: dir, SECRET_KEY: secret, ...env }), { pollIntervalMs: 200 }))
  const { app, data } = await buildApp({ dataDir: dir, secret, env, logger: createLogger('error'), mailer })
  return { name, app, mailer, data, dir, samples: [] as number[], n: 0 }
}

const setups = await Promise.all([setup("no SMTP (log)", undefined), setup("SMTP hung", hung.url), setup("SMTP refusing", refused)])
await Bun.sleep(500)

for (let r = 0; r < ROUNDS; r++) {
  for (const s of r % 2 ? [...setups].reverse() : setups) {
    for (let i = 0; i < PER_ROUND; i++) {
      const u = `user${s.n++}`
      const t0 = performance.now()
      const res = await s.app.handle(
        new Request('http://localhost/users', {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ username: u, email: `${u}@example.com`, password: 'Secret123' })
        })
      )
      s.samples.push(performance.now() - t0)
      if (res.status !== 201) throw new Error(`signup failed: ${res.status}`)
    }
  }
}

const pct = (xs: number[], p: number) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor((p / 100) * xs.length))]!
for (const s of setups) {
  const q = s.data.sqlite!.query<{ status: string; n: number }, []>('SELECT status, count(*) AS n FROM email_outbox GROUP BY status').all()
  console.log(
    `${s.name.padEnd(16)} n=${s.samples.length} median=${pct(s.samples, 50).toFixed(1)}ms p95=${pct(s.samples, 95).toFixed(1)}ms max=${Math.max(...s.samples).toFixed(1)}ms outbox=${JSON.stringify(Object.fromEntries(q.map((x) => [x.status, x.n])))}`
  )
}
for (const s of setups) {
  await s.mailer.stop()
  await s.data.close()
  rmSync(s.dir, { recursive: true, force: true })
}
await hung.close()
