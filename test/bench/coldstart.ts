// Cold start: time from spawn() to the first 200 on GET /health, for the compiled
// binary run from an empty folder, on a fresh data folder (creates the database
// and applies every migration) and on an existing one. Compared in the same run,
// alternating: the default build (baseline x86-64 runtime), a build on the
// AVX2 ("modern") runtime, and the same code started as `bun src/index.ts serve`.
// Not part of `bun test`. Usage: bun test/bench/coldstart.ts [runs=20]
import { copyFileSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'

const root = join(import.meta.dir, '..', '..')
const runs = Number(process.argv[2] ?? 20)
const work = mkdtempSync(join(tmpdir(), 'roster-cold-'))
function build(name: string, extra: string[]): string {
  const out = join(work, 'build', name)
  const p = Bun.spawnSync([process.execPath, join(root, 'src/build.ts'), out, ...extra], { stdout: 'ignore', stderr: 'inherit' })
  if (p.exitCode !== 0) throw new Error('build failed')
  // Run from a folder that holds nothing but the binary.
  const dir = join(work, `run-${name}`)
  mkdirSync(dir)
  copyFileSync(out, join(dir, 'roster'))
  return join(dir, 'roster')
}
const baseline = build('baseline', [])
const modern = build('modern', ['--target=bun-linux-x64-modern'])
rmSync(join(work, 'build'), { recursive: true })

const port = 20000 + Math.floor(Math.random() * 20000)
const env = { PATH: process.env.PATH ?? '/usr/bin:/bin', HOST: '127.0.0.1', PORT: String(port), LOG_LEVEL: 'warn', SECRET_KEY: 'x'.repeat(40) }

async function once(cmd: string[], dataDir: string): Promise<number> {
  const t0 = performance.now()
  const p = Bun.spawn(cmd, { cwd: cmd[0] === process.execPath ? root : dirname(cmd[0]!), env: { ...env, DATA_DIR: dataDir }, stdout: 'ignore', stderr: 'inherit' })
  try {
    for (;;) {
      try {
        const r = await fetch(`http://127.0.0.1:${port}/health`)
        await r.arrayBuffer()
        if (r.status === 200) return performance.now() - t0
      } catch {}
      if (performance.now() - t0 > 10_000) throw new Error('no 200 within 10 s')
      await Bun.sleep(1)
    }
  } finally {
    p.kill('SIGKILL')
    await p.exited
  }
}

const variants = {
  'binary (default)': [baseline, 'serve'],
  'binary (modern)': [modern, 'serve'],
  'bun src/index.ts': [process.execPath, join(root, 'src/index.ts'), 'serve']
}
const results: Record<string, { fresh: number[]; existing: number[] }> = {}
for (const name of Object.keys(variants)) results[name] = { fresh: [], existing: [] }

for (let i = 0; i < runs; i++) {
  for (const [name, cmd] of Object.entries(variants)) {
    const dataDir = join(work, `data-${name.replace(/\W/g, '')}`)
    rmSync(dataDir, { recursive: true, force: true })
    results[name]!.fresh.push(await once(cmd, dataDir))
    results[name]!.existing.push(await once(cmd, dataDir))
  }
}
rmSync(work, { recursive: true, force: true })

const stat = (a: number[]) => {
  const s = [...a].sort((x, y) => x - y)
  const q = (p: number) => s[Math.min(s.length - 1, Math.floor(p * s.length))]!.toFixed(1)
  return `median ${q(0.5)}  p90 ${q(0.9)}  min ${q(0)}  max ${s[s.length - 1]!.toFixed(1)} ms`
}
console.log(`cold start to first 200 on /health, ${runs} runs each, alternating`)
for (const [name, r] of Object.entries(results)) {
  console.log(`${name.padEnd(18)} fresh DB:    ${stat(r.fresh)}`)
  console.log(`${''.padEnd(18)} existing DB: ${stat(r.existing)}`)
}
