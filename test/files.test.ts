// Files over HTTP: streaming upload, limits, odd names, downloads with ranges
// and conditional requests, ownership, deletion (also by user deletion) and
// the start-up sweep. Each test has its own database and DATA_DIR.
import { describe, expect, test } from 'bun:test'
import { createHash, randomBytes } from 'node:crypto'
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { request as httpRequest } from 'node:http'
import { connect } from 'node:net'
import { join } from 'node:path'
import { eq } from 'drizzle-orm'
import { contentDisposition, sanitizeFilename } from '../src/modules/files/filename'
import { parseRange } from '../src/modules/files/download'
import { sweepUploads, UPLOAD_OVERHEAD_BYTES } from '../src/modules/files/service'
import { expectNoSecrets, makeApp, readRes, req, world, type TestApp, type World } from './helpers'

const KiB = 1024
const sha = (b: Uint8Array) => createHash('sha256').update(b).digest('hex')

interface Part {
  name: string
  filename?: string
  type?: string
  data: Uint8Array | string
}

/** A hand-built multipart body, so tests control every byte (raw names, framing). */
function multipart(parts: Part[], boundary = 'XyZ-b0undary') {
  const chunks: Uint8Array[] = []
  for (const p of parts) {
    let h = `--${boundary}\r\nContent-Disposition: form-data; name="${p.name}"`
    if (p.filename !== undefined) h += `; filename="${p.filename}"`
    h += '\r\n'
    if (p.type) h += `Content-Type: ${p.type}\r\n`
    chunks.push(Buffer.from(h + '\r\n', 'utf8'), typeof p.data === 'string' ? Buffer.from(p.data) : p.data, Buffer.from('\r\n'))
  }
  chunks.push(Buffer.from(`--${boundary}--\r\n`))
  return { body: Buffer.concat(chunks), contentType: `multipart/form-data; boundary=${boundary}` }
}

/** The body in small pieces without a Content-Length: the streaming path. */
function streamOf(buf: Uint8Array, piece = 7919): ReadableStream<Uint8Array> {
  let off = 0
  return new ReadableStream({
    pull(c) {
      if (off >= buf.length) return c.close()
      c.enqueue(buf.subarray(off, off + piece))
      off += piece
    }
  })
}

async function post(t: TestApp, token: string | undefined, body: RequestInit['body'], contentType?: string, headers: Record<string, string> = {}) {
  const h: Record<string, string> = { ...headers }
  if (contentType) h['content-type'] = contentType
  if (token) h.authorization = `Bearer ${token}`
  return readRes(await t.app.handle(new Request('http://localhost/upload', { method: 'POST', body, headers: h, duplex: 'half' } as RequestInit)))
}

async function uploadFile(t: TestApp, token: string, data: Uint8Array | string, filename = 'a.bin', type = 'application/octet-stream') {
  const { body, contentType } = multipart([{ name: 'file', filename, type, data }])
  const res = await post(t, token, streamOf(body), contentType)
  expect(res.status).toBe(201)
  return res.json as { id: number; filename: string; content_type: string; size: number; sha256: string; owner_id: number; created_at: string }
}

async function download(t: TestApp, token: string | undefined, id: number | string, headers: Record<string, string> = {}) {
  const h: Record<string, string> = { ...headers }
  if (token) h.authorization = `Bearer ${token}`
  const res = await t.app.handle(new Request(`http://localhost/files/${id}`, { headers: h }))
  return { status: res.status, headers: res.headers, bytes: Buffer.from(await res.arrayBuffer()) }
}

const uploads = (t: TestApp) => join(t.dataDir, 'uploads')
const stored = (t: TestApp) => readdirSync(uploads(t)).filter((n) => n !== '.tmp')
const temps = (t: TestApp) => readdirSync(join(uploads(t), '.tmp'))
const rows = (t: TestApp) => t.db.select().from(t.tables.files).orderBy(t.tables.files.id)

/** A refused upload leaves no file, no temporary file and no row. */
async function expectNothingLeft(t: TestApp) {
  expect(temps(t)).toEqual([])
  expect(stored(t)).toEqual([])
  expect((await rows(t))).toEqual([])
}

function expectCleanLogs(t: TestApp) {
  for (const line of t.logs) expectNoSecrets(line, [t.dataDir])
}

describe('POST /upload', () => {
  test('streams a binary file to disk byte-exact under a generated name, with its sha256', async () => {
    const w = await world()
    // every byte value, CRLFs and a boundary look-alike inside the data
    const data = Buffer.concat([Buffer.from(Array.from({ length: 256 }, (_, i) => i)), Buffer.from('\r\n--XyZ-b0und\r\n'), randomBytes(300 * KiB)])
    const { body, contentType } = multipart([
      { name: 'note', data: 'an ignored field' },
      { name: 'file', filename: 'photo.png', type: 'image/png', data }
    ])
    const res = await post(w.t, w.alice.token, streamOf(body), contentType)
    expect(res.status).toBe(201)
    expect(Object.keys(res.json).sort()).toEqual(['content_type', 'created_at', 'filename', 'id', 'owner_id', 'sha256', 'size'])
    expect(res.json).toMatchObject({ filename: 'photo.png', content_type: 'image/png', size: data.length, sha256: sha(data), owner_id: w.alice.id })
    const [name] = stored(w.t)
    expect(name).toMatch(/^[0-9a-f]{32}$/)
    expect(Buffer.compare(readFileSync(join(uploads(w.t), name!)), data)).toBe(0)
    expect(temps(w.t)).toEqual([])
    const [row] = (await rows(w.t))
    expect(row).toMatchObject({ storageName: name, sha256: sha(data), size: data.length, ownerId: w.alice.id })
    expect(res.text).not.toContain(name!)
    expectNoSecrets(res.text, [w.t.dataDir])

    const dl = await download(w.t, w.alice.token, res.json.id)
    expect(dl.status).toBe(200)
    expect(Buffer.compare(dl.bytes, data)).toBe(0)
    expect(dl.headers.get('content-type')).toBe('image/png')
    expect(dl.headers.get('content-length')).toBe(String(data.length))
    expect(dl.headers.get('content-disposition')).toBe('attachment; filename="photo.png"')
    expect(dl.headers.get('etag')).toBe(`"${sha(data)}"`)
    expect(dl.headers.get('x-content-type-options')).toBe('nosniff')
    expect(dl.headers.get('accept-ranges')).toBe('bytes')
    expect(dl.headers.get('x-request-id')).toBeTruthy()
    expectCleanLogs(w.t)
  })

  test('a FormData body built by the client (with Content-Length) works too', async () => {
    const w = await world()
    const data = randomBytes(50 * KiB)
    const fd = new FormData()
    fd.append('file', new File([data], 'a.dat', { type: 'application/x-thing' }))
    const res = await w.t.app.handle(
      new Request('http://localhost/upload', { method: 'POST', body: fd, headers: { authorization: `Bearer ${w.alice.token}` } })
    )
    expect(res.status).toBe(201)
    expect(await res.json()).toMatchObject({ sha256: sha(data), content_type: 'application/x-thing', filename: 'a.dat' })
  })

  test('only the first `file` part is kept; an empty file is fine; a missing type is text/plain (RFC 7578)', async () => {
    const w = await world()
    const { body, contentType } = multipart([
      { name: 'file', filename: 'one', data: '' },
      { name: 'file', filename: 'two', data: 'ignored' },
      { name: 'other', filename: 'x', data: 'ignored too' }
    ])
    const res = await post(w.t, w.alice.token, body, contentType)
    expect(res.status).toBe(201)
    expect(res.json).toMatchObject({ filename: 'one', size: 0, sha256: sha(new Uint8Array()), content_type: 'text/plain' })
    expect(stored(w.t).length).toBe(1)
  })

  test('a media type with CR/LF or junk is stored as application/octet-stream', async () => {
    const w = await world()
    const r = await uploadFile(w.t, w.alice.token, 'x', 'a.txt', 'text/html\u0000<script>')
    expect(r.content_type).toBe('application/octet-stream')
  })

  test.each([
    ['../../etc/passwd', 'passwd'],
    ['/etc/passwd', 'passwd'],
    ['..\\..\\windows\\win.ini', 'win.ini'],
    ['C:\\Users\\me\\report.pdf', 'report.pdf'],
    ['..', 'file'],
    ['../', 'file'],
    ['', 'file'],
    ['a\u0000b.txt', 'ab.txt'],
    ['a\u0001b\u007fc\u009f.txt', 'abc.txt'],
    ['evil\u202Etxt.exe', 'eviltxt.exe'],
    ['.hidden', 'hidden'],
    ['name..with...dots.', 'name.with.dots'],
    ['日本語 ファイル.txt', '日本語 ファイル.txt'],
    ['zoë 😀.png', 'zoë 😀.png']
  ])('file name %j is stored as %j, the bytes under a generated name inside uploads/', async (raw, expected) => {
    const w = await world()
    const r = await uploadFile(w.t, w.alice.token, 'hello', raw)
    expect(r.filename).toBe(expected)
    expect(stored(w.t)).toEqual([(await rows(w.t))[0]!.storageName])
    // nothing escaped the uploads folder
    expect(readdirSync(w.t.dataDir).sort()).toEqual(['roster.db', 'roster.db-shm', 'roster.db-wal', 'uploads'].filter((n) => existsSync(join(w.t.dataDir, n))))
    const dl = await download(w.t, w.alice.token, r.id)
    expect(dl.bytes.toString()).toBe('hello')
    const cd = dl.headers.get('content-disposition')!
    expect(cd).toStartWith('attachment; filename="')
    if (/[^\x20-\x7e]/.test(expected)) expect(decodeURIComponent(cd.split("filename*=UTF-8''")[1]!)).toBe(expected)
  })

  test('a 300-character name is cut to 255 UTF-8 bytes, keeping the extension', async () => {
    const w = await world()
    const r = await uploadFile(w.t, w.alice.token, 'x', 'é'.repeat(300) + '.txt')
    expect(Buffer.byteLength(r.filename)).toBeLessThanOrEqual(255)
    expect(r.filename).toBe('é'.repeat(125) + '.txt')
    const r2 = await uploadFile(w.t, w.alice.token, 'x', 'a'.repeat(300))
    expect(r2.filename).toBe('a'.repeat(255))
  })

  test('a raw NUL byte inside the multipart header is removed from the name', async () => {
    const w = await world()
    const { body, contentType } = multipart([{ name: 'file', filename: 'a\u0000/../b.txt', data: 'x' }])
    const res = await post(w.t, w.alice.token, body, contentType)
    expect(res.status).toBe(201)
    expect(res.json.filename).toBe('b.txt')
  })

  describe('limits', () => {
    const MAX = 64 * KiB
    const env = { MAX_UPLOAD_BYTES: String(MAX) }

    test('exactly MAX_UPLOAD_BYTES is accepted', async () => {
      const w = await world(env)
      const data = randomBytes(MAX)
      const r = await uploadFile(w.t, w.alice.token, data)
      expect(r.size).toBe(MAX)
      expect(r.sha256).toBe(sha(data))
    })

    test('one byte over: 413 File too large, nothing left behind', async () => {
      const w = await world(env)
      const { body, contentType } = multipart([{ name: 'file', filename: 'big', data: randomBytes(MAX + 1) }])
      const res = await post(w.t, w.alice.token, streamOf(body, 4096), contentType)
      expect(res.status).toBe(413)
      expect(res.json).toEqual({ detail: 'File too large' })
      await expectNothingLeft(w.t)
      expectCleanLogs(w.t)
    })

    test('the rest of an oversized body is not read once the limit is crossed', async () => {
      const w = await world(env)
      const { body, contentType } = multipart([{ name: 'file', filename: 'big', data: randomBytes(4 * MAX) }])
      let pulled = 0
      const piece = 4096
      const stream = new ReadableStream<Uint8Array>({
        pull(c) {
          if (pulled * piece >= body.length) return c.close()
          c.enqueue(body.subarray(pulled * piece, ++pulled * piece))
        }
      })
      const res = await post(w.t, w.alice.token, stream, contentType)
      expect(res.status).toBe(413)
      expect(pulled * piece).toBeLessThan(2 * MAX)
      await expectNothingLeft(w.t)
    })

    test('a Content-Length over the limit is refused before the body is read', async () => {
      const w = await world(env)
      let pulled = 0
      const stream = new ReadableStream<Uint8Array>({
        pull(c) {
          pulled++
          c.enqueue(new Uint8Array(1024))
        }
      })
      const res = await post(w.t, w.alice.token, stream, 'multipart/form-data; boundary=x', {
        'content-length': String(MAX + UPLOAD_OVERHEAD_BYTES + 1)
      })
      expect(res.status).toBe(413)
      expect(res.json).toEqual({ detail: 'File too large' })
      expect(pulled).toBeLessThanOrEqual(1) // at most the stream's own first pull
      await expectNothingLeft(w.t)
    })

    test('UPLOAD_QUOTA_BYTES: the files of one user together; 413 with its own detail', async () => {
      const w = await world({ UPLOAD_QUOTA_BYTES: String(100 * KiB) })
      await uploadFile(w.t, w.alice.token, randomBytes(60 * KiB))
      const { body, contentType } = multipart([{ name: 'file', filename: 'b', data: randomBytes(60 * KiB) }])
      const res = await post(w.t, w.alice.token, streamOf(body), contentType)
      expect(res.status).toBe(413)
      expect(res.json).toEqual({ detail: 'Upload quota exceeded' })
      expect(stored(w.t).length).toBe(1)
      expect(temps(w.t)).toEqual([])
      expect((await rows(w.t)).length).toBe(1)
      // what is left of the quota is still usable, and other users have their own
      await uploadFile(w.t, w.alice.token, randomBytes(40 * KiB))
      await uploadFile(w.t, w.bob.token, randomBytes(100 * KiB))
      // deleting frees quota
      const list = (await req(w.t, 'GET', '/files', { token: w.alice.token })).json
      expect((await req(w.t, 'DELETE', `/files/${list[0].id}`, { token: w.alice.token })).status).toBe(204)
      await uploadFile(w.t, w.alice.token, randomBytes(60 * KiB))
    })

    test('the quota holds against uploads finishing at the same time', async () => {
      const w = await world({ UPLOAD_QUOTA_BYTES: String(100 * KiB) })
      const results = await Promise.all(
        [0, 1, 2].map(() => {
          const { body, contentType } = multipart([{ name: 'file', filename: 'c', data: randomBytes(40 * KiB) }])
          return post(w.t, w.alice.token, streamOf(body), contentType)
        })
      )
      expect(results.map((r) => r.status).sort()).toEqual([201, 201, 413])
      expect(stored(w.t).length).toBe(2)
      expect(temps(w.t)).toEqual([])
    })
  })

  describe('bad requests leave nothing behind', () => {
    test('no `file` part: 422 body.file', async () => {
      const w = await world()
      const { body, contentType } = multipart([{ name: 'avatar', filename: 'a.png', data: 'x' }, { name: 'f', data: 'v' }])
      const res = await post(w.t, w.alice.token, body, contentType)
      expect(res.status).toBe(422)
      expect(res.json).toEqual({ detail: [{ field: 'body.file', message: 'Field required', type: 'missing' }] })
      await expectNothingLeft(w.t)
    })

    test.each([
      ['JSON', '{"file":"x"}', 'application/json'],
      ['no body', null, 'multipart/form-data; boundary=abc'],
      ['no content type', 'abc', undefined]
    ])('not a multipart upload (%s): 422 body.file', async (_name, body, ct) => {
      const w = await world()
      const res = await post(w.t, w.alice.token, body, ct)
      expect(res.status).toBe(422)
      expect(res.json.detail[0].field).toBe('body.file')
      await expectNothingLeft(w.t)
    })

    test('malformed multipart: 400', async () => {
      const w = await world()
      const { body, contentType } = multipart([{ name: 'file', filename: 'a', data: randomBytes(20 * KiB) }])
      for (const [b, ct] of [
        [body.subarray(0, body.length - 30), contentType], // the closing delimiter is missing
        [Buffer.from('garbage without any boundary'), contentType],
        [body, 'multipart/form-data'] // no boundary parameter
      ] as const) {
        const res = await post(w.t, w.alice.token, streamOf(b), ct)
        expect(res.status).toBe(400)
        expect(res.json).toEqual({ detail: 'Malformed multipart body' })
      }
      await expectNothingLeft(w.t)
    })

    test('unauthenticated: 401, nothing read or stored', async () => {
      const w = await world()
      const { body, contentType } = multipart([{ name: 'file', filename: 'a', data: 'x' }])
      for (const token of [undefined, 'not-a-token']) {
        const res = await post(w.t, token, body, contentType)
        expect(res.status).toBe(401)
        expect(res.headers.get('www-authenticate')).toBe('Bearer')
      }
      await expectNothingLeft(w.t)
    })
  })
})

describe('GET /files/{file_id}: ranges and conditional requests', () => {
  const data = Buffer.from(Array.from({ length: 1000 }, (_, i) => i % 251))

  async function setup() {
    const w = await world()
    const f = await uploadFile(w.t, w.alice.token, data, 'd.bin')
    return { w, f, etag: `"${sha(data)}"` }
  }

  test.each([
    ['bytes=0-9', 0, 9],
    ['bytes=990-', 990, 999],
    ['bytes=-5', 995, 999],
    ['bytes=500-5000', 500, 999],
    ['bytes=0-0', 0, 0],
    ['bytes=-5000', 0, 999]
  ])('Range %s gives 206 with exactly those bytes', async (range, start, end) => {
    const { w, f } = await setup()
    const dl = await download(w.t, w.alice.token, f.id, { range })
    expect(dl.status).toBe(206)
    expect(dl.headers.get('content-range')).toBe(`bytes ${start}-${end}/1000`)
    expect(dl.headers.get('content-length')).toBe(String(end - start + 1))
    expect(Buffer.compare(dl.bytes, data.subarray(start, end + 1))).toBe(0)
    expect(dl.headers.get('content-disposition')).toStartWith('attachment')
    expect(dl.headers.get('x-content-type-options')).toBe('nosniff')
  })

  test.each(['bytes=1000-', 'bytes=5000-6000', 'bytes=-0'])('unsatisfiable %s: 416 with Content-Range */size', async (range) => {
    const { w, f } = await setup()
    const dl = await download(w.t, w.alice.token, f.id, { range })
    expect(dl.status).toBe(416)
    expect(dl.headers.get('content-range')).toBe('bytes */1000')
    expect(JSON.parse(dl.bytes.toString())).toEqual({ detail: 'Range not satisfiable' })
  })

  test.each(['bytes=0-1,5-6', 'bytes=9-1', 'items=0-1', 'bytes=abc', 'bytes=-'])('ignored Range %s: the whole file', async (range) => {
    const { w, f } = await setup()
    const dl = await download(w.t, w.alice.token, f.id, { range })
    expect(dl.status).toBe(200)
    expect(Buffer.compare(dl.bytes, data)).toBe(0)
  })

  test('If-Range: the range while the ETag matches, the whole file otherwise', async () => {
    const { w, f, etag } = await setup()
    expect((await download(w.t, w.alice.token, f.id, { range: 'bytes=0-9', 'if-range': etag })).status).toBe(206)
    const stale = await download(w.t, w.alice.token, f.id, { range: 'bytes=0-9', 'if-range': '"other"' })
    expect(stale.status).toBe(200)
    expect(stale.bytes.length).toBe(1000)
  })

  test('If-None-Match: 304 without a body for the current ETag (weak or in a list), 200 otherwise', async () => {
    const { w, f, etag } = await setup()
    for (const inm of [etag, `W/${etag}`, `"x", ${etag}`, '*']) {
      const dl = await download(w.t, w.alice.token, f.id, { 'if-none-match': inm })
      expect(dl.status).toBe(304)
      expect(dl.bytes.length).toBe(0)
      expect(dl.headers.get('etag')).toBe(etag)
    }
    const dl = await download(w.t, w.alice.token, f.id, { 'if-none-match': '"stale"' })
    expect(dl.status).toBe(200)
    expect(dl.bytes.length).toBe(1000)
  })

  test('a Unicode name gets an ASCII fallback and the exact name in filename*', async () => {
    const w = await world()
    const f = await uploadFile(w.t, w.alice.token, 'x', 'résumé 100%.pdf')
    const dl = await download(w.t, w.alice.token, f.id)
    expect(dl.headers.get('content-disposition')).toBe(`attachment; filename="resume 100_.pdf"; filename*=UTF-8''r%C3%A9sum%C3%A9%20100%25.pdf`)
  })
})

describe('ownership', () => {
  test('other users get 404 for GET and DELETE; the owner and admins do not', async () => {
    const w = await world()
    const f = await uploadFile(w.t, w.alice.token, 'secret bytes')
    expect((await download(w.t, w.bob.token, f.id)).status).toBe(404)
    const del = await req(w.t, 'DELETE', `/files/${f.id}`, { token: w.bob.token })
    expect(del.status).toBe(404)
    expect(del.json).toEqual({ detail: 'File not found' })
    expect((await download(w.t, w.root.token, f.id)).bytes.toString()).toBe('secret bytes')
    expect((await download(w.t, w.alice.token, f.id)).status).toBe(200)
    expect((await req(w.t, 'DELETE', `/files/${f.id}`, { token: w.root.token })).status).toBe(204)
    expect(stored(w.t)).toEqual([])
  })

  test('routes table: unauthenticated, unknown, invalid id', async () => {
    const w = await world()
    const f = await uploadFile(w.t, w.alice.token, 'x')
    const cases: [string, string, string | undefined, number][] = [
      ['GET', '/files', undefined, 401],
      ['GET', `/files/${f.id}`, undefined, 401],
      ['DELETE', `/files/${f.id}`, undefined, 401],
      ['GET', '/files/9999', w.alice.token, 404],
      ['DELETE', '/files/9999', w.root.token, 404],
      ['GET', '/files/abc', w.alice.token, 422],
      ['DELETE', '/files/abc', w.alice.token, 422],
      ['GET', '/files?limit=0', w.alice.token, 422],
      ['GET', '/files?owner_id=x', w.root.token, 422],
      ['GET', `/files?owner_id=${w.alice.id}`, w.bob.token, 403]
    ]
    for (const [method, url, token, status] of cases) {
      const res = await req(w.t, method, url, { token })
      expect({ method, url, status: res.status }).toEqual({ method, url, status })
      expect(res.headers.get('content-type')).toContain('application/json')
      expectNoSecrets(res.text, [w.t.dataDir])
    }
    expect(stored(w.t).length).toBe(1)
  })

  test("GET /files lists the caller's own files; admins may pass owner_id", async () => {
    const w = await world()
    const a1 = await uploadFile(w.t, w.alice.token, 'a1', 'a1.txt')
    const a2 = await uploadFile(w.t, w.alice.token, 'a2', 'a2.txt')
    await uploadFile(w.t, w.bob.token, 'b1', 'b1.txt')
    const mine = await req(w.t, 'GET', '/files', { token: w.alice.token })
    expect(mine.status).toBe(200)
    expect(mine.json.map((f: any) => f.id)).toEqual([a1.id, a2.id])
    expect(mine.json[0]).toEqual(a1)
    expect((await req(w.t, 'GET', `/files?owner_id=${w.alice.id}`, { token: w.alice.token })).json.length).toBe(2)
    expect((await req(w.t, 'GET', '/files?limit=1&skip=1', { token: w.alice.token })).json.map((f: any) => f.id)).toEqual([a2.id])
    expect((await req(w.t, 'GET', '/files', { token: w.root.token })).json).toEqual([])
    const theirs = await req(w.t, 'GET', `/files?owner_id=${w.alice.id}`, { token: w.root.token })
    expect(theirs.json.map((f: any) => f.filename)).toEqual(['a1.txt', 'a2.txt'])
  })

  test('DELETE removes the row and the bytes; the file is then 404', async () => {
    const w = await world()
    const f = await uploadFile(w.t, w.alice.token, 'x')
    const keep = await uploadFile(w.t, w.alice.token, 'y')
    const res = await req(w.t, 'DELETE', `/files/${f.id}`, { token: w.alice.token })
    expect(res.status).toBe(204)
    expect(res.text).toBe('')
    expect((await rows(w.t)).map((r) => r.id)).toEqual([keep.id])
    expect(stored(w.t)).toEqual([(await rows(w.t))[0]!.storageName])
    expect((await download(w.t, w.alice.token, f.id)).status).toBe(404)
  })

  test("deleting a user deletes their files from disk, and only theirs", async () => {
    const w = await world()
    await uploadFile(w.t, w.alice.token, 'a1')
    await uploadFile(w.t, w.alice.token, 'a2')
    const b = await uploadFile(w.t, w.bob.token, 'b1')
    expect(stored(w.t).length).toBe(3)
    expect((await req(w.t, 'DELETE', `/users/${w.alice.id}`, { token: w.alice.token })).status).toBe(204)
    expect((await rows(w.t)).map((r) => r.id)).toEqual([b.id])
    // The bytes go in the background, after the answer.
    await w.t.services.files.removalsSettled()
    expect(stored(w.t)).toEqual([(await rows(w.t))[0]!.storageName])
  })

  test('a file whose bytes vanished is 404, logged without its path', async () => {
    const w = await world()
    const f = await uploadFile(w.t, w.alice.token, 'x')
    rmSync(join(uploads(w.t), (await rows(w.t))[0]!.storageName))
    const dl = await download(w.t, w.alice.token, f.id)
    expect(dl.status).toBe(404)
    expect(w.t.logs.some((l) => l.includes('stored file missing'))).toBe(true)
    expectCleanLogs(w.t)
  })
})

describe('start-up sweep', () => {
  test('removes temporary files, files without a row and rows without a file; leaves the rest', async () => {
    const w = await world()
    const kept = await uploadFile(w.t, w.alice.token, 'kept')
    const lost = await uploadFile(w.t, w.alice.token, 'lost')
    const lostRow = (await w.t.db.select().from(w.t.tables.files).where(eq(w.t.tables.files.id, lost.id)))[0]!
    rmSync(join(uploads(w.t), lostRow.storageName))
    writeFileSync(join(uploads(w.t), '.tmp', '.upload-0123.part'), 'half an upload')
    const orphan = 'ab'.repeat(16)
    writeFileSync(join(uploads(w.t), orphan), 'renamed, row never inserted')
    writeFileSync(join(uploads(w.t), 'README'), 'not ours')

    const result = await sweepUploads(w.t.data, uploads(w.t))
    expect(result).toEqual({ tmpFiles: 1, missingRows: 1, orphanFiles: 1 })
    expect(temps(w.t)).toEqual([])
    expect((await rows(w.t)).map((r) => r.id)).toEqual([kept.id])
    expect(stored(w.t).sort()).toEqual(['README', (await rows(w.t))[0]!.storageName].sort())
    expect((await download(w.t, w.alice.token, kept.id)).bytes.toString()).toBe('kept')
    expect(await sweepUploads(w.t.data, uploads(w.t))).toEqual({ tmpFiles: 0, missingRows: 0, orphanFiles: 0 })
  })

  test('with a minimum age (instances sharing the folder) nothing fresh is touched: in-flight temp files, renamed files, new rows', async () => {
    const w = await world()
    const kept = await uploadFile(w.t, w.alice.token, 'kept')
    const lost = await uploadFile(w.t, w.alice.token, 'lost')
    const lostRow = (await w.t.db.select().from(w.t.tables.files).where(eq(w.t.tables.files.id, lost.id)))[0]!
    rmSync(join(uploads(w.t), lostRow.storageName))
    writeFileSync(join(uploads(w.t), '.tmp', '.upload-0123.part'), 'another instance is writing this')
    const orphan = 'cd'.repeat(16)
    writeFileSync(join(uploads(w.t), orphan), 'renamed a moment ago, row about to be inserted')
    expect(await sweepUploads(w.t.data, uploads(w.t), undefined, 60 * 60 * 1000)).toEqual({ tmpFiles: 0, missingRows: 0, orphanFiles: 0 })
    expect((await rows(w.t)).map((r) => r.id)).toEqual([kept.id, lost.id])
    expect(temps(w.t)).toEqual(['.upload-0123.part'])
    expect(stored(w.t)).toContain(orphan)
  })

  test('a missing uploads folder (volume not mounted?) keeps the rows', async () => {
    const w = await world()
    await uploadFile(w.t, w.alice.token, 'x')
    rmSync(uploads(w.t), { recursive: true })
    const logs: string[] = []
    const { createLogger } = await import('../src/lib/log')
    expect(await sweepUploads(w.t.data, uploads(w.t), createLogger('info', (l) => logs.push(l)))).toEqual({ tmpFiles: 0, missingRows: 0, orphanFiles: 0 })
    expect((await rows(w.t)).length).toBe(1)
    expect(logs.some((l) => l.includes('uploads folder missing'))).toBe(true)
    expect(existsSync(join(uploads(w.t), '.tmp'))).toBe(true)
  })
})

describe('over a real socket', () => {
  const MAX = 256 * KiB

  async function listening(env: Record<string, string> = {}) {
    const w = await world({ MAX_UPLOAD_BYTES: String(MAX), ...env })
    w.t.app.listen({ port: 0, hostname: '127.0.0.1', maxRequestBodySize: MAX + UPLOAD_OVERHEAD_BYTES + 4 * 1024 * KiB })
    const port = w.t.app.server!.port!
    return { w, port, stop: () => w.t.app.stop(true) }
  }

  async function waitFor(cond: () => boolean) {
    for (let i = 0; i < 500 && !cond(); i++) await Bun.sleep(10)
    return cond()
  }

  test('a client gone mid-body leaves no file and no row', async () => {
    const { w, port, stop } = await listening()
    try {
      const boundary = 'abortB'
      const head = `--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="half.bin"\r\n\r\n`
      const fullLength = head.length + 200 * KiB + `\r\n--${boundary}--\r\n`.length
      const sock = connect(port, '127.0.0.1')
      await new Promise<void>((r) => sock.once('connect', () => r()))
      sock.write(
        `POST /upload HTTP/1.1\r\nHost: localhost\r\nAuthorization: Bearer ${w.alice.token}\r\n` +
          `Content-Type: multipart/form-data; boundary=${boundary}\r\nContent-Length: ${fullLength}\r\n\r\n${head}`
      )
      sock.write(randomBytes(100 * KiB))
      // the temporary file exists: the upload is in flight
      expect(await waitFor(() => temps(w.t).length === 1)).toBe(true)
      sock.destroy()
      expect(await waitFor(() => temps(w.t).length === 0)).toBe(true)
      await expectNothingLeft(w.t)
      expectCleanLogs(w.t)
    } finally {
      await stop()
    }
  })

  test('a Content-Length over the limit gets the JSON 413 without the body being sent', async () => {
    const { w, port, stop } = await listening()
    try {
      const { status, body } = await new Promise<{ status: number; body: string }>((resolve, reject) => {
        const r = httpRequest(
          {
            port,
            host: '127.0.0.1',
            method: 'POST',
            path: '/upload',
            headers: {
              authorization: `Bearer ${w.alice.token}`,
              'content-type': 'multipart/form-data; boundary=b',
              'content-length': MAX + UPLOAD_OVERHEAD_BYTES + 10
            }
          },
          (res) => {
            let b = ''
            res.on('data', (d) => (b += d))
            res.on('end', () => resolve({ status: res.statusCode!, body: b }))
          }
        )
        r.on('error', reject)
        r.flushHeaders() // headers only, never the body
      })
      expect(status).toBe(413)
      expect(JSON.parse(body)).toEqual({ detail: 'File too large' })
      await expectNothingLeft(w.t)
    } finally {
      await stop()
    }
  })

  test('a chunked body over the limit gets the JSON 413 and leaves nothing', async () => {
    const { w, port, stop } = await listening()
    try {
      const { body, contentType } = multipart([{ name: 'file', filename: 'big', data: randomBytes(MAX + 100 * KiB) }])
      const res = await fetch(`http://127.0.0.1:${port}/upload`, {
        method: 'POST',
        body: streamOf(body, 64 * KiB),
        headers: { 'content-type': contentType, authorization: `Bearer ${w.alice.token}` },
        duplex: 'half'
      } as RequestInit)
      expect(res.status).toBe(413)
      expect(await res.json()).toEqual({ detail: 'File too large' })
      await expectNothingLeft(w.t)
    } finally {
      await stop()
    }
  })

  test('a round trip through a real server, downloaded with a range', async () => {
    const { w, port, stop } = await listening()
    try {
      const data = randomBytes(MAX)
      const fd = new FormData()
      fd.append('file', new File([data], 'r.bin'))
      const up = await fetch(`http://127.0.0.1:${port}/upload`, { method: 'POST', body: fd, headers: { authorization: `Bearer ${w.alice.token}` } })
      expect(up.status).toBe(201)
      const { id } = (await up.json()) as { id: number }
      const full = await fetch(`http://127.0.0.1:${port}/files/${id}`, { headers: { authorization: `Bearer ${w.alice.token}` } })
      expect(Buffer.compare(Buffer.from(await full.arrayBuffer()), data)).toBe(0)
      const part = await fetch(`http://127.0.0.1:${port}/files/${id}`, { headers: { authorization: `Bearer ${w.alice.token}`, range: 'bytes=100-199' } })
      expect(part.status).toBe(206)
      expect(Buffer.compare(Buffer.from(await part.arrayBuffer()), data.subarray(100, 200))).toBe(0)
    } finally {
      await stop()
    }
  })
})

describe('OpenAPI', () => {
  test('documents the multipart body and the download responses', async () => {
    const t = await makeApp()
    const doc = (await req(t, 'GET', '/openapi.json')).json
    const upload = doc.paths['/upload'].post
    expect(upload.requestBody.content['multipart/form-data'].schema.properties.file).toEqual({ type: 'string', format: 'binary' })
    expect(Object.keys(upload.responses)).toEqual(expect.arrayContaining(['201', '400', '401', '413', '422']))
    const get = doc.paths['/files/{file_id}'].get
    expect(Object.keys(get.responses)).toEqual(expect.arrayContaining(['200', '206', '304', '404', '416']))
    expect(get.responses['200'].content['*/*'].schema.format).toBe('binary')
    expect(get.security).toEqual([{ OAuth2PasswordBearer: [] }])
    expect(doc.paths['/files'].get.parameters.map((p: any) => p.name)).toEqual(['owner_id', 'skip', 'limit'])
    expect(doc.paths['/files/{file_id}'].delete.responses['204']).toBeDefined()
  })
})

describe('unit: names and ranges', () => {
  test('sanitizeFilename', () => {
    expect(sanitizeFilename('a\u0000b')).toBe('ab')
    expect(sanitizeFilename('/')).toBe('file')
    expect(sanitizeFilename('   ')).toBe('file')
    expect(sanitizeFilename('e\u0301.txt')).toBe('\u00e9.txt') // NFC
    expect(sanitizeFilename('bad\uD800.txt')).toBe('bad\uFFFD.txt')
    const s = sanitizeFilename('漢'.repeat(200) + '.jpeg')
    expect(s).toBe('漢'.repeat(83) + '.jpeg')
    expect(sanitizeFilename('😀'.repeat(100))).toBe('😀'.repeat(63))
    for (const raw of ['../x', '..\\x', 'a/../../b', '\u0000..', '....']) {
      const out = sanitizeFilename(raw)
      expect(out).not.toMatch(/[/\\\u0000]|\.\./)
    }
  })

  test('contentDisposition', () => {
    expect(contentDisposition('a.txt')).toBe('attachment; filename="a.txt"')
    expect(contentDisposition("it's (1)*.txt")).toBe(`attachment; filename="it's (1)*.txt"`)
    expect(contentDisposition('日本.txt')).toBe(`attachment; filename="__.txt"; filename*=UTF-8''%E6%97%A5%E6%9C%AC.txt`)
    expect(contentDisposition('a "b" \\c.txt')).toBe(`attachment; filename="a _b_ _c.txt"; filename*=UTF-8''a%20%22b%22%20%5Cc.txt`)
    expect(contentDisposition("é'(.txt")).toBe(`attachment; filename="e'(.txt"; filename*=UTF-8''%C3%A9%27%28.txt`)
  })

  test('parseRange', () => {
    expect(parseRange(null, 10)).toBeUndefined()
    expect(parseRange('bytes=0-', 0)).toBe('unsatisfiable')
    expect(parseRange('bytes=-1', 0)).toBe('unsatisfiable')
    expect(parseRange('bytes=2-3', 10)).toEqual({ start: 2, end: 3 })
    expect(parseRange(' bytes=2-3 ', 10)).toEqual({ start: 2, end: 3 })
    expect(parseRange('bytes=99999999999999999999-', 10)).toBe('unsatisfiable')
  })
})
