// `bun run build [-- OUTFILE] [--target=bun-linux-x64-modern]`: compiles Roster
// into one executable, dist/roster by default. Migrations and the docs page's assets are
// embedded by their imports; the e-mail worker must be a second entry point or
// the binary fails only when it starts the worker. The binary must not read .env
// or bunfig.toml from whatever folder it is started in.
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { bundleWeb } from './modules/console/bundle'

const root = join(import.meta.dir, '..')
const args = process.argv.slice(2)
const outArg = args.find((a) => !a.startsWith('--'))
const outfile = resolve(outArg ?? join(root, 'dist', 'roster'))
// On x86-64 Linux the default runtime needs AVX2 (Haswell, 2013+) and dies with
// "Illegal instruction" on older CPUs and some VMs' conservative CPU models. The
// baseline runtime (x86-64-v2) runs on any of them, so "copy the file to another
// machine" holds. Bun fetches it once through the package registry and caches it.
const defaultTarget = process.platform === 'linux' && process.arch === 'x64' ? 'bun-linux-x64-baseline' : undefined
const target = args.find((a) => a.startsWith('--target='))?.slice('--target='.length) ?? defaultTarget

// The mail worker runs in its own thread, so it is a second entry point; inside
// the binary it sits at /$bunfs/root/mail/worker.js (see src/mail/mailer.ts).
const entries = ['src/index.ts', 'src/mail/worker.ts']

// A private folder per build: concurrent builds (tests) must not share one. Its
// last component, web/, is the name the files get inside the binary.
const scratch = mkdtempSync(join(tmpdir(), 'roster-build-'))
const webDir = join(scratch, 'web')
mkdirSync(webDir)
for (const a of await bundleWeb()) await Bun.write(join(webDir, a.name), a.body)

const cmd = [
  process.execPath,
  'build',
  '--compile',
  '--minify',
  '--sourcemap',
  // Precompiled bytecode shortens the cold start (test/bench/coldstart.ts).
  // It must be paired with --format=esm: with Bun 1.4.5's default format for
  // bytecode, nodemailer is left out of the mail worker's bundle and the worker
  // dies at start (test/cli.test.ts checks that mail is delivered).
  '--bytecode',
  '--format=esm',
  '--no-compile-autoload-dotenv',
  '--no-compile-autoload-bunfig',
  ...(target ? [`--target=${target}`] : []),
  '--asset',
  webDir,
  ...entries,
  '--outfile',
  outfile
]
const proc = Bun.spawnSync(cmd, { cwd: root, stdout: 'inherit', stderr: 'inherit' })
rmSync(scratch, { recursive: true, force: true })
if (proc.exitCode !== 0) {
  process.stderr.write(`build failed (exit ${proc.exitCode})\n`)
  process.exit(1)
}
