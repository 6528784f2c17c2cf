// Directory privacy over HTTP: USER_DIRECTORY=restricted (the default) shows
// non-admins only the public part (UserPublic) of everyone but themselves;
// USER_DIRECTORY=open shows full rows of active users; inactive users are for
// admins only in every listing and version.
import { describe, expect, test } from 'bun:test'
import { expectNoSecrets, req, world, type World } from './helpers'

const PUBLIC_KEYS = ['created_at', 'id', 'username']
// Every UserResponse field (the contract's list), whatever features add to it.
const FULL_KEYS = Object.keys((await import('../src/modules/users/model')).UserResponse.properties).sort()
const keys = (o: object) => Object.keys(o).sort()

/** A world with a deactivated admin (ghost) besides root, alice and bob. */
async function withGhost(env: Record<string, string> = {}) {
  const w = await world(env)
  const ghost = await w.t.services.users.create(
    { username: 'ghost', email: 'ghost@example.com', password: 'Secret123', role: 'admin', is_active: false },
    { id: 0, role: 'admin' }
  )
  return { ...w, ghost }
}

/** Every listing a caller can ask for, by name, as arrays of users. */
async function listings(w: World, token: string): Promise<Record<string, any[]>> {
  const get = async (path: string) => {
    const r = await req(w.t, 'GET', path, { token })
    expect(r.status).toBe(200)
    expectNoSecrets(r.text)
    return r.json
  }
  return {
    '/users': await get('/users?limit=100'),
    '/api/v1/users': (await get('/api/v1/users?limit=100')).users,
    '/api/v2/users': (await get('/api/v2/users?limit=100')).users
  }
}

describe('USER_DIRECTORY=restricted (the default)', () => {
  test('a non-admin sees UserPublic for others and the full row for themself, in every listing', async () => {
    const w = await withGhost()
    for (const [path, users] of Object.entries(await listings(w, w.alice.token))) {
      expect({ path, names: users.map((u) => u.username) }).toEqual({ path, names: ['root', 'alice', 'bob'] })
      for (const u of users) {
        const expected = u.id === w.alice.id ? FULL_KEYS : PUBLIC_KEYS
        expect({ path, user: u.username, keys: keys(u) }).toEqual({ path, user: u.username, keys: expected })
      }
      // Nobody else's e-mail address, in any form.
      const text = JSON.stringify(users)
      for (const other of ['root@example.com', 'bob@example.com', 'ghost']) expect(text).not.toContain(other)
    }
  })

  test('GET /users/{id}: UserPublic of another user, full for self; an inactive user is 404', async () => {
    const w = await withGhost()
    const other = await req(w.t, 'GET', `/users/${w.bob.id}`, { token: w.alice.token })
    expect(other.status).toBe(200)
    expect(keys(other.json)).toEqual(PUBLIC_KEYS)
    expect(other.json.username).toBe('bob')
    const self = await req(w.t, 'GET', `/users/${w.alice.id}`, { token: w.alice.token })
    expect(keys(self.json)).toEqual(FULL_KEYS)
    const ghost = await req(w.t, 'GET', `/users/${w.ghost.id}`, { token: w.alice.token })
    expect(ghost.status).toBe(404)
    expect(ghost.json).toEqual({ detail: 'User not found' })
  })

  test('an admin sees full rows, and inactive users only when asking for them', async () => {
    const w = await withGhost()
    for (const [path, users] of Object.entries(await listings(w, w.root.token))) {
      expect({ path, names: users.map((u) => u.username) }).toEqual({ path, names: ['root', 'alice', 'bob'] })
      for (const u of users) expect(keys(u)).toEqual(FULL_KEYS)
    }
    const all = await req(w.t, 'GET', '/api/v2/users?include_inactive=true', { token: w.root.token })
    expect(all.json.users.map((u: any) => u.username)).toEqual(['root', 'alice', 'bob', 'ghost'])
    expect(all.json.includes_inactive).toBe(true)
    const ghost = await req(w.t, 'GET', `/users/${w.ghost.id}`, { token: w.root.token })
    expect(ghost.status).toBe(200)
    expect(ghost.json.is_active).toBe(false)
  })

  test('include_inactive=true from a non-admin is 403; false is fine', async () => {
    const w = await withGhost()
    const r = await req(w.t, 'GET', '/api/v2/users?include_inactive=true', { token: w.alice.token })
    expect(r.status).toBe(403)
    expect(r.json).toEqual({ detail: 'Not enough permissions' })
    expect(r.text).not.toContain('ghost')
    expect((await req(w.t, 'GET', '/api/v2/users?include_inactive=false', { token: w.alice.token })).status).toBe(200)
  })
})

describe('USER_DIRECTORY=open', () => {
  test('every authenticated user sees full rows of active users; inactive ones stay hidden', async () => {
    const w = await withGhost({ USER_DIRECTORY: 'open' })
    for (const [path, users] of Object.entries(await listings(w, w.alice.token))) {
      expect({ path, names: users.map((u) => u.username) }).toEqual({ path, names: ['root', 'alice', 'bob'] })
      for (const u of users) expect(keys(u)).toEqual(FULL_KEYS)
    }
    expect(keys((await req(w.t, 'GET', `/users/${w.bob.id}`, { token: w.alice.token })).json)).toEqual(FULL_KEYS)
    expect((await req(w.t, 'GET', `/users/${w.ghost.id}`, { token: w.alice.token })).status).toBe(404)
    expect((await req(w.t, 'GET', '/api/v2/users?include_inactive=true', { token: w.alice.token })).status).toBe(403)
  })

  test('a bad USER_DIRECTORY value stops the start naming the variable', async () => {
    const { parseConfig } = await import('../src/config')
    expect(() => parseConfig({ USER_DIRECTORY: 'public' })).toThrow('USER_DIRECTORY: must be restricted or open')
  })
})
