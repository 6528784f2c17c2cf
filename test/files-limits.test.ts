// Files under load and at their limits: concurrent uploads against a quota while
// another connection writes (no SQLITE_BUSY 500), deleting a user with thousands
// of files without blocking other requests, and the per-user file count limit.
import { describe, expect, test } from 'bun:test'
import { existsSync, mkdirSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { DB_FILE } from '../src/db/client'
import { BACKEND, makeApp, readRes, req, userWithToken, type Res, type TestApp } from './helpers'

function upload(t: TestApp, token: string, data: string, filename = 'a.txt'): Promise<Res> {
  const form = new FormData()
  form.append('file', new Blob([data], { type: 'text/plain' }), filename)
  return t.app.handle(new Request('http://localhost/upload', { method: 'POST', body: form, headers: { authorization: `Bearer ${token}` } })).then(readRes)
}

/** Runs `tasks` with at most `n` in flight; returns their results in order. */
async function pool<T>(count: number, n: number, task: (i: number) => Promise<T>): Promise<T[]> {
  const out: T[] = new Array(count)
  let next = 0
  await Promise.all(
    Array.from({ length: n }, async () => {
      while (next < count) {
        const i = next++
        out[i] = await task(i)
      }
    })
  )
  return out
}

/**
 * Another process committing a small write transaction on the same database
 * file every millisecond or so, as the mail worker or a CLI does now and then.
 */
function competingWriter(dbPath: string) {
  const script = `
    const { Database } = require('bun:sqlite')
    const db = new Database(${JSON.stringify(dbPath)})
    db.run('PRAGMA busy_timeout = 5000')
    db.run('CREATE TABLE IF NOT EXISTS writer_probe (n INTEGER)')
    process.stdout.write('ready\\n')
    for (;;) {
      db.run('INSERT INTO writer_probe VALUES (1)')
      Bun.sleepSync(1)
    }
  `
  const proc = Bun.spawn([process.execPath, '-e', script], { stdout: 'pipe', stderr: 'ignore' })
  const ready = (async () => {
    for await (const chunk of proc.stdout) if (new TextDecoder().decode(chunk).includes('ready')) return
  })()
  return { ready, stop: () => proc.kill('SIGKILL') }
}

describe('uploads against a quota while another connection writes', () => {
  // The competing writer is another process on the SQLite file.
  test.skipIf(BACKEND === 'pg')('2,000 concurrent small uploads: every answer is 201 or 413, never 500; the quota holds exactly', async () => {
    const quota = 1500 * 10
    const t = await makeApp({ UPLOAD_QUOTA_BYTES: String(quota), UPLOAD_MAX_FILES: '0' })
    const alice = await userWithToken(t, 'alice')
    const writer = competingWriter(join(t.dataDir, DB_FILE))
    try {
      await writer.ready
      const answers = await pool(2000, 16, () => upload(t, alice.token, '0123456789'))
      const statuses = new Map<number, number>()
      for (const r of answers) statuses.set(r.status, (statuses.get(r.status) ?? 0) + 1)
      expect(Object.fromEntries(statuses)).toEqual({ 201: 1500, 413: 500 })
      expect(answers.filter((r) => r.status === 413).every((r) => r.json.detail === 'Upload quota exceeded')).toBe(true)
    } finally {
      writer.stop()
    }
    const [used] = await t.sql<{ n: number; bytes: number }>('SELECT count(*) AS n, sum(size) AS bytes FROM files')
    expect({ n: Number(used!.n), bytes: Number(used!.bytes) }).toEqual({ n: 1500, bytes: quota })
  })
})

describe('deleting a user with thousands of files', () => {
  test('the 204 comes once the rows are gone; the bytes are removed after it, while other requests are served', async () => {
    const t = await makeApp()
    const root = await userWithToken(t, 'root')
    await t.sql("UPDATE users SET role = 'admin' WHERE id = ?", root.id)
    const bob = await userWithToken(t, 'bob')
    // 5,000 files, written directly: uploading them one by one would only slow the test.
    const dir = t.config.uploadDir
    mkdirSync(dir, { recursive: true })
    const names = Array.from({ length: 5000 }, (_, i) => i.toString(16).padStart(32, '0'))
    for (const name of names) writeFileSync(join(dir, name), 'x')
    const { files } = t.tables
    await t.data.transaction(async (tx) => {
      for (let i = 0; i < names.length; i += 500) {
        await tx.insert(files).values(
          names.slice(i, i + 500).map((storageName) => ({
            ownerId: bob.id, storageName, filename: 'f.txt', contentType: 'text/plain', size: 1, sha256: 'x', createdAt: '2026-01-01T00:00:00Z'
          }))
        )
      }
    })
    const onDisk = () => names.filter((n) => existsSync(join(dir, n))).length

    const deleted = await req(t, 'DELETE', `/users/${bob.id}`, { token: root.token })
    expect(deleted.status).toBe(204)
    // Answered before the files went: their removal is not part of the request.
    // (It starts right after the answer, so a first batch may already be gone.)
    expect(onDisk()).toBeGreaterThan(0)
    expect(Number((await t.sql<{ n: number }>('SELECT count(*) AS n FROM files'))[0]!.n)).toBe(0)

    // Other requests are answered while the bytes are being removed.
    let servedDuring = 0
    while (onDisk() > 0) {
      const health = await req(t, 'GET', '/health')
      expect(health.status).toBe(200)
      if (onDisk() > 0) servedDuring++
      await Bun.sleep(1)
    }
    expect(servedDuring).toBeGreaterThan(0)
  })
})

describe('UPLOAD_MAX_FILES', () => {
  test('the file over the per-user count is 413 and leaves nothing; another user is not affected; deleting one frees a place', async () => {
    const t = await makeApp({ UPLOAD_MAX_FILES: '3' })
    const alice = await userWithToken(t, 'alice')
    const bob = await userWithToken(t, 'bob')
    const ids: number[] = []
    for (let i = 0; i < 3; i++) {
      const r = await upload(t, alice.token, '')
      expect(r.status).toBe(201)
      ids.push(r.json.id)
    }
    const over = await upload(t, alice.token, '')
    expect(over.status).toBe(413)
    expect(over.json).toEqual({ detail: 'Too many files: at most 3 per user' })
    expect((await upload(t, bob.token, 'x')).status).toBe(201)
    expect((await req(t, 'DELETE', `/files/${ids[0]}`, { token: alice.token })).status).toBe(204)
    expect((await upload(t, alice.token, '')).status).toBe(201)
    const [count] = await t.sql<{ n: number }>('SELECT count(*) AS n FROM files WHERE owner_id = ?', alice.id)
    expect(Number(count!.n)).toBe(3)
  })

  test('concurrent uploads never pass the count', async () => {
    const t = await makeApp({ UPLOAD_MAX_FILES: '5' })
    const alice = await userWithToken(t, 'alice')
    const answers = await Promise.all(Array.from({ length: 30 }, () => upload(t, alice.token, 'x')))
    expect(answers.filter((r) => r.status === 201)).toHaveLength(5)
    expect(answers.filter((r) => r.status === 413)).toHaveLength(25)
  })

  test('a bad value stops the start naming the variable', async () => {
    const { parseConfig } = await import('../src/config')
    expect(() => parseConfig({ UPLOAD_MAX_FILES: 'many' })).toThrow('UPLOAD_MAX_FILES: must be a whole number')
  })
})


describe('multipart limits are named', () => {
  const send = (t: TestApp, token: string, form: FormData) =>
    t.app.handle(new Request('http://localhost/upload', { method: 'POST', body: form, headers: { authorization: `Bearer ${token}` } })).then(readRes)

  test('more than 20 parts: 413 naming the limit (not "no file part"); nothing stored', async () => {
    const t = await makeApp()
    const alice = await userWithToken(t, 'alice')
    const form = new FormData()
    for (let i = 0; i < 25; i++) form.append(`f${i}`, 'x')
    form.append('file', new Blob(['data']), 'a.txt')
    const r = await send(t, alice.token, form)
    expect(r.status).toBe(413)
    expect(r.json).toEqual({ detail: 'Too many parts in the multipart body: at most 20' })
    expect(Number((await t.sql<{ n: number }>('SELECT count(*) AS n FROM files'))[0]!.n)).toBe(0)
  })

  test('a form field over 16 KiB: 413 naming the limit', async () => {
    const t = await makeApp()
    const alice = await userWithToken(t, 'alice')
    const form = new FormData()
    form.append('note', 'x'.repeat(20 * 1024))
    form.append('file', new Blob(['data']), 'a.txt')
    const r = await send(t, alice.token, form)
    expect(r.status).toBe(413)
    expect(r.json).toEqual({ detail: 'A form field in the multipart body is over 16384 bytes' })
  })
})
