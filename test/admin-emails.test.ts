// Admin view of the outbox: unauthenticated, forbidden, invalid input and success
// for each route; reset mails never show token material.
import { describe, expect, test } from 'bun:test'
import { eq } from 'drizzle-orm'
import { admin, expectNoSecrets, makeApp, req, scenarios, userWithToken, type Scenario, type TestApp } from './helpers'

interface World {
  t: TestApp
  root: { id: number; token: string }
  alice: { id: number; token: string }
  /** Outbox ids: root's and alice's welcome mails, one reset mail for alice. */
  welcomeRoot: number
  welcomeAlice: number
  reset: number
  token: string
}

async function world(): Promise<World> {
  const t = await makeApp({ PUBLIC_URL: 'https://roster.example' })
  const root = await admin(t)
  const alice = await userWithToken(t, 'alice')
  await req(t, 'POST', '/auth/password-reset', { body: { email: 'alice@example.com' } })
  await t.services.resets.settled()
  const { emailOutbox } = t.tables
  const rows = await t.db.select().from(emailOutbox).orderBy(emailOutbox.id)
  const token = /token=([A-Za-z0-9_-]+)/.exec(rows[2]!.textBody)![1]!
  return { t, root, alice, welcomeRoot: rows[0]!.id, welcomeAlice: rows[1]!.id, reset: rows[2]!.id, token }
}

const setStatus = async (w: World, id: number, status: 'sent' | 'dead' | 'sending') => {
  const { emailOutbox } = w.t.tables
  await w.t.db.update(emailOutbox).set({ status, sentAt: status === 'sent' ? Date.now() : null, attempts: status === 'dead' ? 10 : 1 }).where(eq(emailOutbox.id, id))
}

/** Scenarios on the outbox world; the reset token must never show. */
const outboxScenarios = (list: Scenario<World>[]) =>
  scenarios(
    list.map((s) => ({ ...s, notExpect: (w: World) => [w.token, 'reset-password', ...(s.notExpect?.(w) ?? [])] })),
    world
  )

describe('GET /admin/emails', () => {
  outboxScenarios([
    { name: 'unauthenticated: 401', method: 'GET', url: () => '/admin/emails', status: 401 },
    { name: 'a non-admin: 403', method: 'GET', url: () => '/admin/emails', token: (w) => w.alice.token, status: 403, expect: (j) => expect(j).toEqual({ detail: 'Not enough permissions' }) },
    {
      name: 'bad status, limit and after are all reported',
      method: 'GET',
      url: () => '/admin/emails?status=lost&limit=0&after=x',
      token: (w) => w.root.token,
      status: 422,
      expect: (j) => expect(j.detail.map((d: any) => d.field).sort()).toEqual(['query.after', 'query.limit', 'query.status'])
    },
    {
      name: 'lists every mail with counts, without bodies',
      method: 'GET',
      url: () => '/admin/emails',
      token: (w) => w.root.token,
      status: 200,
      expect: (j, w) => {
        expect(j.emails.map((e: any) => e.id)).toEqual([w.welcomeRoot, w.welcomeAlice, w.reset])
        expect(j.counts).toEqual({ queued: 3, sending: 0, sent: 0, dead: 0 })
        expect(j.next_after).toBeNull()
        expect(Object.keys(j.emails[2]).sort()).toEqual(
          ['attempts', 'created_at', 'id', 'kind', 'last_error', 'message_id', 'next_attempt_at', 'sent_at', 'status', 'subject', 'to'].sort()
        )
        expect(j.emails[1]).toMatchObject({ kind: 'welcome', to: 'alice@example.com', subject: 'Welcome to Roster', status: 'queued', attempts: 0, sent_at: null })
        expect(j.emails[2]).toMatchObject({ kind: 'password_reset', to: 'alice@example.com' })
        expect(j.emails[1].message_id).toMatch(/^<roster-\d+\.\d+@localhost>$/)
      }
    },
    {
      name: 'filters by status',
      method: 'GET',
      url: () => '/admin/emails?status=dead',
      token: (w) => w.root.token,
      setup: (w) => setStatus(w, w.welcomeAlice, 'dead'),
      status: 200,
      expect: (j, w) => {
        expect(j.emails.map((e: any) => e.id)).toEqual([w.welcomeAlice])
        expect(j.counts).toMatchObject({ queued: 2, dead: 1 })
      }
    },
    {
      name: 'pages by keyset: limit and after',
      method: 'GET',
      url: () => '/admin/emails?limit=2',
      token: (w) => w.root.token,
      status: 200,
      expect: (j, w) => {
        expect(j.emails.map((e: any) => e.id)).toEqual([w.welcomeRoot, w.welcomeAlice])
        expect(j.next_after).toBe(w.welcomeAlice)
      }
    },
    {
      name: 'the page after',
      method: 'GET',
      url: (w) => `/admin/emails?limit=2&after=${w.welcomeAlice}`,
      token: (w) => w.root.token,
      status: 200,
      expect: (j, w) => {
        expect(j.emails.map((e: any) => e.id)).toEqual([w.reset])
        expect(j.next_after).toBeNull()
      }
    }
  ])
})

describe('POST /admin/emails/{email_id}/retry', () => {
  outboxScenarios([
    { name: 'unauthenticated: 401', method: 'POST', url: (w) => `/admin/emails/${w.welcomeAlice}/retry`, status: 401 },
    { name: 'a non-admin: 403', method: 'POST', url: (w) => `/admin/emails/${w.welcomeAlice}/retry`, token: (w) => w.alice.token, status: 403 },
    { name: 'a non-integer id: 422', method: 'POST', url: () => '/admin/emails/abc/retry', token: (w) => w.root.token, status: 422, expect: (j) => expect(j.detail[0].field).toBe('path.email_id') },
    { name: 'an unknown id: 404', method: 'POST', url: () => '/admin/emails/9999/retry', token: (w) => w.root.token, status: 404, expect: (j) => expect(j).toEqual({ detail: 'Email not found' }) },
    {
      name: 'a dead mail is queued again, due now, with a fresh budget',
      method: 'POST',
      // root's welcome holds no link: root was created verified.
      url: (w) => `/admin/emails/${w.welcomeRoot}/retry`,
      token: (w) => w.root.token,
      setup: (w) => setStatus(w, w.welcomeRoot, 'dead'),
      status: 200,
      expect: (j, w) => {
        expect(j).toMatchObject({ id: w.welcomeRoot, status: 'queued', attempts: 0, last_error: null })
        expect(Date.parse(j.next_attempt_at)).toBeLessThanOrEqual(Date.now())
      }
    },
    {
      name: 'a sent mail is not resent: 409',
      method: 'POST',
      url: (w) => `/admin/emails/${w.welcomeAlice}/retry`,
      token: (w) => w.root.token,
      setup: (w) => setStatus(w, w.welcomeAlice, 'sent'),
      status: 409,
      expect: (j) => expect(j).toEqual({ detail: 'Email already sent' })
    },
    {
      name: 'a mail being sent is left to its worker: 409',
      method: 'POST',
      url: (w) => `/admin/emails/${w.welcomeAlice}/retry`,
      token: (w) => w.root.token,
      setup: (w) => setStatus(w, w.welcomeAlice, 'sending'),
      status: 409
    },
    {
      name: 'a dead welcome mail that held a verification link is not resent: 409',
      method: 'POST',
      url: (w) => `/admin/emails/${w.welcomeAlice}/retry`,
      token: (w) => w.root.token,
      setup: (w) => setStatus(w, w.welcomeAlice, 'dead'),
      status: 409
    },
    {
      name: 'a dead reset mail is not resent: 409',
      method: 'POST',
      url: (w) => `/admin/emails/${w.reset}/retry`,
      token: (w) => w.root.token,
      setup: (w) => setStatus(w, w.reset, 'dead'),
      status: 409
    }
  ])
})
