// The README's quick-start walkthrough, run as written against a real server
// (only the port differs), so the README cannot drift from the truth.
import { expect, test } from 'bun:test'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { tempDir } from './helpers'
import { SOURCE, startServer } from './server'

function walkthrough(): string {
  const readme = readFileSync(join(import.meta.dir, '..', 'README.md'), 'utf8')
  const m = /Then try it[^\n]*\n+```sh\n([\s\S]*?)```/.exec(readme)
  if (!m) throw new Error('README walkthrough block not found')
  return m[1]!
}

test('the README curl examples work exactly as written', async () => {
  const script = walkthrough()
  expect(script).toContain('http://127.0.0.1:3000')
  const { proc, url } = await startServer(SOURCE, { env: { ...(process.env as Record<string, string>), DATA_DIR: tempDir(), PORT: '0', LOG_LEVEL: 'info' } })
  const port = new URL(url).port
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
