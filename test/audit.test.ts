// The audit log over HTTP: every contract event type recorded by the flows that
// cause it, in their transaction, with actor, target, IP and user agent; no
// secret in any event; admin query with filters and keyset paging; each user's
// own trail; the hash chain checked by `roster audit verify` after rows are
// edited or deleted with SQL; concurrent appends from two processes; retention.
import { describe, expect } from 'bun:test'
import { join } from 'node:path'
import { eq } from 'drizzle-orm'
import { DB_FILE } from '../src/db/client'
import { AUDIT_TYPES, canonical, chainHash, createAuditService } from '../src/modules/audit/service'
import { startAuditRetention } from '../src/modules/audit/retention'
import { hashToken } from '../src/lib/token'
import { createLogger } from '../src/lib/log'
import { admin, BACKEND, databaseUrlOf, expectNoSecrets, login, makeApp, PASSWORD, req, signup, userWithToken, type TestApp } from './helpers'
import { auditRows, auditTypes, PUBLIC_URL, test } from './lifecycle-helpers'

const root = join(import.meta.dir, '..')
const NEW_PASSWORD = 'Another9Pass'
const RESET_PASSWORD = 'Reset9Password'
const UA = 'audit-test/1.0'

/** Runs `roster audit verify` on the app's data folder, as a separate process. */
async function verifyCli(t: TestApp): Promise<{ code: number; stdout: string; stderr: string }> {
  const url = databaseUrlOf(t.data)
  const p = Bun.spawn([process.execPath, join(root, 'src/index.ts'), 'audit', 'verify'], {
    cwd: t.dataDir,
    env: { PATH: process.env.PATH ?? '/usr/bin:/bin', DATA_DIR: t.dataDir, LOG_LEVEL: 'silent', ...(url ? { DATABASE_URL: url } : {}) },
    stdout: 'pipe',
    stderr: 'pipe'
  })
  const [stdout, stderr, code] = await Promise.all([new Response(p.stdout).text(), new Response(p.stderr).text(), p.exited])
  return { code, stdout, stderr }
}

const from = (ip: string) => ({ 'x-forwarded-for': ip, 'user-agent': UA })

/**
 * Drives every flow that records an event (but MFA and personal tokens, which
 * their own features record) and returns what was said on the wire.
 */
async function everything() {
  const t = await makeApp({ PUBLIC_URL, TRUST_PROXY: 'true' })
  const secrets: string[] = [PASSWORD, NEW_PASSWORD, RESET_PASSWORD]
  const rootU = await admin(t)
  const alice = await signup(t, 'alice')
  const loginAs = async (username: string, password: string, ip = '203.0.113.7') => {
    const r = await req(t, 'POST', '/auth/login', { body: { username, password }, headers: from(ip) })
    if (r.json?.access_token) secrets.push(r.json.access_token, r.json.refresh_token)
    return r
  }
  const s1 = (await loginAs('alice', PASSWORD)).json
  await loginAs('alice', 'Wrong1234')
  await loginAs('nobody', 'Guess1234')
  // Five failures for one account from one address, then throttled (twice, one event).
  for (let i = 0; i < 5; i++) await loginAs('bob', 'Wrong1234', '198.51.100.9')
  await loginAs('bob', 'Wrong1234', '198.51.100.9')
  await loginAs('bob', 'Wrong1234', '198.51.100.9')

  // Refresh, then the spent token again after the grace window.
  const r1 = (await req(t, 'POST', '/auth/refresh', { body: { refresh_token: s1.refresh_token }, headers: from('203.0.113.7') })).json
  secrets.push(r1.access_token, r1.refresh_token)
  await t.sql('UPDATE sessions SET rotated_at = rotated_at - 10000')
  await req(t, 'POST', '/auth/refresh', { body: { refresh_token: s1.refresh_token }, headers: from('192.0.2.66') })

  const s2 = (await loginAs('alice', PASSWORD)).json
  const s3 = (await loginAs('alice', PASSWORD)).json
  const sessions = (await req(t, 'GET', '/auth/sessions', { token: s2.access_token })).json as { id: string; current: boolean }[]
  const other = sessions.find((s) => !s.current)!
  await req(t, 'DELETE', `/auth/sessions/${other.id}`, { token: s2.access_token, headers: from('203.0.113.7') })
  await loginAs('alice', PASSWORD)
  await req(t, 'DELETE', '/auth/sessions', { token: s2.access_token, headers: from('203.0.113.7') })
  await req(t, 'POST', '/auth/logout', { body: { refresh_token: s2.refresh_token }, headers: from('203.0.113.7') })
  void s3

  const a = (await loginAs('alice', PASSWORD)).json
  await req(t, 'PUT', '/users/me/password', { token: a.access_token, body: { current_password: PASSWORD, new_password: NEW_PASSWORD }, headers: from('203.0.113.7') })

  // An admin's changes to alice.
  const rootHdr = from('10.0.0.1')
  await req(t, 'PATCH', `/users/${alice.id}`, { token: rootU.token, body: { role: 'admin', age: 40 }, headers: rootHdr })
  await req(t, 'PATCH', `/users/${alice.id}`, { token: rootU.token, body: { is_active: false }, headers: rootHdr })
  await req(t, 'PATCH', `/users/${alice.id}`, { token: rootU.token, body: { is_active: true, password: PASSWORD }, headers: rootHdr })

  // Reset by mail.
  await req(t, 'POST', '/auth/password-reset', { body: { email: 'alice@example.com' }, headers: from('203.0.113.7') })
  await t.services.resets.settled()
  const { emailOutbox } = t.tables
  const resetRow = (await t.db.select().from(emailOutbox).where(eq(emailOutbox.kind, 'password_reset')))[0]!
  const resetToken = /token=([A-Za-z0-9_-]+)/.exec(resetRow.textBody)![1]!
  secrets.push(resetToken, hashToken(resetToken))
  await req(t, 'POST', '/auth/password-reset/confirm', { body: { token: resetToken, new_password: RESET_PASSWORD }, headers: from('203.0.113.7') })

  // Verification.
  const welcome = (await t.db.select().from(emailOutbox).where(eq(emailOutbox.toAddress, 'alice@example.com')))[0]!
  const verifyToken = /verify-email\?token=([A-Za-z0-9_-]+)/.exec(welcome.textBody)![1]!
  secrets.push(verifyToken, hashToken(verifyToken))
  await req(t, 'POST', '/auth/verify-email', { body: { token: verifyToken }, headers: from('203.0.113.7') })

  // Invitations: one accepted, one revoked.
  const inv = (await req(t, 'POST', '/admin/invitations', { token: rootU.token, body: { email: 'carol@example.com', role: 'user' }, headers: rootHdr })).json
  const inv2 = (await req(t, 'POST', '/admin/invitations', { token: rootU.token, body: { email: 'dave@example.com', role: 'user' }, headers: rootHdr })).json
  const invRow = (await t.db.select().from(emailOutbox).where(eq(emailOutbox.toAddress, 'carol@example.com')))[0]!
  const inviteToken = /accept-invite\?token=([A-Za-z0-9_-]+)/.exec(invRow.textBody)![1]!
  secrets.push(inviteToken, hashToken(inviteToken))
  const carol = (await req(t, 'POST', '/auth/accept-invite', { body: { token: inviteToken, username: 'carol', password: PASSWORD }, headers: from('203.0.113.20') })).json
  await req(t, 'DELETE', `/admin/invitations/${inv2.id}`, { token: rootU.token, headers: rootHdr })
  void inv

  // Deletion.
  await req(t, 'DELETE', `/users/${carol.id}`, { token: rootU.token, headers: rootHdr })
  return { t, rootU, alice, carol, secrets }
}

describe('events', () => {
  test('every flow records its events, with actor, target, IP and user agent, and nothing secret', async () => {
    const { t, rootU, alice, carol, secrets } = await everything()
    const rows = (await auditRows(t))
    const types = new Set(rows.map((r) => r.type))
    const own = ['mfa.enabled', 'mfa.disabled', 'mfa.failed', 'token.created', 'token.revoked']
    for (const type of AUDIT_TYPES.filter((x) => !own.includes(x))) expect({ type, present: types.has(type) }).toEqual({ type, present: true })

    // The first event of a type (about `target`, when given).
    const one = (type: string, target?: number) => {
      const found = rows.filter((r) => r.type === type && (target === undefined || r.targetId === target))
      expect(found.length).toBeGreaterThan(0)
      return { ...found[0]!, details: JSON.parse(found[0]!.details) }
    }
    expect(one('login.succeeded', alice.id)).toMatchObject({ actorId: alice.id, targetId: alice.id, ip: '203.0.113.7', userAgent: UA })
    expect(one('login.succeeded', alice.id).details.session_id).toMatch(/^[A-Za-z0-9_-]+$/)
    const failed = rows.filter((r) => r.type === 'login.failed').map((r) => ({ target: r.targetId, ...JSON.parse(r.details) }))
    expect(failed.slice(0, 2)).toEqual([
      { target: alice.id, reason: 'bad_password' },
      { target: null, reason: 'unknown_user' }
    ])
    // Nothing typed at login is kept: not the name of an unknown account, not a password.
    expect(JSON.stringify(rows)).not.toContain('nobody')
    expect(rows.filter((r) => r.type === 'login.throttled')).toHaveLength(1)
    expect(one('login.throttled')).toMatchObject({ ip: '198.51.100.9', targetId: null })
    expect(one('refresh.reuse_detected')).toMatchObject({ actorId: null, targetId: alice.id, ip: '192.0.2.66' })
    expect(one('password.changed')).toMatchObject({ actorId: alice.id, targetId: alice.id })
    expect(one('user.role_changed')).toMatchObject({ actorId: rootU.id, targetId: alice.id, ip: '10.0.0.1', details: { from: 'user', to: 'admin' } })
    const updates = rows.filter((r) => r.type === 'user.updated').map((r) => JSON.parse(r.details).fields)
    expect(updates).toEqual([['age', 'role'], ['is_active'], ['password', 'is_active']])
    expect(one('user.deactivated')).toMatchObject({ actorId: rootU.id, targetId: alice.id })
    expect(one('user.activated')).toMatchObject({ actorId: rootU.id, targetId: alice.id })
    // The admin's password change for alice is recorded as one too.
    expect(rows.filter((r) => r.type === 'password.changed')).toHaveLength(2)
    expect(one('password.reset_requested')).toMatchObject({ actorId: null, targetId: alice.id, details: { mailed: true } })
    expect(one('password.reset_completed')).toMatchObject({ targetId: alice.id, ip: '203.0.113.7' })
    expect(one('email.verified')).toMatchObject({ targetId: alice.id })
    expect(one('invitation.created')).toMatchObject({ actorId: rootU.id, details: { email: 'carol@example.com', role: 'user' } })
    expect(one('invitation.accepted')).toMatchObject({ actorId: carol.id, targetId: carol.id, ip: '203.0.113.20' })
    expect(one('user.deleted')).toMatchObject({ actorId: rootU.id, targetId: carol.id, details: { username: 'carol' } })
    expect(one('logout')).toMatchObject({ actorId: alice.id, targetId: alice.id })
    expect(rows.filter((r) => r.type === 'session.revoked').map((r) => JSON.parse(r.details).count)).toEqual([1, 1])

    // No password, token, hash or code in any event, nor in any log line.
    const dump = JSON.stringify(rows.map(({ hash: _h, prevHash: _p, ...r }) => r))
    expectNoSecrets(dump, secrets)
    for (const line of t.logs) expectNoSecrets(line, secrets)
    // Times are RFC 3339 and ids have no gaps.
    expect(rows.map((r) => r.id)).toEqual(rows.map((_, i) => i + 1))
    for (const r of rows) expect(new Date(r.at).toISOString()).toBe(r.at)
  }, 60_000)

  test('a refused change leaves no event; the event commits with its change', async () => {
    const t = await makeApp()
    const rootU = await admin(t)
    await signup(t, 'alice')
    const before = (await auditTypes(t))
    expect((await req(t, 'POST', '/users', { body: { username: 'alice', email: 'x@example.com', password: PASSWORD } })).status).toBe(400)
    // The last admin cannot demote themself.
    expect((await req(t, 'PATCH', `/users/${rootU.id}`, { token: rootU.token, body: { role: 'user' } })).status).toBe(400)
    expect((await req(t, 'DELETE', `/users/${rootU.id}`, { token: rootU.token })).status).toBe(400)
    expect((await req(t, 'PUT', '/users/me/password', { token: rootU.token, body: { current_password: 'Wrong1234', new_password: NEW_PASSWORD } })).status).toBe(400)
    expect((await auditTypes(t))).toEqual(before)
    // A failed audit append rolls the change back with it.
    if (BACKEND === 'pg') {
      await t.sql("CREATE FUNCTION refuse() RETURNS trigger AS $$ BEGIN RAISE EXCEPTION 'no'; END $$ LANGUAGE plpgsql")
      await t.sql('CREATE TRIGGER refuse BEFORE INSERT ON audit_events FOR EACH ROW EXECUTE FUNCTION refuse()')
    } else {
      await t.sql("CREATE TRIGGER refuse BEFORE INSERT ON audit_events BEGIN SELECT RAISE(ABORT, 'no'); END")
    }
    expect((await req(t, 'POST', '/users', { body: { username: 'bob', email: 'bob@example.com', password: PASSWORD } })).status).toBe(500)
    await t.sql(BACKEND === 'pg' ? 'DROP TRIGGER refuse ON audit_events' : 'DROP TRIGGER refuse')
    expect(await t.sql("SELECT id FROM users WHERE username = 'bob'")).toEqual([])
    expect(await t.sql("SELECT id FROM email_outbox WHERE to_address = 'bob@example.com'")).toEqual([])
  })

  test('a reset request for an unknown address records nothing; a capped one is recorded as not mailed', async () => {
    const t = await makeApp()
    const u = await signup(t, 'alice')
    await req(t, 'POST', '/auth/password-reset', { body: { email: 'nobody@example.com' } })
    await t.services.resets.settled()
    expect((await auditTypes(t)).filter((x) => x === 'password.reset_requested')).toEqual([])
    for (let i = 0; i < 4; i++) await req(t, 'POST', '/auth/password-reset', { body: { email: 'alice@example.com' } })
    await t.services.resets.settled()
    const mailed = (await auditRows(t)).filter((r) => r.type === 'password.reset_requested').map((r) => [r.targetId, JSON.parse(r.details).mailed])
    expect(mailed).toEqual([[u.id, true], [u.id, true], [u.id, true], [u.id, false]])
    expect(await t.db.select().from(t.tables.passwordResetTokens)).toHaveLength(3)
  })
})

describe('GET /admin/audit', () => {
  test('401, 403, and 422 for each bad parameter at once', async () => {
    const t = await makeApp()
    const rootU = await admin(t)
    const alice = await userWithToken(t, 'alice')
    expect((await req(t, 'GET', '/admin/audit')).status).toBe(401)
    expect(await req(t, 'GET', '/admin/audit', { token: alice.token })).toMatchObject({ status: 403, json: { detail: 'Not enough permissions' } })
    const bad = await req(t, 'GET', `/admin/audit?type=${'x'.repeat(65)}&actor_id=x&since=yesterday&after=%21%21&limit=0`, { token: rootU.token })
    expect(bad.status).toBe(422)
    expect(bad.json.detail.map((d: { field: string }) => d.field).sort()).toEqual(['query.actor_id', 'query.after', 'query.limit', 'query.since', 'query.type'])
    // An unknown type is no error: it matches nothing.
    expect((await req(t, 'GET', '/admin/audit?type=nope', { token: rootU.token })).json).toEqual({ events: [], next_cursor: null })
  })

  test('newest first, keyset pages that cover every event once, and filters', async () => {
    const t = await makeApp()
    const rootU = await admin(t)
    const alice = await signup(t, 'alice')
    await login(t, 'alice')
    await req(t, 'POST', '/auth/login', { body: { username: 'alice', password: 'Wrong1234' } })
    await req(t, 'PATCH', `/users/${alice.id}`, { token: rootU.token, body: { age: 5 } })
    const all = (await auditRows(t))
    const seen: number[] = []
    let url = '/admin/audit?limit=2'
    for (;;) {
      const page = await req(t, 'GET', url, { token: rootU.token })
      expect(page.status).toBe(200)
      seen.push(...page.json.events.map((e: { id: number }) => e.id))
      if (!page.json.next_cursor) break
      url = `/admin/audit?limit=2&after=${page.json.next_cursor}`
    }
    expect(seen).toEqual(all.map((r) => r.id).reverse())

    const first = (await req(t, 'GET', '/admin/audit?limit=1', { token: rootU.token })).json.events[0]
    expect(Object.keys(first).sort()).toEqual(['actor_id', 'at', 'details', 'id', 'ip', 'target_id', 'type', 'user_agent'])
    expect(first).toMatchObject({ type: 'user.updated', actor_id: rootU.id, target_id: alice.id, details: { fields: ['age'] } })

    const ids = async (q: string) => (await req(t, 'GET', `/admin/audit?${q}`, { token: rootU.token })).json.events.map((e: { type: string }) => e.type)
    expect(await ids('type=login.failed')).toEqual(['login.failed'])
    expect(await ids(`actor_id=${rootU.id}`)).toEqual(['user.updated', 'login.succeeded'])
    expect(await ids(`target_id=${alice.id}&type=user.created`)).toEqual(['user.created'])
    const future = new Date(Date.now() + 60_000).toISOString()
    expect(await ids(`since=${encodeURIComponent(future)}`)).toEqual([])
    expect((await ids(`until=${encodeURIComponent(future)}`)).length).toBe(all.length)
    expect(await ids(`until=${encodeURIComponent(all[0]!.at)}`)).toEqual([])
  })

  test('no route changes or removes an event', async () => {
    const t = await makeApp()
    const rootU = await admin(t)
    for (const method of ['POST', 'PUT', 'PATCH', 'DELETE']) {
      expect((await req(t, method, '/admin/audit', { token: rootU.token, body: {} })).status).toBe(404)
      expect((await req(t, method, '/admin/audit/1', { token: rootU.token, body: {} })).status).toBe(404)
    }
  })
})

describe('GET /users/me/audit', () => {
  test("401; the caller's events as actor or target only; another person's address is hidden", async () => {
    const t = await makeApp({ TRUST_PROXY: 'true' })
    const rootU = await admin(t)
    const alice = await signup(t, 'alice')
    const bob = await userWithToken(t, 'bob')
    const a = await req(t, 'POST', '/auth/login', { body: { username: 'alice', password: PASSWORD }, headers: from('203.0.113.7') })
    await req(t, 'PATCH', `/users/${alice.id}`, { token: rootU.token, body: { age: 9 }, headers: from('10.0.0.1') })
    expect((await req(t, 'GET', '/users/me/audit')).status).toBe(401)
    const mine = await req(t, 'GET', '/users/me/audit', { token: a.json.access_token })
    expect(mine.status).toBe(200)
    const events = mine.json.events as { type: string; actor_id: number | null; target_id: number | null; ip: string | null }[]
    expect(events.map((e) => e.type)).toEqual(['user.updated', 'login.succeeded', 'user.created'])
    for (const e of events) expect(e.actor_id === alice.id || e.target_id === alice.id).toBe(true)
    expect(events[0]).toMatchObject({ actor_id: rootU.id, ip: null })
    expect(events[1]).toMatchObject({ ip: '203.0.113.7' })
    const bobs = (await req(t, 'GET', '/users/me/audit?limit=1', { token: bob.token })).json
    expect(bobs.events).toHaveLength(1)
    expect(bobs.next_cursor).toBeString()
    expect((await req(t, 'GET', '/users/me/audit?limit=101', { token: bob.token })).status).toBe(422)
  })
})

describe('tamper evidence: roster audit verify', () => {
  async function chainOf(n: number) {
    const t = await makeApp()
    await admin(t)
    for (let i = 0; i < n; i++) await req(t, 'POST', '/auth/login', { body: { username: `u${i}`, password: 'Wrong1234' } })
    return t
  }

  test('an intact chain: exit 0 and the count checked', async () => {
    const t = await chainOf(4)
    const r = await verifyCli(t)
    expect(r.code).toBe(0)
    expect(r.stdout).toStartWith(`audit chain intact: ${(await auditRows(t)).length} events checked`)
  })

  test('a row edited with SQL: exit 1 naming it', async () => {
    const t = await chainOf(6)
    await t.sql(`UPDATE audit_events SET details = '{"reason":"edited"}' WHERE id = 4`)
    const r = await verifyCli(t)
    expect(r.code).toBe(1)
    expect(r.stderr).toBe('roster: audit chain broken at event 4: hash does not match its contents (3 events before it are intact)\n')
  })

  test('a row edited and its own hash recomputed: the next event names the break', async () => {
    const t = await chainOf(6)
    const row = { ...(await auditRows(t))[2]!, ip: '1.2.3.4' }
    await t.sql('UPDATE audit_events SET ip = ?, hash = ? WHERE id = 3', row.ip, chainHash(row.prevHash, canonical(row)))
    const r = await verifyCli(t)
    expect(r.code).toBe(1)
    expect(r.stderr).toStartWith('roster: audit chain broken at event 4: does not link to the previous event')
  })

  test('a middle row deleted with SQL: exit 1 naming the missing id', async () => {
    const t = await chainOf(6)
    await t.sql('DELETE FROM audit_events WHERE id = 5')
    const r = await verifyCli(t)
    expect(r.code).toBe(1)
    expect(r.stderr).toStartWith('roster: audit chain broken at event 5: event missing')
  })

  test('the newest row deleted: named too', async () => {
    const t = await chainOf(3)
    const last = (await auditRows(t)).length
    await t.sql(`DELETE FROM audit_events WHERE id = ${last}`)
    expect((await verifyCli(t)).stderr).toStartWith(`roster: audit chain broken at event ${last}: event missing`)
  })

  test('the oldest row deleted: named too', async () => {
    const t = await chainOf(3)
    await t.sql('DELETE FROM audit_events WHERE id = 1')
    expect((await verifyCli(t)).stderr).toStartWith('roster: audit chain broken at event 1: event missing')
  })

  test('two processes appending at once do not fork the chain', async () => {
    const t = await makeApp()
    const path = databaseUrlOf(t.data) ?? join(t.dataDir, DB_FILE)
    const fixture = join(import.meta.dir, 'fixtures', 'audit-append.ts')
    const procs = ['a', 'b'].map((tag) => Bun.spawn([process.execPath, fixture, path, '150', tag], { stdout: 'ignore', stderr: 'pipe' }))
    expect(await Promise.all(procs.map((p) => p.exited))).toEqual([0, 0])
    const rows = (await auditRows(t))
    expect(rows).toHaveLength(300)
    expect(new Set(rows.map((r) => r.prevHash)).size).toBe(300)
    const r = await verifyCli(t)
    expect(r.code).toBe(0)
    expect(r.stdout).toStartWith('audit chain intact: 300 events checked')
  }, 60_000)
})

describe('retention', () => {
  test('prunes the oldest events only and the chain still verifies from its anchor', async () => {
    const t = await makeApp()
    const day = 86_400_000
    const old = createAuditService(t.data, { now: () => Date.now() - 400 * day })
    for (let i = 0; i < 5; i++) await old.record({ type: 'login.failed', origin: { actorId: null, ip: null, userAgent: null }, details: { reason: 'unknown_user' } })
    await admin(t)
    const kept = (await auditRows(t)).slice(5)
    expect(await t.services.audit.prune(365)).toBe(5)
    expect(await auditRows(t)).toEqual(kept)
    expect((await t.db.select().from(t.tables.auditChain))[0]).toMatchObject({ prunedThroughId: 5 })
    expect(await t.services.audit.prune(365)).toBe(0)
    const r = await verifyCli(t)
    expect(r.code).toBe(0)
    expect(r.stdout).toStartWith(`audit chain intact: ${kept.length} events checked`)
    // Removing the new oldest event is still caught.
    await t.sql(`DELETE FROM audit_events WHERE id = ${kept[0]!.id}`)
    expect((await verifyCli(t)).stderr).toStartWith(`roster: audit chain broken at event ${kept[0]!.id}: event missing`)
  })

  test('the server prunes at start and then on its timer, and logs how many', async () => {
    const t = await makeApp()
    const old = createAuditService(t.data, { now: () => Date.now() - 30 * 86_400_000 })
    await old.record({ type: 'login.failed', origin: { actorId: null, ip: null, userAgent: null } })
    const lines: string[] = []
    const task = startAuditRetention(t.services.audit, 7, createLogger('info', (l) => lines.push(l)), 20)
    const drained = async () => {
      for (let i = 0; i < 100 && (await auditRows(t)).length > 0; i++) await Bun.sleep(20)
      return auditRows(t)
    }
    try {
      expect(await drained()).toHaveLength(0)
      await old.record({ type: 'login.failed', origin: { actorId: null, ip: null, userAgent: null } })
      expect(await drained()).toHaveLength(0)
    } finally {
      task.stop()
    }
    expect(lines.filter((l) => JSON.parse(l).msg === 'audit retention').map((l) => JSON.parse(l).pruned)).toEqual([1, 1])
  })

  test('AUDIT_RETENTION_DAYS=0 keeps everything', async () => {
    const t = await makeApp({ AUDIT_RETENTION_DAYS: '0' })
    const old = createAuditService(t.data, { now: () => Date.now() - 4000 * 86_400_000 })
    await old.record({ type: 'login.failed', origin: { actorId: null, ip: null, userAgent: null } })
    expect(await t.services.audit.prune(t.config.auditRetentionDays)).toBe(0)
    expect(await auditRows(t)).toHaveLength(1)
  })
})
