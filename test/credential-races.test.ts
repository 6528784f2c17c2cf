// Logins and refreshes racing a credential change (password change, reset,
// deactivation, deletion): whatever the interleaving, a login whose check began
// before the change never leaves a live session or a working token behind, and a
// login racing a deletion is a clean 401, never a 500.
import { describe, expect, test } from 'bun:test'
import { AsyncLocalStorage } from 'node:async_hooks'
import { admin, countPasswordChecks, makeApp, PASSWORD, req, signup, type Res, type TestApp } from './helpers'

const NEW_PASSWORD = 'Brand9New'
const TRIALS = 3
/** Logins fired per trial, one every STAGGER_MS from the moment the change is sent. */
const LOGINS = 10
const STAGGER_MS = 15

// TRUST_PROXY: each attempt comes from its own address, so the failed-login
// throttle never answers 429 in place of the race being tested.
const app = () => makeApp({ TRUST_PROXY: 'true', PUBLIC_URL: 'https://roster.example' })
let ipSeq = 0
const nextIp = () => `198.51.${(++ipSeq >> 8) & 255}.${ipSeq & 255}`

const oldLogin = (t: TestApp, username: string) =>
  req(t, 'POST', '/auth/login', { body: { username, password: PASSWORD }, headers: { 'x-forwarded-for': nextIp() } })

/**
 * Whether the race was run at all is a question of timing: on a busy machine a
 * trial can see every login read the user after the change committed. So the
 * racing logins run in an async context, and each of their password checks that
 * succeeds (it read the old hash, before the change) is counted; a test runs
 * trials until at least one such check happened.
 */
const racing = new AsyncLocalStorage<true>()
const passedChecks = countPasswordChecks((passed) => passed && racing.getStore() === true)
/** Trials run until one of them had a racing login pass its password check; at most this many. */
const MAX_TRIALS = 20
const racingLogin = (t: TestApp, username: string) => racing.run(true, () => oldLogin(t, username))

/**
 * Fires `change` and, spread over the time it takes, logins with the old
 * password. Returns the login answers once everything has settled.
 */
async function race(t: TestApp, username: string, change: () => Promise<Res>): Promise<{ logins: Res[]; change: Res }> {
  const logins: Promise<Res>[] = []
  const changed = change()
  for (let i = 0; i < LOGINS; i++) {
    logins.push(racingLogin(t, username))
    await Bun.sleep(STAGGER_MS)
  }
  return { logins: await Promise.all(logins), change: await changed }
}

const liveSessions = async (t: TestApp, userId: number) =>
  Number((await t.sql<{ n: number }>('SELECT count(*) AS n FROM sessions WHERE user_id = ? AND revoked_at IS NULL', userId))[0]!.n)

/** Every token a racing login got must be dead now: access token, refresh token. */
async function expectAllDead(t: TestApp, logins: Res[]): Promise<void> {
  for (const r of logins) {
    expect([200, 401]).toContain(r.status)
    if (r.status !== 200) continue
    expect((await req(t, 'GET', '/users/me', { token: r.json.access_token })).status).toBe(401)
    expect((await req(t, 'POST', '/auth/refresh', { body: { refresh_token: r.json.refresh_token } })).status).toBe(401)
  }
}

/** Prepares one credential change against alice; returns the request that makes it. */
type Change = (t: TestApp, alice: { id: number }) => Promise<() => Promise<Res>>

// Deactivation and deletion hash nothing: the admin's request first waits
// behind a password hash of its own (a signup) so that logins are mid-hash when
// it lands.
const afterAHash = (t: TestApp, then: () => Promise<Res>) => async () => {
  await req(t, 'POST', '/users', { body: { username: 'filler', email: 'filler@example.com', password: PASSWORD } })
  return then()
}

const changes: [string, number, Change][] = [
  ['PUT /users/me/password', 204, async (t) => {
    const token = (await oldLogin(t, 'alice')).json.access_token as string
    return () => req(t, 'PUT', '/users/me/password', { token, body: { current_password: PASSWORD, new_password: NEW_PASSWORD } })
  }],
  ['POST /auth/password-reset/confirm', 204, async (t) => {
    await req(t, 'POST', '/auth/password-reset', { body: { email: 'alice@example.com' } })
    await t.services.resets.settled()
    const [mail] = await t.sql<{ body: string }>("SELECT text_body AS body FROM email_outbox WHERE kind = 'password_reset'")
    const token = /reset-password\?token=([A-Za-z0-9_-]+)/.exec(mail!.body)![1]!
    return () => req(t, 'POST', '/auth/password-reset/confirm', { body: { token, new_password: NEW_PASSWORD } })
  }],
  ['deactivation by an admin (PATCH is_active=false)', 200, async (t, alice) => {
    const root = await admin(t)
    return afterAHash(t, () => req(t, 'PATCH', `/users/${alice.id}`, { token: root.token, body: { is_active: false } }))
  }],
  ['deletion (a racing login is 200 then dead, or 401; never 500)', 204, async (t, alice) => {
    const root = await admin(t)
    return afterAHash(t, () => req(t, 'DELETE', `/users/${alice.id}`, { token: root.token }))
  }]
]

describe('a login racing a credential change leaves no live session', () => {
  for (const [name, status, prepare] of changes) {
    test(name, async () => {
      passedChecks.n = 0
      let trial = 0
      for (; trial < MAX_TRIALS && (trial < TRIALS || passedChecks.n === 0); trial++) {
        const t = await app()
        const alice = await signup(t, 'alice')
        const { logins, change } = await race(t, 'alice', await prepare(t, alice))
        expect(change.status).toBe(status)
        await expectAllDead(t, logins)
        expect(await liveSessions(t, alice.id)).toBe(0)
      }
      // The race is real: some logins did pass the password check before the change.
      expect(passedChecks.n).toBeGreaterThan(0)
    }, 120_000)
  }
})

describe('a refresh racing a credential change', () => {
  test('refreshes fired around a password change end with no live session and no working token', async () => {
    for (let trial = 0; trial < TRIALS; trial++) {
      const t = await app()
      const alice = await signup(t, 'alice')
      const first = (await oldLogin(t, 'alice')).json
      // A chain of refreshes (each spends the previous token) running across the change.
      const chain = (async () => {
        const answers: Res[] = []
        let refresh = first.refresh_token as string
        for (let i = 0; i < LOGINS; i++) {
          const r = await req(t, 'POST', '/auth/refresh', { body: { refresh_token: refresh } })
          answers.push(r)
          if (r.status !== 200) break
          refresh = r.json.refresh_token
          await Bun.sleep(STAGGER_MS)
        }
        return answers
      })()
      const change = await req(t, 'PUT', '/users/me/password', {
        token: first.access_token,
        body: { current_password: PASSWORD, new_password: NEW_PASSWORD }
      })
      expect(change.status).toBe(204)
      const answers = await chain
      await expectAllDead(t, answers)
      expect(await liveSessions(t, alice.id)).toBe(0)
    }
  })
})

test('a login that upgrades an old hash never overwrites a password changed meanwhile', async () => {
  for (let trial = 0; trial < TRIALS; trial++) {
    const t = await app()
    const alice = await signup(t, 'alice')
    const token = (await oldLogin(t, 'alice')).json.access_token as string
    // A hash made with older parameters: the next good login re-hashes it.
    const old = await Bun.password.hash(PASSWORD, { algorithm: 'argon2id', memoryCost: 8192, timeCost: 1 })
    await t.sql('UPDATE users SET hashed_password = ? WHERE id = ?', old, alice.id)
    const { change } = await race(t, 'alice', () =>
      req(t, 'PUT', '/users/me/password', { token, body: { current_password: PASSWORD, new_password: NEW_PASSWORD } })
    )
    expect(change.status).toBe(204)
    const after = (password: string) =>
      req(t, 'POST', '/auth/login', { body: { username: 'alice', password }, headers: { 'x-forwarded-for': nextIp() } })
    expect((await after(NEW_PASSWORD)).status).toBe(200)
    expect((await after(PASSWORD)).status).toBe(401)
  }
})
