// Cross-cutting behaviour: error shapes, request ids, health, logs, OpenAPI, docs.
import { describe, expect, test } from 'bun:test'
import { expectNoSecrets, makeApp, req, settledLogs, userWithToken, world } from './helpers'

describe('errors and request ids', () => {
  test('unknown route: 404 {"detail":"Not Found"} with a request id', async () => {
    const t = await makeApp()
    const r = await req(t, 'GET', '/nope')
    expect(r.status).toBe(404)
    expect(r.json).toEqual({ detail: 'Not Found' })
    expect(r.headers.get('x-request-id')).toMatch(/^[0-9a-f-]{36}$/)
  })

  test('a sane client request id is echoed; an insane one replaced', async () => {
    const t = await makeApp()
    expect((await req(t, 'GET', '/health', { headers: { 'x-request-id': 'abc-123.X' } })).headers.get('x-request-id')).toBe('abc-123.X')
    const bad = await req(t, 'GET', '/health', { headers: { 'x-request-id': 'has space<script>' } })
    expect(bad.headers.get('x-request-id')).toMatch(/^[0-9a-f-]{36}$/)
    const long = await req(t, 'GET', '/health', { headers: { 'x-request-id': 'a'.repeat(200) } })
    expect(long.headers.get('x-request-id')).not.toBe('a'.repeat(200))
  })

  test('an unexpected failure is a generic 500, logged with the request id and nothing else', async () => {
    const t = await makeApp()
    t.app.get('/boom', () => {
      throw new Error('SQLITE_ERROR near "SELECT * FROM users" at /work/main/data/roster.db')
    })
    const r = await req(t, 'GET', '/boom', { headers: { 'x-request-id': 'req-500' } })
    expect(r.status).toBe(500)
    expect(r.json).toEqual({ detail: 'Internal server error' })
    expect(r.headers.get('x-request-id')).toBe('req-500')
    const logs = await settledLogs(t)
    const err = logs.map((l) => JSON.parse(l)).find((l) => l.level === 'error')
    expect(err).toMatchObject({ msg: 'unhandled error', request_id: 'req-500', error: 'Error' })
    for (const line of logs) {
      expect(line).not.toContain('SELECT')
      expect(line).not.toContain('/work/main')
    }
    expectNoSecrets(r.text, ['SELECT', '/work/main'])
  })

  test('one JSON log line per request with method, route template, status, duration and id', async () => {
    const t = await makeApp()
    const u = await userWithToken(t, 'alice')
    await settledLogs(t)
    t.logs.length = 0
    await req(t, 'GET', `/users/${u.id}`, { token: u.token, headers: { 'x-request-id': 'rid-1' } })
    await req(t, 'GET', '/users/999', { token: u.token, headers: { 'x-request-id': 'rid-2' } })
    const lines = (await settledLogs(t)).map((l) => JSON.parse(l))
    expect(lines).toHaveLength(2)
    expect(lines[0]).toMatchObject({ level: 'info', msg: 'request', method: 'GET', route: '/users/:user_id', status: 200, request_id: 'rid-1' })
    expect(lines[1]).toMatchObject({ status: 404, request_id: 'rid-2' })
    expect(typeof lines[0].duration_ms).toBe('number')
    for (const l of lines) expect(JSON.stringify(l)).not.toContain(u.token)
  })
})

describe('health and readiness', () => {
  test('/health and /ready answer on a migrated database', async () => {
    const t = await makeApp()
    expect((await req(t, 'GET', '/health')).json).toEqual({ status: 'ok' })
    const ready = await req(t, 'GET', '/ready')
    expect(ready.status).toBe(200)
    expect(ready.json).toEqual({ status: 'ready' })
  })

  test('/ready is 503 while migrations are not applied', async () => {
    const t = await makeApp()
    // Drizzle keeps its bookkeeping in a schema of its own on PostgreSQL.
    await t.sql(`DELETE FROM ${t.data.kind === 'pg' ? 'drizzle.' : ''}__drizzle_migrations`)
    const r = await req(t, 'GET', '/ready')
    expect(r.status).toBe(503)
    expect(r.json).toEqual({ detail: 'Not ready' })
  })
})

describe('OpenAPI document and docs page', () => {
  test('info, contact and one bearer scheme (OAuth2 password flow at /auth/login)', async () => {
    const t = await makeApp()
    const doc = (await req(t, 'GET', '/openapi.json')).json
    expect(doc.openapi).toMatch(/^3\./)
    expect(doc.info.title).toBe('User Management API')
    expect(doc.info.version).toBe('2.0.0')
    expect(doc.info.contact).toEqual({ name: 'API Support', email: 'support@example.com' })
    expect(doc.components.securitySchemes).toEqual({
      OAuth2PasswordBearer: expect.objectContaining({ type: 'oauth2', flows: { password: { tokenUrl: '/auth/login', scopes: {} } } })
    })
  })

  test('every route is documented with its error responses and schemas', async () => {
    const t = await makeApp()
    const doc = (await req(t, 'GET', '/openapi.json')).json
    const expected: [string, string, string[]][] = [
      ['/users', 'post', ['201', '400', '403', '422']],
      ['/users', 'get', ['200', '401', '422']],
      ['/users/me', 'get', ['200', '401']],
      ['/users/me/password', 'put', ['204', '400', '401', '422']],
      ['/users/{user_id}', 'get', ['200', '401', '404', '422']],
      ['/users/{user_id}', 'put', ['200', '400', '401', '403', '404', '422']],
      ['/users/{user_id}', 'patch', ['200', '400', '401', '403', '404', '422']],
      ['/users/{user_id}', 'delete', ['204', '401', '403', '404', '422']],
      ['/auth/login', 'post', ['200', '401', '422']],
      ['/api/v1/users', 'get', ['200', '401', '422']],
      ['/api/v2/users', 'get', ['200', '401', '422']]
    ]
    for (const [path, method, codes] of expected) {
      const op = doc.paths[path]?.[method]
      expect(op).toBeDefined()
      for (const c of codes) expect(op.responses[c]).toBeDefined()
      if (codes.includes('401') && path !== '/auth/login') expect(op.security).toEqual([{ OAuth2PasswordBearer: [] }])
    }
    expect(doc.paths['/users'].post.requestBody.content['application/json'].schema.properties.username).toBeDefined()
    // Every JSON-body route shows its body (the global JSON parser hides it unless a route declares its parser).
    for (const [path, ops] of Object.entries(doc.paths) as [string, any][]) {
      for (const [method, op] of Object.entries(ops) as [string, any][]) {
        if (!op.requestBody) continue
        const types = Object.keys(op.requestBody.content ?? {})
        expect(`${method} ${path}: ${types.length}`).not.toBe(`${method} ${path}: 0`)
      }
    }
    for (const path of ['/auth/refresh', '/auth/logout', '/auth/password-reset', '/auth/password-reset/confirm']) {
      expect(doc.paths[path].post.requestBody.content['application/json'].schema.type).toBe('object')
    }
    expect(doc.paths['/users'].get.parameters.map((p: any) => p.name)).toEqual(['skip', 'limit'])
    expect(doc.paths['/api/v2/users'].get.parameters.map((p: any) => p.name)).toContain('after')
  })

  test('integers in bodies are plain integers, never string|integer unions', async () => {
    const t = await makeApp()
    const doc = (await req(t, 'GET', '/openapi.json')).json
    const bodies: unknown[] = []
    for (const ops of Object.values(doc.paths) as any[]) {
      for (const op of Object.values(ops) as any[]) {
        if (op.requestBody) bodies.push(op.requestBody)
        for (const r of Object.values(op.responses ?? {})) bodies.push(r)
      }
    }
    const text = JSON.stringify(bodies)
    expect(text).not.toContain('"format":"integer"')
    const age = doc.paths['/users'].post.requestBody.content['application/json'].schema.properties.age
    expect(JSON.stringify(age)).toContain('"integer"')
  })

  test('/docs loads nothing from another host', async () => {
    const t = await makeApp()
    const page = await req(t, 'GET', '/docs')
    expect(page.status).toBe(200)
    const refs = [...page.text.matchAll(/(?:src|href)="([^"]+)"/g)].map((m) => m[1]!)
    expect(refs.length).toBeGreaterThanOrEqual(2)
    for (const ref of refs) {
      expect(ref.startsWith('/')).toBe(true)
      const asset = await req(t, 'GET', ref)
      expect(asset.status).toBe(200)
      expect(asset.text.length).toBeGreaterThan(100)
    }
    expect(page.text).not.toMatch(/https?:\/\/(?!localhost)/)
  })
})

describe('path ids are plain decimal numbers', () => {
  const lenient = ['0x2', '2e0', '+2', '%202', '1e3', '2.0', '-2', '%EF%BC%92', '2%20']
  test('anything else is 422 in the contract shape, on every route with an id', async () => {
    const w = await world()
    const routes: [string, (id: string) => string, string][] = [
      ['GET', (id) => `/users/${id}`, 'path.user_id'],
      ['DELETE', (id) => `/users/${id}`, 'path.user_id'],
      ['GET', (id) => `/files/${id}`, 'path.file_id'],
      ['POST', (id) => `/admin/emails/${id}/retry`, 'path.email_id']
    ]
    for (const [method, url, field] of routes) {
      for (const id of lenient) {
        const r = await req(w.t, method, url(id), { token: w.root.token })
        expect({ url: url(id), status: r.status }).toEqual({ url: url(id), status: 422 })
        expect(r.json.detail[0].field).toBe(field)
      }
    }
    // The plain form still works, and nothing was deleted by a lenient id.
    const alice = await req(w.t, 'GET', `/users/${w.alice.id}`, { token: w.root.token })
    expect(alice.status).toBe(200)
    expect((await req(w.t, 'GET', `/users/0${w.alice.id}`, { token: w.root.token })).json.id).toBe(w.alice.id)
  })
})
