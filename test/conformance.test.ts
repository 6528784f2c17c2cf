// Conformance: the server against its own OpenAPI document, the way a
// generated client or a contract tester (Schemathesis, Dredd) sees it.
//
// Every operation in /openapi.json gets a valid request, unauthorised ones and
// invalid ones (made from the document: bad path and query values, a body that
// is not an object, another media type, a body over the limit), plus a pass
// under a spent rate limit. Each answer's status must be documented for the
// operation, its Content-Type must be one the document lists, its body must
// validate (ajv, JSON Schema 2020-12, the document's own schemas) and its
// required headers must be there.
//
// A route the server has but the document lacks fails here, and so does a
// documented operation without a scenario below: a new route needs both.
import { describe, expect, test } from 'bun:test'
import { Secret, TOTP } from 'otpauth'
import Ajv2020 from 'ajv/dist/2020'
import addFormats from 'ajv-formats'
import { admin, login, makeApp, PASSWORD, readRes, signup, userBody, type Res, type TestApp } from './helpers'

type Doc = Record<string, any>
type Body = string | FormData

interface Call {
  /** Values for the template's {params}. */
  params?: Record<string, string | number>
  query?: Record<string, string>
  token?: string
  json?: unknown
  form?: Record<string, string>
  multipart?: FormData
  headers?: Record<string, string>
}

interface W {
  t: TestApp
  root: { id: number; token: string }
  alice: { id: number; token: string }
  bob: { id: number; token: string }
  /** A throwaway user (signed up and logged in) for calls that change or end their account. */
  fresh(): Promise<{ id: number; token: string; username: string }>
}

interface Scenario {
  /** A valid call; it must get a 2xx (or 3xx) the document lists. */
  valid(w: W): Promise<Call> | Call
  /** Admins only: a plain user's token must get 403. */
  admin?: boolean
  /** More calls with the status they must get (documented statuses a generic call cannot reach). */
  more?: (w: W) => Promise<[string, Call, number][]>
}

let n = 0
const uniq = (p: string) => `${p}${++n}`

async function loginFull(t: TestApp, username: string) {
  const res = await readRes(
    await t.app.handle(
      new Request('http://localhost/auth/login', {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ username, password: PASSWORD })
      })
    )
  )
  return res.json as { access_token: string; refresh_token: string }
}

async function upload(w: W, token: string, type = 'image/png') {
  const fd = new FormData()
  fd.append('file', new File([new Uint8Array(300).fill(7)], 'pixel.png', { type }))
  const r = await send(w.t, 'POST', '/upload', { token, multipart: fd })
  expect(r.status).toBe(201)
  return r.json as { id: number; sha256: string }
}

/** A throwaway user with TOTP on (enabled with the current code), and their recovery codes. */
async function withTotp(w: W) {
  const u = await w.fresh()
  const setup = await send(w.t, 'POST', '/auth/mfa/totp/setup', { token: u.token, json: { password: PASSWORD } })
  expect(setup.status).toBe(200)
  const code = TOTP.generate({ secret: Secret.fromBase32(setup.json.secret) })
  const enable = await send(w.t, 'POST', '/auth/mfa/totp/enable', { token: u.token, json: { code } })
  expect(enable.status).toBe(200)
  return { ...u, recovery: enable.json.recovery_codes as string[] }
}

/** The token of the newest link to `page` mailed to `to`, read from the outbox as the recipient would. */
async function mailedToken(w: W, page: 'verify-email' | 'accept-invite', to: string): Promise<string> {
  const [row] = await w.t.sql<{ text_body: string }>('SELECT text_body FROM email_outbox WHERE to_address = ? ORDER BY id DESC LIMIT 1', to)
  return new RegExp(`${page}\\?token=([A-Za-z0-9_-]+)`).exec(row!.text_body)![1]!
}

/** The scenario of every documented operation, keyed "METHOD /template". */
const SCENARIOS: Record<string, Scenario> = {
  'GET /health': { valid: () => ({}) },
  'GET /ready': { valid: () => ({}) },
  'GET /metrics': { admin: true, valid: (w) => ({ token: w.root.token }) },

  'POST /auth/login': { valid: (w) => ({ json: { username: 'alice', password: PASSWORD } }),
    more: async () => [
      ['the OAuth2 password form', { form: { grant_type: 'password', username: 'alice', password: PASSWORD } }, 200],
      ['a wrong password', { json: { username: 'alice', password: 'Wrong1234' } }, 401]
    ] },
  'POST /auth/refresh': { valid: async (w) => ({ json: { refresh_token: (await loginFull(w.t, 'alice')).refresh_token } }),
    more: async () => [['an unknown refresh token', { json: { refresh_token: 'nope' } }, 401]] },
  'POST /auth/logout': { valid: async (w) => ({ json: { refresh_token: (await loginFull(w.t, 'alice')).refresh_token } }) },
  'GET /auth/sessions': { valid: (w) => ({ token: w.alice.token }) },
  'DELETE /auth/sessions': { valid: async (w) => ({ token: (await w.fresh()).token }) },
  'DELETE /auth/sessions/{session_id}': {
    valid: async (w) => {
      const u = await w.fresh()
      const sessions = (await send(w.t, 'GET', '/auth/sessions', { token: u.token })).json as { id: string }[]
      return { token: u.token, params: { session_id: sessions[0]!.id } }
    },
    more: async (w) => [['an unknown session', { token: w.alice.token, params: { session_id: 'nope' } }, 404]]
  },
  'POST /auth/password-reset': { valid: () => ({ json: { email: 'alice@example.com' } }) },
  'POST /auth/password-reset/confirm': {
    valid: async (w) => {
      const u = await w.fresh()
      await send(w.t, 'POST', '/auth/password-reset', { json: { email: `${u.username}@example.com` } })
      await w.t.services.resets.settled()
      const [row] = await w.t.sql<{ text_body: string }>("SELECT text_body FROM email_outbox WHERE kind = 'password_reset' ORDER BY id DESC LIMIT 1")
      const token = /reset-password\?token=([A-Za-z0-9_-]+)/.exec(row!.text_body)![1]!
      return { json: { token, new_password: 'Another9Pass' } }
    },
    more: async () => [['a spent or unknown token', { json: { token: 'nope', new_password: 'Another9Pass' } }, 400]]
  },

  'POST /auth/verify-email': {
    valid: async (w) => ({ json: { token: await mailedToken(w, 'verify-email', `${(await w.fresh()).username}@example.com`) } }),
    more: async () => [['an unknown token', { json: { token: 'nope' } }, 400]]
  },
  'POST /auth/verify-email/resend': {
    valid: async (w) => ({ token: (await w.fresh()).token }),
    more: async (w) => {
      const u = await w.fresh()
      return [
        ['a first resend', { token: u.token }, 202],
        ['a second', { token: u.token }, 202],
        ['a third', { token: u.token }, 202],
        ['over the hourly cap', { token: u.token }, 429]
      ]
    }
  },
  'POST /auth/accept-invite': {
    valid: async (w) => {
      const email = `${uniq('guest')}@example.com`
      expect((await send(w.t, 'POST', '/admin/invitations', { token: w.root.token, json: { email, role: 'user' } })).status).toBe(201)
      return { json: { token: await mailedToken(w, 'accept-invite', email), username: uniq('guest'), password: PASSWORD } }
    },
    more: async () => [['an unknown token', { json: { token: 'nope', username: uniq('guest'), password: PASSWORD } }, 400]]
  },
  'POST /admin/invitations': {
    admin: true,
    valid: (w) => ({ token: w.root.token, json: { email: `${uniq('guest')}@example.com`, role: 'user' } }),
    more: async (w) => [['a registered address', { token: w.root.token, json: { email: 'alice@example.com', role: 'user' } }, 400]]
  },
  'GET /admin/invitations': { admin: true, valid: (w) => ({ token: w.root.token }) },
  'DELETE /admin/invitations/{invitation_id}': {
    admin: true,
    valid: async (w) => {
      const made = await send(w.t, 'POST', '/admin/invitations', { token: w.root.token, json: { email: `${uniq('guest')}@example.com`, role: 'user' } })
      return { token: w.root.token, params: { invitation_id: made.json.id } }
    },
    more: async (w) => [['an unknown invitation', { token: w.root.token, params: { invitation_id: 999999 } }, 404]]
  },
  'GET /admin/audit': { admin: true, valid: (w) => ({ token: w.root.token, query: { limit: '5' } }) },
  'GET /users/me/audit': { valid: (w) => ({ token: w.alice.token, query: { limit: '5' } }) },

  'POST /users': {
    valid: () => ({ json: userBody(uniq('carol')) }),
    more: async (w) => [
      ['an admin creates an admin', { token: w.root.token, json: userBody(uniq('dora'), { role: 'admin' }) }, 201],
      ['a taken username', { json: userBody('alice') }, 400],
      ['a bad token', { token: 'garbage', json: userBody(uniq('erin')) }, 401]
    ]
  },
  'GET /users': { valid: (w) => ({ token: w.alice.token, query: { skip: '0', limit: '5' } }) },
  'GET /users/me': { valid: (w) => ({ token: w.alice.token }) },
  'PUT /users/me/password': {
    valid: async (w) => ({ token: (await w.fresh()).token, json: { current_password: PASSWORD, new_password: 'Another9Pass' } }),
    more: async (w) => [['a wrong current password', { token: w.alice.token, json: { current_password: 'Wrong1234', new_password: 'Another9Pass' } }, 400]]
  },
  'GET /users/{user_id}': {
    valid: (w) => ({ token: w.alice.token, params: { user_id: w.bob.id } }),
    more: async (w) => [['an unknown id', { token: w.alice.token, params: { user_id: 999999 } }, 404]]
  },
  'PUT /users/{user_id}': {
    valid: async (w) => {
      const u = await w.fresh()
      return { token: u.token, params: { user_id: u.id }, json: userBody(u.username, { age: 40 }) }
    },
    more: async (w) => [
      ["another user's account", { token: w.alice.token, params: { user_id: w.bob.id }, json: userBody('bob') }, 403],
      ['an unknown id', { token: w.root.token, params: { user_id: 999999 }, json: userBody(uniq('gus')) }, 404]
    ]
  },
  'PATCH /users/{user_id}': {
    valid: async (w) => {
      const u = await w.fresh()
      return { token: u.token, params: { user_id: u.id }, json: { age: 41 } }
    },
    more: async (w) => [
      ["another user's account", { token: w.alice.token, params: { user_id: w.bob.id }, json: { age: 1 } }, 403],
      ['a taken e-mail', { token: w.alice.token, params: { user_id: w.alice.id }, json: { email: 'bob@example.com' } }, 400]
    ]
  },
  'DELETE /users/{user_id}': {
    valid: async (w) => {
      const u = await w.fresh()
      return { token: u.token, params: { user_id: u.id } }
    },
    more: async (w) => [
      ["another user's account", { token: w.alice.token, params: { user_id: w.bob.id } }, 403],
      ['an unknown id', { token: w.root.token, params: { user_id: 999999 } }, 404]
    ]
  },
  'GET /api/v1/users': { valid: (w) => ({ token: w.alice.token }) },
  'GET /api/v2/users': {
    valid: (w) => ({ token: w.root.token, query: { limit: '1', include_inactive: 'true' } }),
    more: async (w) => [['a cursor that is not one', { token: w.root.token, query: { after: '!!' } }, 422]]
  },

  'POST /auth/mfa/totp/setup': {
    valid: async (w) => ({ token: (await w.fresh()).token, json: { password: PASSWORD } }),
    more: async (w) => [['a wrong password', { token: w.alice.token, json: { password: 'Wrong1234' } }, 400]]
  },
  'POST /auth/mfa/totp/enable': {
    valid: async (w) => {
      const u = await w.fresh()
      const setup = await send(w.t, 'POST', '/auth/mfa/totp/setup', { token: u.token, json: { password: PASSWORD } })
      return { token: u.token, json: { code: TOTP.generate({ secret: Secret.fromBase32(setup.json.secret) }) } }
    },
    more: async (w) => [['before any setup', { token: w.alice.token, json: { code: '123456' } }, 400]]
  },
  'POST /auth/mfa/verify': {
    valid: async (w) => {
      const u = await withTotp(w)
      const login = await send(w.t, 'POST', '/auth/login', { json: { username: u.username, password: PASSWORD } })
      expect(login.json.mfa_required).toBe(true)
      return { json: { mfa_token: login.json.mfa_token, code: u.recovery[0] } }
    },
    more: async () => [['an unknown mfa_token', { json: { mfa_token: 'nope', code: '123456' } }, 401]]
  },
  'POST /auth/mfa/totp/disable': {
    valid: async (w) => {
      const u = await withTotp(w)
      return { token: u.token, json: { password: PASSWORD, code: u.recovery[0] } }
    }
  },
  'DELETE /users/{user_id}/mfa': {
    admin: true,
    valid: async (w) => ({ token: w.root.token, params: { user_id: (await withTotp(w)).id } }),
    more: async (w) => [['an unknown user', { token: w.root.token, params: { user_id: 999999 } }, 404]]
  },
  'DELETE /users/{user_id}/sessions': {
    admin: true,
    valid: async (w) => ({ token: w.root.token, params: { user_id: (await w.fresh()).id } }),
    more: async (w) => [['an unknown user', { token: w.root.token, params: { user_id: 999999 } }, 404]]
  },
  'POST /auth/tokens': {
    valid: (w) => ({ token: w.alice.token, json: { name: 'ci', scopes: ['users:read'] } }),
    more: async (w) => [['the admin scope for a plain user', { token: w.alice.token, json: { name: 'ci', scopes: ['admin'] } }, 403]]
  },
  'GET /auth/tokens': { valid: (w) => ({ token: w.alice.token }) },
  'DELETE /auth/tokens/{token_id}': {
    valid: async (w) => {
      const made = await send(w.t, 'POST', '/auth/tokens', { token: w.alice.token, json: { name: 'gone', scopes: ['files:read'] } })
      return { token: w.alice.token, params: { token_id: made.json.id } }
    },
    more: async (w) => [['an unknown id', { token: w.alice.token, params: { token_id: 999999 } }, 404]]
  },

  'GET /admin/emails': { admin: true, valid: (w) => ({ token: w.root.token, query: { status: 'queued' } }) },
  'POST /admin/emails/{email_id}/retry': {
    admin: true,
    valid: async (w) => {
      const [row] = await w.t.sql<{ id: number }>("SELECT id FROM email_outbox WHERE kind = 'welcome' ORDER BY id LIMIT 1")
      return { token: w.root.token, params: { email_id: row!.id } }
    },
    more: async (w) => [['an unknown id', { token: w.root.token, params: { email_id: 999999 } }, 404]]
  },

  'POST /upload': {
    valid: (w) => {
      const fd = new FormData()
      fd.append('file', new File(['hello'], 'hello.txt', { type: 'text/plain' }))
      return { token: w.alice.token, multipart: fd }
    }
  },
  'GET /files': {
    valid: (w) => ({ token: w.alice.token }),
    more: async (w) => [["someone else's files", { token: w.alice.token, query: { owner_id: String(w.bob.id) } }, 403]]
  },
  'GET /files/{file_id}': {
    valid: async (w) => ({ token: w.alice.token, params: { file_id: (await upload(w, w.alice.token)).id } }),
    more: async (w) => {
      const f = await upload(w, w.alice.token, 'application/pdf')
      const params = { file_id: f.id }
      return [
        ['a byte range', { token: w.alice.token, params, headers: { range: 'bytes=0-9' } }, 206],
        ['a range past the end', { token: w.alice.token, params, headers: { range: 'bytes=5000-' } }, 416],
        ['a matching ETag', { token: w.alice.token, params, headers: { 'if-none-match': `"${f.sha256}"` } }, 304],
        ["someone else's file", { token: w.bob.token, params }, 404]
      ]
    }
  },
  'DELETE /files/{file_id}': {
    valid: async (w) => ({ token: w.alice.token, params: { file_id: (await upload(w, w.alice.token)).id } }),
    more: async (w) => [['an unknown id', { token: w.alice.token, params: { file_id: 999999 } }, 404]]
  }
}

// ---- sending -------------------------------------------------------------

function fill(template: string, params: Record<string, string | number> = {}): string {
  return template.replace(/\{([^}]+)\}/g, (_, name: string) => {
    if (params[name] === undefined) throw new Error(`no value for {${name}} in ${template}`)
    return encodeURIComponent(String(params[name]))
  })
}


async function send(t: TestApp, method: string, template: string, call: Call, override: { body?: Body; type?: string } = {}): Promise<Res> {
  const headers: Record<string, string> = { ...call.headers }
  if (call.token) headers.authorization = `Bearer ${call.token}`
  let body: Body | undefined
  if (override.body !== undefined) {
    body = override.body
    if (override.type) headers['content-type'] = override.type
  } else if (call.json !== undefined) {
    headers['content-type'] = 'application/json'
    body = JSON.stringify(call.json)
  } else if (call.form) {
    headers['content-type'] = 'application/x-www-form-urlencoded'
    body = new URLSearchParams(call.form).toString()
  } else if (call.multipart) {
    body = call.multipart
  }
  const qs = call.query ? `?${new URLSearchParams(call.query)}` : ''
  return readRes(await t.app.handle(new Request(`http://localhost${fill(template, call.params)}${qs}`, { method, headers, body })))
}

// ---- checking against the document -------------------------------------

function validator(doc: Doc) {
  const ajv = new Ajv2020({ strict: false, allErrors: true, validateSchema: false })
  addFormats(ajv)
  ajv.addSchema({ $id: 'openapi.json', components: doc.components }, 'openapi.json')
  const cache = new Map<string, ReturnType<typeof ajv.compile>>()
  // The document's local refs (#/components/...) point into the schema added above.
  const rebase = (s: unknown): unknown =>
    Array.isArray(s)
      ? s.map(rebase)
      : s && typeof s === 'object'
        ? Object.fromEntries(Object.entries(s).map(([k, v]) => [k, k === '$ref' && typeof v === 'string' ? v.replace(/^#/, 'openapi.json#') : rebase(v)]))
        : s
  return (key: string, schema: unknown) => {
    let v = cache.get(key)
    if (!v) cache.set(key, (v = ajv.compile(rebase(schema) as object)))
    return v
  }
}

function deref(doc: Doc, x: Doc): Doc {
  if (!x?.$ref) return x
  return (x.$ref as string)
    .slice(2)
    .split('/')
    .reduce((o: Doc, k) => o[k.replace(/~1/g, '/').replace(/~0/g, '~')], doc)
}

function mediaMatches(range: string, type: string): boolean {
  if (range === '*/*') return true
  if (range.endsWith('/*')) return type.startsWith(range.slice(0, -1))
  return range === type
}

function checker(doc: Doc) {
  const compile = validator(doc)
  return function check(method: string, template: string, res: Res, label: string) {
    const op = doc.paths[template][method.toLowerCase()]
    const where = `${method} ${template} (${label}) -> ${res.status}`
    const spec = op.responses[String(res.status)] ?? op.responses.default
    expect(`${where}: documented ${spec !== undefined}`).toBe(`${where}: documented true`)
    for (const [name, h] of Object.entries((spec.headers ?? {}) as Doc)) {
      if (deref(doc, h).required) expect(`${where}: header ${name} ${res.headers.has(name)}`).toBe(`${where}: header ${name} true`)
    }
    const type = (res.headers.get('content-type') ?? '').split(';')[0]!.trim().toLowerCase()
    if (!spec.content) {
      expect(`${where}: empty body ${JSON.stringify(res.text)}`).toBe(`${where}: empty body ""`)
      return
    }
    const ranges = Object.keys(spec.content)
    const range = ranges.find((r) => mediaMatches(r, type))
    expect(`${where}: ${type} in ${ranges.join(', ')}: ${range !== undefined}`).toBe(`${where}: ${type} in ${ranges.join(', ')}: true`)
    if (type !== 'application/json') return
    const validate = compile(`${method} ${template} ${res.status} ${range}`, spec.content[range!].schema)
    const ok = validate(res.json)
    const errors = ok ? '' : JSON.stringify(validate.errors)
    expect(`${where}: ${errors} ${res.text.slice(0, 300)}`).toBe(`${where}:  ${res.text.slice(0, 300)}`)
  }
}

// ---- the walk ------------------------------------------------------------

function operations(doc: Doc): [string, string, Doc][] {
  const out: [string, string, Doc][] = []
  for (const [path, ops] of Object.entries(doc.paths as Doc)) {
    for (const [method, op] of Object.entries(ops as Doc)) out.push([method.toUpperCase(), path, op])
  }
  return out
}

async function makeWorld(env: Record<string, string> = {}): Promise<W> {
  const t = await makeApp(env)
  const root = await admin(t)
  const a = await signup(t, 'alice')
  const b = await signup(t, 'bob')
  const alice = { id: a.id, token: await login(t, 'alice') }
  const bob = { id: b.id, token: await login(t, 'bob') }
  const fresh = async () => {
    const username = uniq('temp')
    const u = await signup(t, username)
    return { id: u.id, token: await login(t, username), username }
  }
  return { t, root, alice, bob, fresh }
}

/** An invalid value for a parameter, from its schema; undefined when none can be made. */
function badValue(schema: Doc): string | undefined {
  if (schema.type === 'integer' || schema.type === 'number') return 'abc'
  if (schema.type === 'boolean') return 'maybe'
  if (schema.enum) return 'not-one-of-them'
  if (schema.type === 'string' && schema.maxLength) return 'x'.repeat(schema.maxLength + 1)
  return undefined
}

describe('every operation against the document', () => {
  test('every route the server has is documented, and every documented operation has a scenario here', async () => {
    const w = await makeWorld()
    const doc = (await send(w.t, 'GET', '/openapi.json', {})).json as Doc
    const documented = new Set(operations(doc).map(([m, p]) => `${m} ${p}`))
    const scenarios = new Set(Object.keys(SCENARIOS))
    expect([...documented].filter((k) => !scenarios.has(k))).toEqual([])
    expect([...scenarios].filter((k) => !documented.has(k))).toEqual([])

    // A route left out of the document may only be a page or an asset (GET, not JSON).
    for (const r of w.t.app.routes) {
      const key = `${r.method} ${r.path.replace(/:([^/]+)/g, '{$1}')}`
      if (documented.has(key) || r.method === 'OPTIONS' || key === 'GET /openapi.json') continue
      expect(`${key}: ${r.method}`).toBe(`${key}: GET`)
      // With a made-up parameter an asset route may well answer 404.
      const res = await send(w.t, 'GET', r.path.replace(/:[^/]+/g, '1').replace(/\*$/, 'x'), {})
      if (res.status !== 404) expect(`${key}: ${res.headers.get('content-type')}`).not.toMatch(/json/)
    }
  })

  test('valid, unauthorised and invalid requests', async () => {
    const w = await makeWorld()
    const doc = (await send(w.t, 'GET', '/openapi.json', {})).json as Doc
    const check = checker(doc)
    let calls = 0
    // Personal access tokens of alice: every scope she may hold, and single ones.
    const pat = async (scopes: string[]) => {
      const made = await send(w.t, 'POST', '/auth/tokens', { token: w.alice.token, json: { name: scopes.join(' '), scopes } })
      expect(made.status).toBe(201)
      return made.json.token as string
    }
    const patAll = await pat(['users:read', 'users:write', 'files:read', 'files:write'])
    const patUsers = await pat(['users:read'])
    const patFiles = await pat(['files:read'])

    for (const [method, template, op] of operations(doc)) {
      const s = SCENARIOS[`${method} ${template}`]!
      const go = async (label: string, call: Call, override?: { body?: Body; type?: string }) => {
        const res = await send(w.t, method, template, call, override)
        check(method, template, res, label)
        calls++
        return res
      }

      const valid = await s.valid(w)
      const ok = await go('valid', valid)
      expect(`${method} ${template} valid: ${ok.status}`).toMatch(/: [23]\d\d$/)

      for (const [label, call, status] of (await s.more?.(w)) ?? []) {
        const res = await go(label, call)
        expect(`${method} ${template} ${label}: ${res.status}`).toBe(`${method} ${template} ${label}: ${status}`)
      }

      const security = op.security as Doc[]
      const optional = security.some((r) => Object.keys(r).length === 0)
      if (security.length) {
        const expect401 = async (label: string, call: Call) => {
          const res = await go(label, call)
          expect(`${method} ${template} ${label}: ${res.status}`).toBe(`${method} ${template} ${label}: 401`)
        }
        if (!optional) await expect401('no token', { ...valid, token: undefined })
        await expect401('a forged token', { ...valid, token: 'not.a.jwt' })
      }
      // A personal access token: refused with 403 without the operation's scope, with 401 where only a session will do.
      if (security.length && !optional) {
        const scope = op['x-required-scope'] as string | undefined
        const token = scope === undefined ? patAll : scope.startsWith('files') ? patUsers : patFiles
        const res = await go(scope ? `a token without ${scope}` : 'a personal access token', { ...valid, token })
        const want = scope ? 403 : 401
        expect(`${method} ${template} personal access token: ${res.status}`).toBe(`${method} ${template} personal access token: ${want}`)
      }
      if (s.admin) {
        const res = await go("a plain user's token", { ...valid, token: w.alice.token })
        expect(`${method} ${template} non-admin: ${res.status}`).toBe(`${method} ${template} non-admin: 403`)
      }

      // Invalid input, made from the document. An admin's token, so only the input is wrong.
      // The valid call's values are reused: these are refused before anything is looked up.
      const base = { ...valid, token: security.length ? w.root.token : undefined }
      const expect422 = (label: string, res: Res) =>
        expect(`${method} ${template} ${label}: ${res.status}`).toBe(`${method} ${template} ${label}: 422`)
      for (const p of (op.parameters ?? []) as Doc[]) {
        const bad = badValue(p.schema)
        if (bad === undefined) continue
        if (p.in === 'path') expect422(`path ${p.name}=${bad}`, await go(`path ${p.name}`, { ...base, params: { ...base.params, [p.name]: bad } }))
        if (p.in === 'query') expect422(`query ${p.name}=${bad}`, await go(`query ${p.name}`, { ...base, query: { ...base.query, [p.name]: bad } }))
      }
      const content = op.requestBody?.content ?? {}
      if (content['application/json']) {
        expect422('a JSON array', await go('a JSON array', base, { body: '[1]', type: 'application/json' }))
        expect422('broken JSON', await go('broken JSON', base, { body: '{"a":', type: 'application/json' }))
        expect422('an empty object', await go('an empty object', base, { body: '{}', type: 'application/json' }))
        const text = await go('text/plain', base, { body: 'hello', type: 'text/plain' })
        expect(`${method} ${template} text/plain: ${text.status}`).toBe(`${method} ${template} text/plain: 415`)
        const big = await go('over 1 MiB', base, { body: `{"x":"${'a'.repeat(1024 * 1024)}"}`, type: 'application/json' })
        expect(`${method} ${template} over 1 MiB: ${big.status}`).toBe(`${method} ${template} over 1 MiB: 413`)
      }
      if (content['multipart/form-data']) {
        expect422('no file part', await go('no file part', { ...base, multipart: new FormData() }))
      }
    }
    expect(calls).toBeGreaterThan(150)
  }, 120_000)

  test('under a spent rate limit every limited operation answers a documented 429', async () => {
    const t = await makeApp({ RATE_LIMIT_PER_MINUTE: '1' })
    // This request spends the minute's only one (under app.handle every request shares one bucket).
    const doc = (await send(t, 'GET', '/openapi.json', {})).json as Doc
    const check = checker(doc)
    for (const [method, template, op] of operations(doc)) {
      const params = Object.fromEntries(((op.parameters ?? []) as Doc[]).filter((p) => p.in === 'path').map((p) => [p.name, 1]))
      const res = await send(t, method, template, { params })
      check(method, template, res, 'rate limit spent')
      const limited = op.responses['429'] !== undefined
      expect(`${method} ${template}: ${res.status === 429}`).toBe(`${method} ${template}: ${limited}`)
    }
  })
})
