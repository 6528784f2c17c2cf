// Users routes over HTTP: unauthenticated, forbidden, invalid input and success
// for every route, as tables of scenarios on a fresh database each.
import { describe, expect, test } from 'bun:test'
import { admin, expectNoSecrets, login, makeApp, PASSWORD, req, scenarios, settledLogs, signup, userBody, world, type World } from './helpers'

const UNAUTH = { detail: 'Could not validate credentials' }
const FORBIDDEN = { detail: 'Not enough permissions' }

describe('POST /users', () => {
  scenarios([
    {
      name: 'creates a user and returns exactly the UserResponse fields',
      method: 'POST',
      url: () => '/users',
      body: { ...userBody('carol'), email: 'Carol@Example.COM', age: 41 },
      status: 201,
      expect: (j) => {
        expect(Object.keys(j).sort()).toEqual(['age', 'created_at', 'email', 'email_verified', 'id', 'is_active', 'mfa_enabled', 'role', 'username'])
        expect(j).toMatchObject({ username: 'carol', email: 'carol@example.com', age: 41, role: 'user', is_active: true, email_verified: false, mfa_enabled: false })
        expect(new Date(j.created_at).toISOString()).toBe(j.created_at)
      }
    },
    { name: 'age may be null or omitted', method: 'POST', url: () => '/users', body: { ...userBody('dave'), age: null }, status: 201, expect: (j) => expect(j.age).toBeNull() },
    {
      name: 'ignores role, is_active, id and hashed_password from a non-admin (mass assignment)',
      method: 'POST',
      url: () => '/users',
      body: { ...userBody('mallory'), role: 'admin', is_active: false, id: 999, hashed_password: 'x', token_version: 5 },
      status: 201,
      expect: (j) => {
        expect(j.role).toBe('user')
        expect(j.is_active).toBe(true)
        expect(j.id).not.toBe(999)
      }
    },
    {
      name: 'an admin may create another admin',
      method: 'POST',
      url: () => '/users',
      token: (w) => w.root.token,
      body: { ...userBody('boss'), role: 'admin' },
      status: 201,
      expect: (j) => expect(j.role).toBe('admin')
    },
    { name: 'duplicate username', method: 'POST', url: () => '/users', body: userBody('alice'), status: 400, expect: (j) => expect(j).toEqual({ detail: 'Username already exists' }) },
    {
      name: 'duplicate username differing only in case',
      method: 'POST',
      url: () => '/users',
      body: { ...userBody('ALICE'), email: 'other@example.com' },
      status: 400,
      expect: (j) => expect(j).toEqual({ detail: 'Username already exists' })
    },
    {
      name: 'duplicate e-mail, compared case-insensitively',
      method: 'POST',
      url: () => '/users',
      body: { ...userBody('alice2'), email: 'ALICE@example.com' },
      status: 400,
      expect: (j) => expect(j).toEqual({ detail: 'Email already registered' })
    },
    {
      name: 'every bad field is reported at once, values never echoed',
      method: 'POST',
      url: () => '/users',
      body: { username: 'a!', email: 'not-an-email', password: 'weakpass', age: 151 },
      status: 422,
      expect: (j) => {
        const fields = j.detail.map((d: any) => d.field).sort()
        expect(fields).toEqual(['body.age', 'body.email', 'body.password', 'body.username'])
        for (const d of j.detail) expect(Object.keys(d).sort()).toEqual(['field', 'message', 'type'])
        expect(JSON.stringify(j)).not.toContain('weakpass')
        expect(JSON.stringify(j)).not.toContain('not-an-email')
      }
    },
    {
      name: 'strict JSON: "30" is not an integer age',
      method: 'POST',
      url: () => '/users',
      body: { ...userBody('erin'), age: '30' },
      status: 422,
      expect: (j) => expect(j.detail).toEqual([{ field: 'body.age', message: 'Input should be a valid integer', type: 'int_type' }])
    },
    { name: 'age below 0', method: 'POST', url: () => '/users', body: { ...userBody('erin'), age: -1 }, status: 422, expect: (j) => expect(j.detail[0].field).toBe('body.age') },
    { name: 'fractional age', method: 'POST', url: () => '/users', body: { ...userBody('erin'), age: 3.5 }, status: 422, expect: (j) => expect(j.detail[0].type).toBe('int_type') },
    {
      name: 'password without a digit',
      method: 'POST',
      url: () => '/users',
      body: { ...userBody('erin'), password: 'NoDigitsHere' },
      status: 422,
      expect: (j) => expect(j.detail).toEqual([{ field: 'body.password', message: 'Password must contain at least one digit and one uppercase letter', type: 'value_error' }])
    },
    { name: 'password without an uppercase letter', method: 'POST', url: () => '/users', body: { ...userBody('erin'), password: 'lowercase1' }, status: 422, expect: (j) => expect(j.detail[0].field).toBe('body.password') },
    {
      name: 'username with a space is not alphanumeric',
      method: 'POST',
      url: () => '/users',
      body: userBody('bad name'),
      status: 422,
      expect: (j) => expect(j.detail[0]).toEqual({ field: 'body.username', message: 'Username must be alphanumeric', type: 'value_error' })
    },
    { name: 'Unicode letters are alphanumeric (isalnum)', method: 'POST', url: () => '/users', body: { ...userBody('zoë'), email: 'zoe@example.com' }, status: 201 },
    { name: 'username over 50 characters', method: 'POST', url: () => '/users', body: userBody('a'.repeat(51)), status: 422, expect: (j) => expect(j.detail[0].type).toBe('string_too_long') },
    {
      name: 'missing fields are each reported',
      method: 'POST',
      url: () => '/users',
      body: {},
      status: 422,
      expect: (j) => expect(j.detail.map((d: any) => `${d.field}:${d.type}`).sort()).toEqual(['body.email:missing', 'body.password:missing', 'body.username:missing'])
    },
    { name: 'a body that is not JSON', method: 'POST', url: () => '/users', raw: '{"username":', status: 422, expect: (j) => expect(j.detail).toEqual([{ field: 'body', message: 'Body is not valid JSON', type: 'json_invalid' }]) },
    { name: 'a JSON array is not an object', method: 'POST', url: () => '/users', raw: '[1,2]', status: 422, expect: (j) => expect(j.detail[0].field).toBe('body') },
    { name: 'a bad token on signup is refused, not ignored', method: 'POST', url: () => '/users', token: () => 'nope', body: userBody('frank'), status: 401, expect: (j) => expect(j).toEqual(UNAUTH) }
  ])

  test('signup off: 403 for anyone but an admin', async () => {
    const t = await makeApp({ ALLOW_SIGNUP: 'false' })
    const r = await req(t, 'POST', '/users', { body: userBody('carol') })
    expect(r.status).toBe(403)
    expect(r.json).toEqual({ detail: 'Signup is disabled' })
    const root = await admin(t)
    expect((await req(t, 'POST', '/users', { body: userBody('carol'), token: root.token })).status).toBe(201)
  })

  test('a rejected signup changes nothing', async () => {
    const w = await world()
    const before = (await w.t.sql<{ n: number }>('SELECT CAST(count(*) AS INTEGER) AS n FROM users'))[0]!
    await req(w.t, 'POST', '/users', { body: { ...userBody('x1'), age: 'x' } })
    await req(w.t, 'POST', '/users', { body: userBody('alice') })
    const after = (await w.t.sql<{ n: number }>('SELECT CAST(count(*) AS INTEGER) AS n FROM users'))[0]!
    expect(after.n).toBe(before.n)
  })

  test('the password is stored as an argon2id hash', async () => {
    const w = await world()
    const row = (await w.t.sql<{ h: string }>("SELECT hashed_password AS h FROM users WHERE username = 'alice'"))[0]!
    expect(row.h.startsWith('$argon2id$')).toBe(true)
    expect(row.h).not.toContain(PASSWORD)
  })
})

describe('GET /users', () => {
  scenarios([
    { name: 'unauthenticated', method: 'GET', url: () => '/users', status: 401, expect: (j) => expect(j).toEqual(UNAUTH) },
    {
      name: 'lists active users ordered by id',
      method: 'GET',
      url: () => '/users',
      token: (w) => w.alice.token,
      status: 200,
      expect: (j) => expect(j.map((u: any) => u.username)).toEqual(['root', 'alice', 'bob'])
    },
    { name: 'skip and limit', method: 'GET', url: () => '/users?skip=1&limit=1', token: (w) => w.alice.token, status: 200, expect: (j) => expect(j.map((u: any) => u.username)).toEqual(['alice']) },
    {
      name: 'negative skip and zero limit both reported',
      method: 'GET',
      url: () => '/users?skip=-1&limit=0',
      token: (w) => w.alice.token,
      status: 422,
      expect: (j) => expect(j.detail.map((d: any) => d.field)).toEqual(['query.skip', 'query.limit'])
    },
    { name: 'limit over 100', method: 'GET', url: () => '/users?limit=101', token: (w) => w.alice.token, status: 422, expect: (j) => expect(j.detail[0]).toMatchObject({ field: 'query.limit', type: 'less_than_equal' }) },
    { name: 'non-integer limit', method: 'GET', url: () => '/users?limit=ten', token: (w) => w.alice.token, status: 422, expect: (j) => expect(j.detail[0]).toMatchObject({ field: 'query.limit', type: 'int_parsing' }) },
    { name: 'fractional skip', method: 'GET', url: () => '/users?skip=1.5', token: (w) => w.alice.token, status: 422, expect: (j) => expect(j.detail[0].field).toBe('query.skip') },
    { name: 'skip is capped', method: 'GET', url: () => '/users?skip=10001', token: (w) => w.alice.token, status: 422, expect: (j) => expect(j.detail[0].field).toBe('query.skip') }
  ])

  test('deactivated users are not listed', async () => {
    const w = await world()
    expect((await req(w.t, 'PATCH', `/users/${w.bob.id}`, { token: w.root.token, body: { is_active: false } })).status).toBe(200)
    const r = await req(w.t, 'GET', '/users', { token: w.alice.token })
    expect(r.json.map((u: any) => u.username)).toEqual(['root', 'alice'])
  })
})

describe('GET /users/me and /users/{id}', () => {
  scenarios([
    { name: 'me unauthenticated', method: 'GET', url: () => '/users/me', status: 401 },
    { name: 'me', method: 'GET', url: () => '/users/me', token: (w) => w.alice.token, status: 200, expect: (j, w) => expect(j).toMatchObject({ id: w.alice.id, username: 'alice' }) },
    { name: 'by id unauthenticated', method: 'GET', url: (w) => `/users/${w.bob.id}`, status: 401 },
    { name: 'by id', method: 'GET', url: (w) => `/users/${w.bob.id}`, token: (w) => w.alice.token, status: 200, expect: (j) => expect(j.username).toBe('bob') },
    { name: 'unknown id', method: 'GET', url: () => '/users/9999', token: (w) => w.alice.token, status: 404, expect: (j) => expect(j).toEqual({ detail: 'User not found' }) },
    {
      name: 'non-integer id',
      method: 'GET',
      url: () => '/users/abc',
      token: (w) => w.alice.token,
      status: 422,
      expect: (j) => expect(j.detail).toEqual([{ field: 'path.user_id', message: 'Input should be a valid integer', type: 'int_parsing' }])
    }
  ])
})

describe('PUT /users/{id}', () => {
  const full = (name: string) => ({ ...userBody(name), age: 33 })
  scenarios([
    { name: 'unauthenticated', method: 'PUT', url: (w) => `/users/${w.alice.id}`, body: full('alice'), status: 401 },
    { name: 'another user is forbidden', method: 'PUT', url: (w) => `/users/${w.bob.id}`, token: (w) => w.alice.token, body: full('bobby'), status: 403, expect: (j) => expect(j).toEqual(FORBIDDEN) },
    { name: 'self', method: 'PUT', url: (w) => `/users/${w.alice.id}`, token: (w) => w.alice.token, body: { ...full('alicia'), email: 'alicia@example.com' }, status: 200, expect: (j) => expect(j).toMatchObject({ username: 'alicia', email: 'alicia@example.com', age: 33 }) },
    { name: 'admin on another user', method: 'PUT', url: (w) => `/users/${w.bob.id}`, token: (w) => w.root.token, body: full('bobby'), status: 200, expect: (j) => expect(j.username).toBe('bobby') },
    { name: 'partial body is invalid for PUT', method: 'PUT', url: (w) => `/users/${w.alice.id}`, token: (w) => w.alice.token, body: { age: 3 }, status: 422 },
    { name: 'duplicate username', method: 'PUT', url: (w) => `/users/${w.alice.id}`, token: (w) => w.alice.token, body: { ...full('bob'), email: 'alice@example.com' }, status: 400, expect: (j) => expect(j).toEqual({ detail: 'Username already exists' }) },
    { name: 'duplicate e-mail', method: 'PUT', url: (w) => `/users/${w.alice.id}`, token: (w) => w.alice.token, body: { ...full('alice'), email: 'BOB@example.com' }, status: 400, expect: (j) => expect(j).toEqual({ detail: 'Email already registered' }) },
    { name: 'unknown user (admin)', method: 'PUT', url: () => '/users/9999', token: (w) => w.root.token, body: full('ghost'), status: 404 },
    { name: 'a non-admin cannot promote themself via PUT', method: 'PUT', url: (w) => `/users/${w.alice.id}`, token: (w) => w.alice.token, body: { ...full('alice'), role: 'admin' }, status: 403 }
  ])

  test('omitted age becomes null (full replacement)', async () => {
    const w = await world()
    await req(w.t, 'PATCH', `/users/${w.alice.id}`, { token: w.alice.token, body: { age: 20 } })
    const r = await req(w.t, 'PUT', `/users/${w.alice.id}`, { token: w.alice.token, body: userBody('alice') })
    expect(r.status).toBe(200)
    expect(r.json.age).toBeNull()
  })
})

describe('PATCH /users/{id}', () => {
  scenarios([
    { name: 'unauthenticated', method: 'PATCH', url: (w) => `/users/${w.alice.id}`, body: { age: 5 }, status: 401 },
    { name: 'another user is forbidden', method: 'PATCH', url: (w) => `/users/${w.bob.id}`, token: (w) => w.alice.token, body: { age: 5 }, status: 403 },
    { name: 'self, one field', method: 'PATCH', url: (w) => `/users/${w.alice.id}`, token: (w) => w.alice.token, body: { age: 5 }, status: 200, expect: (j) => expect(j).toMatchObject({ username: 'alice', age: 5 }) },
    { name: 'self cannot change role', method: 'PATCH', url: (w) => `/users/${w.alice.id}`, token: (w) => w.alice.token, body: { role: 'admin' }, status: 403, expect: (j) => expect(j).toEqual(FORBIDDEN) },
    { name: 'self cannot change is_active', method: 'PATCH', url: (w) => `/users/${w.alice.id}`, token: (w) => w.alice.token, body: { is_active: false }, status: 403 },
    { name: 'sending the unchanged role is harmless', method: 'PATCH', url: (w) => `/users/${w.alice.id}`, token: (w) => w.alice.token, body: { role: 'user', age: 9 }, status: 200 },
    { name: 'admin promotes', method: 'PATCH', url: (w) => `/users/${w.bob.id}`, token: (w) => w.root.token, body: { role: 'admin' }, status: 200, expect: (j) => expect(j.role).toBe('admin') },
    { name: 'invalid role value', method: 'PATCH', url: (w) => `/users/${w.bob.id}`, token: (w) => w.root.token, body: { role: 'god' }, status: 422, expect: (j) => expect(j.detail[0].field).toBe('body.role') },
    { name: 'empty body', method: 'PATCH', url: (w) => `/users/${w.alice.id}`, token: (w) => w.alice.token, body: {}, status: 422 },
    { name: 'bad e-mail', method: 'PATCH', url: (w) => `/users/${w.alice.id}`, token: (w) => w.alice.token, body: { email: 'nope' }, status: 422, expect: (j) => expect(j.detail[0].field).toBe('body.email') },
    { name: 'duplicate e-mail', method: 'PATCH', url: (w) => `/users/${w.alice.id}`, token: (w) => w.alice.token, body: { email: 'bob@example.com' }, status: 400 },
    { name: 'unknown user', method: 'PATCH', url: () => '/users/9999', token: (w) => w.root.token, body: { age: 1 }, status: 404 },
    { name: 'the last admin cannot demote themself', method: 'PATCH', url: (w) => `/users/${w.root.id}`, token: (w) => w.root.token, body: { role: 'user' }, status: 400, expect: (j) => expect(j).toEqual({ detail: 'Cannot remove the last active admin' }) }
  ])

  test('a password set by PATCH works for login and revokes earlier tokens', async () => {
    const w = await world()
    const r = await req(w.t, 'PATCH', `/users/${w.alice.id}`, { token: w.alice.token, body: { password: 'Another456' } })
    expect(r.status).toBe(200)
    expect((await req(w.t, 'GET', '/users/me', { token: w.alice.token })).status).toBe(401)
    await login(w.t, 'alice', 'Another456')
  })
})

describe('DELETE /users/{id}', () => {
  scenarios([
    { name: 'unauthenticated', method: 'DELETE', url: (w) => `/users/${w.alice.id}`, status: 401 },
    { name: 'another user is forbidden', method: 'DELETE', url: (w) => `/users/${w.bob.id}`, token: (w) => w.alice.token, status: 403 },
    { name: 'unknown user', method: 'DELETE', url: () => '/users/9999', token: (w) => w.root.token, status: 404, expect: (j) => expect(j).toEqual({ detail: 'User not found' }) },
    { name: 'non-integer id', method: 'DELETE', url: () => '/users/x', token: (w) => w.root.token, status: 422 }
  ])

  test('self-deletion: 204 with an empty body, then the token is dead and the row gone', async () => {
    const w = await world()
    const r = await req(w.t, 'DELETE', `/users/${w.alice.id}`, { token: w.alice.token })
    expect(r.status).toBe(204)
    expect(r.text).toBe('')
    expect((await req(w.t, 'GET', '/users/me', { token: w.alice.token })).status).toBe(401)
    expect((await req(w.t, 'GET', `/users/${w.alice.id}`, { token: w.bob.token })).status).toBe(404)
  })

  test('admin deletes a user and their sessions go too', async () => {
    const w = await world()
    expect(((await w.t.sql<{ n: number }>('SELECT CAST(count(*) AS INTEGER) AS n FROM sessions WHERE user_id = ?', w.bob.id))[0]!).n).toBe(1)
    expect((await req(w.t, 'DELETE', `/users/${w.bob.id}`, { token: w.root.token })).status).toBe(204)
    expect(((await w.t.sql<{ n: number }>('SELECT CAST(count(*) AS INTEGER) AS n FROM sessions WHERE user_id = ?', w.bob.id))[0]!).n).toBe(0)
  })

  test('the last admin cannot delete themself', async () => {
    const w = await world()
    const r = await req(w.t, 'DELETE', `/users/${w.root.id}`, { token: w.root.token })
    expect(r.status).toBe(400)
  })
})

describe('PUT /users/me/password', () => {
  scenarios([
    { name: 'unauthenticated', method: 'PUT', url: () => '/users/me/password', body: { current_password: PASSWORD, new_password: 'Newpass123' }, status: 401 },
    { name: 'wrong current password', method: 'PUT', url: () => '/users/me/password', token: (w) => w.alice.token, body: { current_password: 'Wrong1234', new_password: 'Newpass123' }, status: 400, expect: (j) => expect(j).toEqual({ detail: 'Incorrect password' }) },
    { name: 'weak new password', method: 'PUT', url: () => '/users/me/password', token: (w) => w.alice.token, body: { current_password: PASSWORD, new_password: 'short' }, status: 422, expect: (j) => expect(j.detail[0].field).toBe('body.new_password') },
    { name: 'missing fields', method: 'PUT', url: () => '/users/me/password', token: (w) => w.alice.token, body: {}, status: 422 }
  ])

  test('success: 204, old tokens rejected, new password logs in, old does not', async () => {
    const w = await world()
    const r = await req(w.t, 'PUT', '/users/me/password', { token: w.alice.token, body: { current_password: PASSWORD, new_password: 'Newpass123' } })
    expect(r.status).toBe(204)
    expect(r.text).toBe('')
    expect((await req(w.t, 'GET', '/users/me', { token: w.alice.token })).status).toBe(401)
    expect((await req(w.t, 'POST', '/auth/login', { body: { username: 'alice', password: PASSWORD } })).status).toBe(401)
    const fresh = await login(w.t, 'alice', 'Newpass123')
    expect((await req(w.t, 'GET', '/users/me', { token: fresh })).status).toBe(200)
  })
})

describe('deactivation', () => {
  test('a deactivated user cannot use a token or log in; an admin still sees them', async () => {
    const w = await world()
    expect((await req(w.t, 'PATCH', `/users/${w.bob.id}`, { token: w.root.token, body: { is_active: false } })).status).toBe(200)
    expect((await req(w.t, 'GET', '/users/me', { token: w.bob.token })).status).toBe(401)
    const l = await req(w.t, 'POST', '/auth/login', { body: { username: 'bob', password: PASSWORD } })
    expect(l.status).toBe(401)
    expect(l.json).toEqual({ detail: 'Incorrect username or password' })
    expect((await req(w.t, 'GET', `/users/${w.bob.id}`, { token: w.alice.token })).status).toBe(404)
    const seen = await req(w.t, 'GET', `/users/${w.bob.id}`, { token: w.root.token })
    expect(seen.json.is_active).toBe(false)
    // Reactivation does not resurrect the old token: its version was bumped.
    await req(w.t, 'PATCH', `/users/${w.bob.id}`, { token: w.root.token, body: { is_active: true } })
    expect((await req(w.t, 'GET', '/users/me', { token: w.bob.token })).status).toBe(401)
    await login(w.t, 'bob')
  })
})

test('signup then use the returned id', async () => {
  const t = await makeApp()
  const u = await signup(t, 'solo')
  const token = await login(t, 'solo@example.com')
  const r = await req(t, 'GET', `/users/${u.id}`, { token })
  expect(r.json.username).toBe('solo')
})
