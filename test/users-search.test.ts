// GET /api/v2/users with filters: a username (and, for admins, e-mail) prefix, role
// and status; keyset paging keeps working under them. The console's user search.
import { describe, expect, test } from 'bun:test'
import { admin, BACKEND, makeApp, req, scenarios, signup, userWithToken, world, type World } from './helpers'

const names = (json: any) => (json.users as { username: string }[]).map((u) => u.username)

interface SearchWorld extends World {
  carol: { id: number }
}

async function searchWorld(): Promise<SearchWorld> {
  const w = await world()
  // carol's address does not start like her name; dave is deactivated.
  const carol = await signup(w.t, 'carol', { email: 'Zed.Carol@Example.org' })
  const dave = await signup(w.t, 'dave', { email: 'dave@example.org' })
  await req(w.t, 'PATCH', `/users/${dave.id}`, { token: w.root.token, body: { is_active: false } })
  return { ...w, carol }
}

describe('GET /api/v2/users filters', () => {
  scenarios<SearchWorld>(
    [
      { name: 'unauthenticated', method: 'GET', url: () => '/api/v2/users?q=a', status: 401 },
      {
        name: 'an admin finds a user by e-mail prefix, case-insensitively',
        method: 'GET',
        url: () => '/api/v2/users?q=ZED.c',
        token: (w) => w.root.token,
        status: 200,
        expect: (json, w) => {
          expect(names(json)).toEqual(['carol'])
          expect(json.users[0].id).toBe(w.carol.id)
        }
      },
      {
        name: 'a username prefix matches for anyone; an e-mail prefix only for admins',
        method: 'GET',
        url: () => '/api/v2/users?q=zed',
        token: (w) => w.alice.token,
        status: 200,
        expect: (json) => expect(names(json)).toEqual([])
      },
      {
        name: 'a non-admin searching by username',
        method: 'GET',
        url: () => '/api/v2/users?q=CA',
        token: (w) => w.alice.token,
        status: 200,
        expect: (json) => expect(names(json)).toEqual(['carol'])
      },
      {
        name: 'role filter',
        method: 'GET',
        url: () => '/api/v2/users?role=admin',
        token: (w) => w.root.token,
        status: 200,
        expect: (json) => expect(names(json)).toEqual(['root'])
      },
      {
        name: 'status=inactive lists the deactivated only',
        method: 'GET',
        url: () => '/api/v2/users?status=inactive',
        token: (w) => w.root.token,
        status: 200,
        expect: (json) => {
          expect(names(json)).toEqual(['dave'])
          expect(json.includes_inactive).toBe(true)
        }
      },
      {
        name: 'a prefix under include_inactive finds the deactivated too',
        method: 'GET',
        url: () => '/api/v2/users?q=dave&include_inactive=true',
        token: (w) => w.root.token,
        status: 200,
        expect: (json) => expect(names(json)).toEqual(['dave'])
      },
      {
        name: 'without include_inactive a prefix finds active users only',
        method: 'GET',
        url: () => '/api/v2/users?q=dave',
        token: (w) => w.root.token,
        status: 200,
        expect: (json) => expect(names(json)).toEqual([])
      },
      {
        name: 'email_verified=false: the signups, whose addresses are not confirmed yet',
        method: 'GET',
        url: () => '/api/v2/users?email_verified=false',
        token: (w) => w.root.token,
        status: 200,
        expect: (json) => expect(names(json)).toEqual(['alice', 'bob', 'carol'])
      },
      { name: 'email_verified filter is for admins', method: 'GET', url: () => '/api/v2/users?email_verified=true', token: (w) => w.alice.token, status: 403 },
      { name: 'role filter is for admins', method: 'GET', url: () => '/api/v2/users?role=admin', token: (w) => w.alice.token, status: 403 },
      { name: 'status filter is for admins', method: 'GET', url: () => '/api/v2/users?status=active', token: (w) => w.bob.token, status: 403 },
      {
        name: 'an unknown role',
        method: 'GET',
        url: () => '/api/v2/users?role=root',
        token: (w) => w.root.token,
        status: 422,
        expect: (json) => expect(json.detail[0].field).toBe('query.role')
      },
      {
        name: 'a prefix over 254 characters',
        method: 'GET',
        url: () => `/api/v2/users?q=${'a'.repeat(255)}`,
        token: (w) => w.root.token,
        status: 422,
        expect: (json) => expect(json.detail[0].field).toBe('query.q')
      },
      {
        name: 'LIKE wildcards are plain characters',
        method: 'GET',
        url: () => '/api/v2/users?q=%25',
        token: (w) => w.root.token,
        status: 200,
        expect: (json) => expect(names(json)).toEqual([])
      }
    ],
    searchWorld
  )

  test('keyset pages under a filter: every match once, in id order', async () => {
    const t = await makeApp()
    const root = await admin(t)
    for (const n of ['sam1', 'bob', 'sam2', 'sam3', 'ali', 'sam4', 'sam5']) await signup(t, n)
    const seen: string[] = []
    let url = '/api/v2/users?q=SAM&limit=2'
    for (let i = 0; i < 10; i++) {
      const res = await req(t, 'GET', url, { token: root.token })
      expect(res.status).toBe(200)
      seen.push(...names(res.json))
      if (!res.json.next_cursor) break
      url = `/api/v2/users?q=SAM&limit=2&after=${res.json.next_cursor}`
    }
    expect(seen).toEqual(['sam1', 'sam2', 'sam3', 'sam4', 'sam5'])
  })

  // SQLite's plans; PostgreSQL chooses by its statistics.
  test.skipIf(BACKEND === 'pg')('a prefix search reads the prefix range of an index, never every user', async () => {
    const t = await makeApp()
    const root = await admin(t)
    await userWithToken(t, 'alice')
    const plans: string[][] = []
    const client = t.data.sqlite!
    const original = client.query.bind(client)
    // Every statement the search prepares is explained before it runs.
    client.query = ((sql: string) => {
      if (sql.includes('username_key >=')) plans.push(original(`EXPLAIN QUERY PLAN ${sql}`).all(...Array((sql.match(/\?/g) ?? []).length).fill(1)).map((r: any) => r.detail as string))
      return original(sql)
    }) as typeof client.query
    for (const q of ['?q=al', '?q=al&role=user', '?q=al&status=active', '?q=al&include_inactive=true']) {
      expect((await req(t, 'GET', `/api/v2/users${q}`, { token: root.token })).status).toBe(200)
    }
    expect(plans.length).toBe(3) // status=active is the default: the same statement as q alone
    // Each one searches a name or address index by range (not the id or status index).
    for (const plan of plans) expect(plan.join('\n')).toMatch(/USING (COVERING )?INDEX \w+ \((username_key|email_key)>\?/)
  })
})
