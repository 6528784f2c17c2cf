// /api/v1/users and /api/v2/users, including keyset pagination.
import { describe, expect, test } from 'bun:test'
import { admin, makeApp, req, signup, userWithToken } from './helpers'

async function world(n: number) {
  const t = await makeApp()
  const root = await admin(t)
  for (let i = 0; i < n; i++) await signup(t, `user${i}`)
  return { t, root }
}

describe('GET /api/v1/users', () => {
  test('unauthenticated', async () => {
    const { t } = await world(0)
    const r = await req(t, 'GET', '/api/v1/users')
    expect(r.status).toBe(401)
    expect(r.headers.get('www-authenticate')).toBe('Bearer')
  })

  test('version envelope with active users', async () => {
    const { t, root } = await world(2)
    const r = await req(t, 'GET', '/api/v1/users?limit=2', { token: root.token })
    expect(r.status).toBe(200)
    expect(Object.keys(r.json).sort()).toEqual(['users', 'version'])
    expect(r.json.version).toBe('1.0')
    expect(r.json.users.map((u: any) => u.username)).toEqual(['root', 'user0'])
  })

  test('invalid paging', async () => {
    const { t, root } = await world(0)
    const r = await req(t, 'GET', '/api/v1/users?limit=0&skip=x', { token: root.token })
    expect(r.status).toBe(422)
    expect(r.json.detail.map((d: any) => d.field).sort()).toEqual(['query.limit', 'query.skip'])
  })
})

describe('GET /api/v2/users', () => {
  test('unauthenticated', async () => {
    const { t } = await world(0)
    expect((await req(t, 'GET', '/api/v2/users')).status).toBe(401)
  })

  test('envelope, and include_inactive lists deactivated users', async () => {
    const { t, root } = await world(2)
    const u1 = (await t.services.users.findForLogin('user1'))!
    await req(t, 'PATCH', `/users/${u1.id}`, { token: root.token, body: { is_active: false } })
    const active = await req(t, 'GET', '/api/v2/users', { token: root.token })
    expect(active.json).toMatchObject({ version: '2.0', includes_inactive: false, next_cursor: null })
    expect(active.json.users.map((u: any) => u.username)).toEqual(['root', 'user0'])
    const all = await req(t, 'GET', '/api/v2/users?include_inactive=true', { token: root.token })
    expect(all.json.includes_inactive).toBe(true)
    expect(all.json.users.map((u: any) => u.username)).toEqual(['root', 'user0', 'user1'])
  })

  test('following next_cursor visits every user exactly once, in order', async () => {
    const { t } = await world(6)
    const me = await userWithToken(t, 'walker')
    const seen: string[] = []
    let url = '/api/v2/users?limit=3'
    for (let i = 0; i < 10; i++) {
      const r = await req(t, 'GET', url, { token: me.token })
      expect(r.status).toBe(200)
      seen.push(...r.json.users.map((u: any) => u.username))
      if (r.json.next_cursor === null) break
      expect(r.json.users).toHaveLength(3)
      url = `/api/v2/users?limit=3&after=${encodeURIComponent(r.json.next_cursor)}`
    }
    expect(seen).toEqual(['root', 'user0', 'user1', 'user2', 'user3', 'user4', 'user5', 'walker'])
  })

  test('a page that ends exactly at the last user has no next cursor', async () => {
    const { t, root } = await world(1)
    const r = await req(t, 'GET', '/api/v2/users?limit=2', { token: root.token })
    expect(r.json.users).toHaveLength(2)
    expect(r.json.next_cursor).toBeNull()
  })

  const invalid: [string, string][] = [
    ['after=garbage!', 'query.after'],
    ['after=dTox&skip=1', 'query.skip'],
    ['include_inactive=perhaps', 'query.include_inactive'],
    ['limit=101', 'query.limit'],
    ['skip=10001', 'query.skip']
  ]
  for (const [qs, field] of invalid) {
    test(`invalid: ${qs}`, async () => {
      const { t, root } = await world(0)
      const r = await req(t, 'GET', `/api/v2/users?${qs}`, { token: root.token })
      expect(r.status).toBe(422)
      expect(r.json.detail[0].field).toBe(field)
    })
  }
})
