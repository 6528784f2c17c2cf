// The README's quick-start walkthrough, run as written against a real server
// (only the port differs), so the README cannot drift from the truth.
import { expect, test } from 'bun:test'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { tempDir } from './helpers'

function walkthrough(): string {
  const readme = readFileSync(join(import.meta.dir, '..', 'README.md'), 'utf8')
  const m = /Then try it[^\n]*\n+```sh\n([\s\S]*?)```/.exec(readme)
  if (!m) throw new Error('README walkthrough block not found')
  return m[1]!
}

async function startServer(dataDir: string): Promise<{ proc: Bun.Subprocess<'ignore', 'pipe', 'pipe'>; port: number }> {
  const proc = Bun.spawn(['bun', 'src/index.ts', 'serve'], {
    cwd: join(import.meta.dir, '..'),
    env: { ...process.env, DATA_DIR: dataDir, PORT: '0', LOG_LEVEL: 'info' },
    stdin: 'ignore',
    stdout: 'pipe',
    stderr: 'pipe'
  })
  const reader = proc.stdout.getReader()
  let buf = ''
  const deadline = Date.now() + 15_000
  while (Date.now() < deadline) {
    const { value, done } = await reader.read()
    if (done) break
    buf += new TextDecoder().decode(value)
    const m = /"msg":"listening","url":"http:\/\/127\.0\.0\.1:(\d+)"/.exec(buf)
    if (m) {
      reader.releaseLock()
      return { proc, port: Number(m[1]) }
    }
  }
  proc.kill()
  throw new Error('server did not start')
}

test('the README curl examples work exactly as written', async () => {
  const script = walkthrough()
  expect(script).toContain('http://127.0.0.1:3000')
  const { proc, port } = await startServer(tempDir())
  try {
    const run = Bun.spawn(['bash', '-euo', 'pipefail', '-c', script.replaceAll('127.0.0.1:3000', `127.0.0.1:${port}`)], { stdout: 'pipe', stderr: 'pipe' })
    const out = await new Response(run.stdout).text()
    expect(await run.exited).toBe(0)
    // Three JSON documents: the created user, /users/me, and the list.
    const created = JSON.parse(out.slice(0, out.indexOf('}') + 1))
    expect(created).toMatchObject({ username: 'alice', email: 'alice@example.com', role: 'user' })
    expect(out.match(/"username":"alice"/g)?.length).toBe(3)
    expect(out).not.toContain('Could not validate credentials')
  } finally {
    proc.kill()
    await proc.exited
  }
})
