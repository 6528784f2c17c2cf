// The auth macro's cost per request: an access JWT on this tree against the
// same request on a base revision (before personal access tokens, by default),
// and a personal access token on this tree. Each measurement is its own process
// (test/bench/inproc-get.ts: app.handle() in a loop, no network); the three
// alternate round by round so that drift on a shared machine hits all alike,
// and the medians are reported.
//
//   bun test/bench/auth-path.bench.ts [--rounds 7] [--requests 20000] [--base <git revision>]
import { execFileSync } from 'node:child_process'
import { existsSync, mkdtempSync, rmSync, symlinkSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

const arg = (name: string, fallback: string) => {
  const i = process.argv.indexOf(`--${name}`)
  return i >= 0 && process.argv[i + 1] ? process.argv[i + 1]! : fallback
}
const rounds = Number(arg('rounds', '7'))
const requests = arg('requests', '20000')
// The last commit before personal access tokens reached the auth macro.
const base = arg('base', '03fa60b')
const root = join(import.meta.dir, '..', '..')

const baseDir = mkdtempSync(join(tmpdir(), 'roster-base-'))
execFileSync('git', ['worktree', 'add', '--detach', baseDir, base], { cwd: root, stdio: 'ignore' })
if (!existsSync(join(baseDir, 'node_modules'))) symlinkSync(join(root, 'node_modules'), join(baseDir, 'node_modules'))

function measure(cwd: string, extra: string[] = []): number {
  const out = execFileSync('bun', ['test/bench/inproc-get.ts', requests, ...extra], { cwd, encoding: 'utf8', env: { ...process.env, LOG_LEVEL: 'silent' } })
  const m = /([\d.]+) µs per/.exec(out)
  if (!m) throw new Error(`no figure in: ${out}`)
  return Number(m[1])
}

const runs: Record<string, number[]> = { [`JWT at ${base}`]: [], 'JWT now': [], 'personal access token now': [] }
try {
  for (let r = 0; r < rounds; r++) {
    runs[`JWT at ${base}`]!.push(measure(baseDir))
    runs['JWT now']!.push(measure(root))
    runs['personal access token now']!.push(measure(root, ['--pat']))
    console.error(`round ${r + 1}/${rounds}`)
  }
} finally {
  execFileSync('git', ['worktree', 'remove', '--force', baseDir], { cwd: root, stdio: 'ignore' })
  rmSync(baseDir, { recursive: true, force: true })
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!
console.log(`| variant | median µs per GET /users/{id} | all rounds |`)
console.log(`|---|---|---|`)
for (const [name, xs] of Object.entries(runs)) console.log(`| ${name} | ${median(xs).toFixed(2)} | ${xs.map((x) => x.toFixed(1)).join(', ')} |`)
