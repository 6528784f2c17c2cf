// Invitations over HTTP with a real SMTP server: an admin invites, the mail's
// link creates a verified account with the invited address and role (also with
// signup off), once, for 7 days; list, revoke; every refusal.
import { describe, expect } from 'bun:test'
import { eq } from 'drizzle-orm'
import { hashToken } from '../src/lib/token'
import { admin, expectNoSecrets, login, makeApp, PASSWORD, req, signup, userWithToken, type TestApp } from './helpers'
import { auditRows, INVALID_TOKEN, linkToken, mailTo, PUBLIC_URL, test, withMail } from './lifecycle-helpers'

const invite = (t: TestApp, token: string | undefined, body: unknown) => req(t, 'POST', '/admin/invitations', { token, body })
const accept = (t: TestApp, body: Record<string, unknown>) => req(t, 'POST', '/auth/accept-invite', { body })

async function queuedInviteToken(t: TestApp, to: string): Promise<string> {
  const { emailOutbox } = t.tables
  const rows = await t.db.select().from(emailOutbox).where(eq(emailOutbox.kind, 'invitation')).orderBy(emailOutbox.id)
  const row = rows.reverse().find((r) => r.toAddress === to)
  const m = row && /\/accept-invite\?token=([A-Za-z0-9_-]+)/.exec(row.textBody)
  if (!m) throw new Error(`no invitation queued for ${to}`)
  return m[1]!
}

async function invited(t: TestApp, email = 'carol@example.com', role = 'user') {
  const root = await admin(t)
  const res = await invite(t, root.token, { email, role })
  expect(res.status).toBe(201)
  return { root, id: res.json.id as number, token: await queuedInviteToken(t, email) }
}

describe('POST /admin/invitations', () => {
  test('unauthenticated: 401; a non-admin: 403; nothing is created', async () => {
    const t = await makeApp()
    const alice = await userWithToken(t, 'alice')
    expect((await invite(t, undefined, { email: 'x@example.com', role: 'user' })).status).toBe(401)
    const forbidden = await invite(t, alice.token, { email: 'x@example.com', role: 'user' })
    expect(forbidden).toMatchObject({ status: 403, json: { detail: 'Not enough permissions' } })
    expect((await t.db.select().from(t.tables.invitations))).toHaveLength(0)
  })

  const bad: [string, unknown, string][] = [
    ['no e-mail', { role: 'user' }, 'body.email'],
    ['not an e-mail', { email: 'nope', role: 'user' }, 'body.email'],
    ['unknown role', { email: 'x@example.com', role: 'owner' }, 'body.role']
  ]
  for (const [name, body, field] of bad) {
    test(`${name}: 422 naming ${field}`, async () => {
      const t = await makeApp()
      const root = await admin(t)
      const res = await invite(t, root.token, body)
      expect(res.status).toBe(422)
      expect(res.json.detail.map((d: { field: string }) => d.field)).toContain(field)
      expect((await t.db.select().from(t.tables.invitations))).toHaveLength(0)
    })
  }

  test('a registered address (any case): 400 Email already registered, no mail', async () => {
    const t = await makeApp()
    const root = await admin(t)
    await signup(t, 'alice')
    const before = (await t.db.select().from(t.tables.emailOutbox)).length
    const res = await invite(t, root.token, { email: 'ALICE@example.com', role: 'user' })
    expect(res).toMatchObject({ status: 400, json: { detail: 'Email already registered' } })
    expect((await t.db.select().from(t.tables.emailOutbox)).length).toBe(before)
  })

  test('201 with exactly the contract fields; the token is stored only as its hash, valid 7 days', async () => {
    const t = await makeApp({ PUBLIC_URL })
    const root = await admin(t)
    const res = await invite(t, root.token, { email: 'Carol@Example.com', role: 'admin' })
    expect(res.status).toBe(201)
    expect(Object.keys(res.json).sort()).toEqual(['created_at', 'email', 'expires_at', 'id', 'role'])
    expect(res.json).toMatchObject({ email: 'carol@example.com', role: 'admin' })
    expect(Date.parse(res.json.expires_at) - Date.parse(res.json.created_at)).toBe(7 * 24 * 3_600_000)
    const token = await queuedInviteToken(t, 'carol@example.com')
    const row = (await t.db.select().from(t.tables.invitations))[0]!
    expect(row.tokenHash).toBe(hashToken(token))
    expect(JSON.stringify(row)).not.toContain(token)
    expectNoSecrets(res.text, [token])
  })
})

describe('GET and DELETE /admin/invitations', () => {
  test('401, 403; lists pending only, oldest first; a new invitation to the same address replaces the old', async () => {
    const t = await makeApp({ PUBLIC_URL })
    const root = await admin(t)
    const alice = await userWithToken(t, 'alice')
    expect((await req(t, 'GET', '/admin/invitations')).status).toBe(401)
    expect((await req(t, 'GET', '/admin/invitations', { token: alice.token })).status).toBe(403)
    const a = (await invite(t, root.token, { email: 'a@example.com', role: 'user' })).json
    const firstB = await invite(t, root.token, { email: 'b@example.com', role: 'user' })
    const oldB = await queuedInviteToken(t, 'b@example.com')
    const b = (await invite(t, root.token, { email: 'b@example.com', role: 'admin' })).json
    await invite(t, root.token, { email: 'c@example.com', role: 'user' })
    // c expired, by its row.
    await t.db.update(t.tables.invitations).set({ expiresAt: Date.now() - 1 }).where(eq(t.tables.invitations.email, 'c@example.com'))
    const list = await req(t, 'GET', '/admin/invitations', { token: root.token })
    expect(list.status).toBe(200)
    expect(list.json.map((i: { id: number }) => i.id)).toEqual([a.id, b.id])
    expect(list.json[1]).toMatchObject({ email: 'b@example.com', role: 'admin' })
    expect(firstB.json.id).not.toBe(b.id)
    expect((await accept(t, { token: oldB, username: 'bob', password: PASSWORD })).json).toEqual(INVALID_TOKEN)
    const revoked = (await auditRows(t)).filter((e) => e.type === 'invitation.revoked').map((e) => JSON.parse(e.details))
    expect(revoked).toEqual([{ invitation_id: firstB.json.id, email: 'b@example.com', reason: 'superseded' }])
  })

  test('DELETE: 401, 403, 404 for unknown, 422 for a bad id, 204 revokes (the link dies), then 404', async () => {
    const t = await makeApp({ PUBLIC_URL })
    const { root, id, token } = await invited(t)
    const alice = await userWithToken(t, 'alice')
    expect((await req(t, 'DELETE', `/admin/invitations/${id}`)).status).toBe(401)
    expect((await req(t, 'DELETE', `/admin/invitations/${id}`, { token: alice.token })).status).toBe(403)
    expect(await req(t, 'DELETE', '/admin/invitations/999', { token: root.token })).toMatchObject({ status: 404, json: { detail: 'Invitation not found' } })
    expect((await req(t, 'DELETE', '/admin/invitations/abc', { token: root.token })).status).toBe(422)
    const del = await req(t, 'DELETE', `/admin/invitations/${id}`, { token: root.token })
    expect(del.status).toBe(204)
    expect(del.text).toBe('')
    expect((await req(t, 'DELETE', `/admin/invitations/${id}`, { token: root.token })).status).toBe(404)
    expect((await req(t, 'GET', '/admin/invitations', { token: root.token })).json).toEqual([])
    expect(await accept(t, { token, username: 'carol', password: PASSWORD })).toMatchObject({ status: 400, json: INVALID_TOKEN })
    const ev = (await auditRows(t)).find((e) => e.type === 'invitation.revoked')!
    expect(ev.actorId).toBe(root.id)
    expect(JSON.parse(ev.details)).toEqual({ invitation_id: id, email: 'carol@example.com', reason: 'admin' })
  })
})

describe('POST /auth/accept-invite', () => {
  test('end to end with signup off: the mail link creates a verified account with the invited role, once', async () => {
    await withMail({ ALLOW_SIGNUP: 'false' }, async (t, smtp) => {
      const root = await admin(t)
      expect((await invite(t, root.token, { email: 'carol@example.com', role: 'admin' })).status).toBe(201)
      const mail = await mailTo(smtp, 'carol@example.com')
      expect(mail.subject).toBe("You're invited to Roster")
      const token = linkToken(mail, 'accept-invite')

      const res = await accept(t, { token, username: 'carol', password: PASSWORD, age: 33 })
      expect(res.status).toBe(201)
      expect(res.json).toMatchObject({ username: 'carol', email: 'carol@example.com', role: 'admin', email_verified: true, is_active: true, age: 33 })
      expectNoSecrets(res.text, [token])
      await login(t, 'carol')
      // No longer pending; the link is spent.
      expect((await req(t, 'GET', '/admin/invitations', { token: root.token })).json).toEqual([])
      expect(await accept(t, { token, username: 'carol2', password: PASSWORD })).toMatchObject({ status: 400, json: INVALID_TOKEN })
      // The welcome mail of an invited (verified) account holds no link.
      const welcome = await mailTo(smtp, 'carol@example.com', 'Welcome to Roster')
      expect(welcome.text).toContain('Welcome carol!')
      expect(welcome.text).not.toContain('token=')

      const accepted = (await auditRows(t)).find((e) => e.type === 'invitation.accepted')!
      expect(accepted).toMatchObject({ actorId: res.json.id, targetId: res.json.id })
      expect(JSON.parse(accepted.details)).toMatchObject({ role: 'admin', invited_by: root.id })
      const created = (await auditRows(t)).filter((e) => e.type === 'user.created').map((e) => JSON.parse(e.details))
      expect(created[created.length - 1]).toMatchObject({ username: 'carol', source: 'invitation', role: 'admin', email_verified: true })
    })
  })

  const refusals: [string, (t: TestApp, token: string) => Promise<string>][] = [
    ['unknown token', async () => 'y'.repeat(43)],
    ['expired token (expiry moved into the past in the database)', async (t, token) => {
      await t.db.update(t.tables.invitations).set({ expiresAt: Date.now() - 1 })
      return token
    }],
    ['spent token', async (t, token) => {
      await t.db.update(t.tables.invitations).set({ acceptedAt: Date.now() })
      return token
    }]
  ]
  for (const [name, make] of refusals) {
    test(`${name}: the same 400, no user`, async () => {
      const t = await makeApp({ PUBLIC_URL })
      const { token } = await invited(t)
      const res = await accept(t, { token: await make(t, token), username: 'carol', password: PASSWORD })
      expect(res).toMatchObject({ status: 400, json: INVALID_TOKEN })
      expect((await t.db.select().from(t.tables.users).where(eq(t.tables.users.username, 'carol')))[0]).toBeUndefined()
    })
  }

  test('a taken username: 400, and the invitation stays usable', async () => {
    const t = await makeApp({ PUBLIC_URL })
    const { token } = await invited(t)
    await signup(t, 'alice')
    expect(await accept(t, { token, username: 'Alice', password: PASSWORD })).toMatchObject({ status: 400, json: { detail: 'Username already exists' } })
    expect((await accept(t, { token, username: 'carol', password: PASSWORD })).status).toBe(201)
  })

  test('the address registered meanwhile: 400 Email already registered', async () => {
    const t = await makeApp({ PUBLIC_URL })
    const { token } = await invited(t)
    await signup(t, 'carol')
    expect(await accept(t, { token, username: 'carol2', password: PASSWORD })).toMatchObject({ status: 400, json: { detail: 'Email already registered' } })
  })

  test('422 as signup: every bad field reported, the password never echoed', async () => {
    const t = await makeApp({ PUBLIC_URL })
    const { token } = await invited(t)
    const res = await accept(t, { token, username: 'a b', password: 'Qz9', age: 200 })
    expect(res.status).toBe(422)
    expect(res.json.detail.map((d: { field: string }) => d.field).sort()).toEqual(['body.age', 'body.password', 'body.username'])
    expect(res.text).not.toContain('Qz9')
    const noToken = await accept(t, { username: 'carol', password: PASSWORD })
    expect(noToken.json.detail[0].field).toBe('body.token')
    // A name mixing Latin with Cyrillic, refused as at signup; the invitation stays usable.
    const mixed = await accept(t, { token, username: 'p\u0430ypal', password: PASSWORD })
    expect(mixed.status).toBe(422)
    expect(mixed.json.detail[0].field).toBe('body.username')
    expect((await accept(t, { token, username: 'carol', password: PASSWORD })).status).toBe(201)
  })

  test('20 parallel accepts of one invitation: exactly one account', async () => {
    const t = await makeApp({ PUBLIC_URL })
    const { token } = await invited(t)
    const results = await Promise.all(Array.from({ length: 20 }, (_, i) => accept(t, { token, username: `carol${i}`, password: PASSWORD })))
    expect(results.filter((r) => r.status === 201)).toHaveLength(1)
    expect(results.filter((r) => r.status === 400).every((r) => r.json.detail === INVALID_TOKEN.detail)).toBe(true)
    expect((await t.db.select().from(t.tables.users).where(eq(t.tables.users.email, 'carol@example.com')))).toHaveLength(1)
    expect((await auditRows(t)).filter((e) => e.type === 'invitation.accepted')).toHaveLength(1)
  })
})
