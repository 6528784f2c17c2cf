// The one launcher for a real Roster process, the compiled binary or the
// source (`bun src/index.ts`): starts `serve`, resolves once it logged its
// address, and keeps every log line it writes. Listens on 127.0.0.1, port 0
// unless the environment says otherwise.
import { join } from 'node:path'
import type { Subprocess } from 'bun'
import { cleanups } from './cleanup'

export const ROOT = join(import.meta.dir, '..')

/** The program run from source, as `bun src/index.ts`. */
export const SOURCE = [process.execPath, join(ROOT, 'src/index.ts')]

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

/** Kills every server still running (a test's cleanup). */
export async function killServers(): Promise<void> {
  const procs = [...live]
  for (const p of procs) p.kill('SIGKILL')
  await Promise.all(procs.map((p) => p.exited))
}

/** Starts `program serve` (program: [binary] or SOURCE) and resolves once it logged its address. */
export async function startServer(program: string[], opts: { env: Record<string, string>; cwd?: string }): Promise<Server> {
  const proc = Bun.spawn([...program, 'serve'], {
    cwd: opts.cwd ?? ROOT,
    env: { HOST: '127.0.0.1', PORT: '0', ...opts.env },
    stdin: 'ignore',
    stdout: 'pipe',
    stderr: 'pipe'
  })
  live.add(proc)
  // Never outlives its test, even a failed one.
  cleanups.push(() => proc.kill('SIGKILL'))
  const exited = proc.exited.then((code) => {
    live.delete(proc)
    return code
  })
  const lines: string[] = []
  let onLine: (() => void) | undefined
  // Keeps draining stdout so the child never blocks on a full pipe.
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
