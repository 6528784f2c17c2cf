// Real processes: what a crash and a graceful stop do to acknowledged writes.
import { afterEach, beforeAll, describe, expect, test } from 'bun:test'
import { existsSync } from 'node:fs'
import { join } from 'node:path'
import { baseEnv, buildBinary, cleanup, scratchDir, openDb, postJson, userBody } from './binary'
import { startServer } from './server'
import { PASSWORD } from './helpers'

let bin: string
beforeAll(async () => {
  bin = await buildBinary()
}, 120_000)
afterEach(cleanup)

function integrity(dataDir: string): string {
  const db = openDb(join(dataDir, 'roster.db'))
  try {
    return db.query<{ integrity_check: string }, []>('PRAGMA integrity_check').get()!.integrity_check
  } finally {
    db.close()
  }
}

describe('durability', () => {
  test('SIGKILL during 100 concurrent signups loses no user that got a 201', async () => {
    const dataDir = scratchDir('roster-kill-')
    const cwd = scratchDir('roster-kill-cwd-')
    const s = await startServer([bin], { cwd, env: baseEnv(dataDir) })

    const acknowledged: string[] = []
    let killed = false
    const settled = Array.from({ length: 100 }, async (_, i) => {
      const name = `user${i}`
      try {
        const r = await postJson(`${s.url}/users`, userBody(name))
        if (r.status === 201) {
          acknowledged.push(name)
          // Kill mid-stream: some signups answered, others still hashing or committing.
          if (acknowledged.length === 40 && !killed) {
            killed = true
            s.proc.kill('SIGKILL')
          }
        }
      } catch {
        // The connection died with the process: not acknowledged, may or may not exist.
      }
    })
    await Promise.all(settled)
    expect(killed).toBe(true)
    expect(await s.exited).not.toBe(0)
    expect(acknowledged.length).toBeGreaterThanOrEqual(40)

    // Restart on the same data; an admin created at start lists everyone.
    const s2 = await startServer([bin], {
      cwd,
      env: baseEnv(dataDir, { ADMIN_USERNAME: 'root', ADMIN_EMAIL: 'root@example.com', ADMIN_PASSWORD: PASSWORD })
    })
    const login = await postJson(`${s2.url}/auth/login`, { username: 'root', password: PASSWORD })
    expect(login.status).toBe(200)
    const res = await fetch(`${s2.url}/users?skip=0&limit=100`, { headers: { authorization: `Bearer ${login.json.access_token}` } })
    expect(res.status).toBe(200)
    const listed = new Set(((await res.json()) as { username: string }[]).map((u) => u.username))
    const more = await fetch(`${s2.url}/users?skip=100&limit=100`, { headers: { authorization: `Bearer ${login.json.access_token}` } })
    for (const u of (await more.json()) as { username: string }[]) listed.add(u.username)
    for (const name of acknowledged) expect(listed.has(name)).toBe(true)

    s2.proc.kill('SIGTERM')
    expect(await s2.exited).toBe(0)
    expect(integrity(dataDir)).toBe('ok')
  }, 60_000)
})

describe('graceful shutdown', () => {
  test('SIGTERM lets in-flight signups finish, refuses new connections, checkpoints the WAL and exits 0', async () => {
    const dataDir = scratchDir('roster-term-')
    const cwd = scratchDir('roster-term-cwd-')
    const s = await startServer([bin], { cwd, env: baseEnv(dataDir) })

    // More signups than hashing slots: most are queued behind argon2 when the signal comes.
    const inflight = Array.from({ length: 16 }, (_, i) => postJson(`${s.url}/users`, userBody(`inflight${i}`)))
    const first = await Promise.race(inflight)
    expect(first.status).toBe(201)
    s.proc.kill('SIGTERM')

    // Once the server says it is shutting down, a new connection is refused.
    while (!s.lines.some((l) => l.includes('"msg":"shutting down"'))) await Bun.sleep(5)
    const late = await fetch(`${s.url}/health`).then(
      (r) => r.status,
      () => 'refused'
    )
    expect(late).toBe('refused')

    const results = await Promise.all(inflight)
    expect(results.map((r) => r.status)).toEqual(Array(16).fill(201))
    expect(await s.exited).toBe(0)
    expect(await s.stderr()).toBe('')
    const log = s.lines.join('\n')
    expect(log).toContain('"msg":"stopped"')
    // The shutdown began before the last signups were answered.
    const shutdownAt = s.lines.findIndex((l) => l.includes('"msg":"shutting down"'))
    const answeredAfter = s.lines.slice(shutdownAt).filter((l) => l.includes('"route":"/users"') && l.includes('"status":201'))
    expect(answeredAfter.length).toBeGreaterThan(0)

    // Checkpointed and closed: no WAL left, and every user is in the main file.
    expect(existsSync(join(dataDir, 'roster.db-wal'))).toBe(false)
    const db = openDb(join(dataDir, 'roster.db'))
    expect(db.query<{ n: number }, []>("SELECT count(*) AS n FROM users WHERE username LIKE 'inflight%'").get()!.n).toBe(16)
    db.close()
    expect(integrity(dataDir)).toBe('ok')
  }, 60_000)
})
