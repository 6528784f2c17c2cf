// The compiled binary for the CLI, shutdown and durability tests: built once per
// `bun test` run with the real build script (all test files share it), and
// helpers to run it as a real process. Servers listen on 127.0.0.1, port 0.
import { Database } from 'bun:sqlite'
import { mkdtempSync, renameSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { SECRET } from './helpers'
import { killServers, ROOT } from './server'

let built: Promise<string> | undefined

/**
 * Builds the binary once per `bun test` run (files share the module), into
 * dist/test/ (git-ignored): a fixed place, so nothing piles up in /tmp. Written
 * under a temporary name and renamed, so a concurrent run keeps its own copy.
 */
export function buildBinary(): Promise<string> {
  built ??= (async () => {
    const out = join(ROOT, 'dist', 'test', 'roster')
    const tmp = `${out}.${process.pid}`
    const p = Bun.spawn([process.execPath, join(ROOT, 'src/build.ts'), tmp], { cwd: ROOT, stdout: 'pipe', stderr: 'pipe' })
    if ((await p.exited) !== 0) throw new Error(`build failed: ${await new Response(p.stderr).text()}`)
    renameSync(tmp, out)
    rmSync(`${tmp}.map`, { force: true })
    return out
  })()
  return built
}

const scratch: string[] = []
/**
 * A temp folder removed by `cleanup()`. Each test file calls cleanup in its own
 * afterEach: a hook registered inside a shared module runs for one file only.
 */
export function scratchDir(prefix: string): string {
  const dir = mkdtempSync(join(tmpdir(), prefix))
  scratch.push(dir)
  return dir
}

/** Kills servers still running and removes scratch folders. */
export async function cleanup(): Promise<void> {
  await killServers()
  while (scratch.length) rmSync(scratch.pop()!, { recursive: true, force: true })
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
