// The one launcher for a real Roster process, the compiled binary or the
// source (`bun src/index.ts`): starts `serve`, resolves once it logged its
// address, and keeps every log line it writes. Listens on 127.0.0.1, port 0
// unless the environment says otherwise.
import { closeSync, openSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import type { Subprocess } from 'bun'

export const ROOT = join(import.meta.dir, '..')

/** The program run from source, as `bun src/index.ts`. */
export const SOURCE = [process.execPath, join(ROOT, 'src/index.ts')]

export interface Server {
  proc: Subprocess
  url: string
  /** Every stdout line so far (JSON log lines); with `logFile`, the lines read until it was ready. */
  lines: string[]
  stderr: () => Promise<string>
  exited: Promise<number>
}

const live = new Set<Subprocess>()
process.on('exit', () => {
  for (const p of live) p.kill('SIGKILL')
})

/** Kills every server still running: a file's afterEach (binary.ts `cleanup`), or at exit. */
export async function killServers(): Promise<void> {
  const procs = [...live]
  for (const p of procs) p.kill('SIGKILL')
  await Promise.all(procs.map((p) => p.exited))
}

const LISTENING = /"msg":"listening","url":"([^"]+)"/

export interface StartOptions {
  env: Record<string, string>
  cwd?: string
  /**
   * Log to this file instead of a pipe (as a container runtime would; the
   * benchmarks measure that). Lines are read from the file.
   */
  logFile?: string
}

/** A port nobody listens on right now (connection refused), e.g. for a server that will not log the one it got. */
export function freePort(): number {
  const s = Bun.listen({ hostname: '127.0.0.1', port: 0, socket: { data() {} } })
  const port = s.port
  s.stop(true)
  return port
}

/**
 * Starts `program serve` (program: [binary] or SOURCE) and resolves once it is
 * ready: when it logged its address, or, under a LOG_LEVEL that hides that
 * info line, when GET /health answers on a port chosen here.
 */
export async function startServer(program: string[], opts: StartOptions): Promise<Server> {
  const env: Record<string, string> = { HOST: '127.0.0.1', PORT: '0', ...opts.env }
  const quiet = env.LOG_LEVEL !== undefined && !['debug', 'info'].includes(env.LOG_LEVEL.toLowerCase())
  if (quiet && env.PORT === '0') env.PORT = String(freePort())
  const fd = opts.logFile === undefined ? undefined : openSync(opts.logFile, 'w')
  const proc = Bun.spawn([...program, 'serve'], {
    cwd: opts.cwd ?? ROOT,
    env,
    stdin: 'ignore',
    stdout: fd ?? 'pipe',
    stderr: 'pipe'
  })
  if (fd !== undefined) closeSync(fd)
  live.add(proc)
  const exited = proc.exited.then((code) => {
    live.delete(proc)
    return code
  })
  const stderrText = new Response(proc.stderr).text()
  const lines: string[] = []
  if (proc.stdout instanceof ReadableStream) {
    // Keeps draining stdout so the child never blocks on a full pipe.
    const stdout = proc.stdout
    void (async () => {
      const decoder = new TextDecoder()
      let buf = ''
      for await (const chunk of stdout) {
        buf += decoder.decode(chunk, { stream: true })
        let i: number
        while ((i = buf.indexOf('\n')) >= 0) {
          lines.push(buf.slice(0, i))
          buf = buf.slice(i + 1)
        }
      }
    })()
  }
  const fixedUrl = `http://${env.HOST!.includes(':') ? `[${env.HOST}]` : env.HOST}:${env.PORT}`
  const ready = async (): Promise<string | undefined> => {
    if (quiet) {
      const ok = await fetch(`${fixedUrl}/health`).then((r) => r.ok, () => false)
      return ok ? fixedUrl : undefined
    }
    if (opts.logFile !== undefined) lines.splice(0, lines.length, ...readFileSync(opts.logFile, 'utf8').split('\n').filter((l) => l !== ''))
    for (const l of lines) {
      const m = LISTENING.exec(l)
      if (m) return m[1]!
    }
  }
  for (;;) {
    const url = await ready()
    if (url) return { proc, url, lines, stderr: () => stderrText, exited }
    if (proc.exitCode !== null) throw new Error(`server exited ${proc.exitCode} before listening: ${await stderrText}`)
    await Bun.sleep(20)
  }
}
