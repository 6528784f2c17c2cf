// The compiled binary for the CLI, shutdown and durability tests: built once per
// `bun test` run with the real build script (all test files share it), and
// helpers to run it as a real process. Servers listen on 127.0.0.1, port 0.
import { Database } from 'bun:sqlite'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { Subprocess } from 'bun'
import { SECRET } from './helpers'

const root = join(import.meta.dir, '..')
let built: Promise<string> | undefined

/** Builds dist/roster's equivalent into a temp folder once; later calls reuse it. */
export function buildBinary(): Promise<string> {
  built ??= (async () => {
    const dir = mkdtempSync(join(tmpdir(), 'roster-bin-'))
    process.on('exit', () => rmSync(dir, { recursive: true, force: true }))
    const out = join(dir, 'roster')
    const p = Bun.spawn([process.execPath, join(root, 'scripts/build.ts'), out], { cwd: root, stdout: 'pipe', stderr: 'pipe' })
    if ((await p.exited) !== 0) throw new Error(`build failed: ${await new Response(p.stderr).text()}`)
    return out
  })()
  return built
}

/** A minimal environment: nothing from the test runner's own leaks in. */
export function baseEnv(dataDir: string, extra: Record<string, string> = {}): Record<string, string> {
  return { PATH: process.env.PATH ?? '/usr/bin:/bin', DATA_DIR: dataDir, SECRET_KEY: SECRET, RATE_LIMIT_PER_MINUTE: '0', ...extra }
}

export interface RunResult {
  code: number
  stdout: string
  stderr: string
}

export async function runCli(bin: string, args: string[], opts: { env: Record<string, string>; cwd: string; stdin?: string }): Promise<RunResult> {
  const p = Bun.spawn([bin, ...args], {
    cwd: opts.cwd,
    env: opts.env,
    stdin: opts.stdin === undefined ? 'ignore' : new TextEncoder().encode(opts.stdin),
    stdout: 'pipe',
    stderr: 'pipe'
  })
  const [stdout, stderr, code] = await Promise.all([new Response(p.stdout).text(), new Response(p.stderr).text(), p.exited])
  return { code, stdout, stderr }
}

export interface Server {
  proc: Subprocess<'ignore', 'pipe', 'pipe'>
  url: string
  /** Every stdout line so far (JSON log lines). */
  lines: string[]
  stderr: () => Promise<string>
  exited: Promise<number>
}

const live = new Set<Subprocess>()
process.on('exit', () => {
  for (const p of live) p.kill('SIGKILL')
})

/** Starts `bin serve` and resolves once it logged its address. */
export async function startServer(bin: string, opts: { env: Record<string, string>; cwd: string }): Promise<Server> {
  const proc = Bun.spawn([bin, 'serve'], {
    cwd: opts.cwd,
    env: { HOST: '127.0.0.1', PORT: '0', ...opts.env },
    stdin: 'ignore',
    stdout: 'pipe',
    stderr: 'pipe'
  })
  live.add(proc)
  const exited = proc.exited.then((code) => {
    live.delete(proc)
    return code
  })
  const lines: string[] = []
  let onLine: (() => void) | undefined
  void (async () => {
    const decoder = new TextDecoder()
    let buf = ''
    for await (const chunk of proc.stdout) {
      buf += decoder.decode(chunk, { stream: true })
      let i: number
      while ((i = buf.indexOf('\n')) >= 0) {
        lines.push(buf.slice(0, i))
        buf = buf.slice(i + 1)
        onLine?.()
      }
    }
    onLine?.()
  })()
  const stderrText = new Response(proc.stderr).text()
  let started = false
  const url = await new Promise<string>((resolve, reject) => {
    const check = () => {
      if (started) return
      for (const l of lines) {
        const m = /"msg":"listening","url":"([^"]+)"/.exec(l)
        if (m) {
          started = true
          return resolve(m[1]!)
        }
      }
    }
    onLine = check
    void exited.then(async (code) => {
      if (!started) reject(new Error(`server exited ${code} before listening: ${await stderrText}`))
    })
    check()
  })
  return { proc, url, lines, stderr: () => stderrText, exited }
}

export function openDb(path: string): Database {
  return new Database(path, { readonly: true })
}

export const userBody = (username: string) => ({ username, email: `${username}@example.com`, password: 'Secret123' })

export async function postJson(url: string, body: unknown, token?: string): Promise<{ status: number; json: any }> {
  const res = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
    body: JSON.stringify(body)
  })
  const text = await res.text()
  let json: unknown
  try {
    json = JSON.parse(text)
  } catch {
    json = undefined
  }
  return { status: res.status, json }
}
