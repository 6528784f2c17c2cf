// The console in a real browser against the compiled binary: sign in, the pages
// everyone has, token handling (nowhere in localStorage, refreshed before expiry,
// revoked on sign-out), and the admin's work on users and the outbox. Every page is
// scanned with axe-core, checked at 390 px, and must not reach another origin.
// With SCREENSHOTS=1 the main pages are saved to docs/img/ for docs/console.md.
import { afterEach, describe, expect, test } from 'bun:test'
import { copyFileSync, mkdirSync } from 'node:fs'
import { join } from 'node:path'
import type { Page } from 'playwright-core'
import { buildBinary, cleanup, scratchDir } from './binary'
import { expectAccessible, openPage, storage } from './browser'
import { ADMIN, api, createUser, loginToken, sharedBrowser, SLOW, startRoster, type Roster } from './console-world'
import { Secret, TOTP } from 'otpauth'
import { PASSWORD } from './helpers'

async function until(cond: () => boolean | Promise<boolean>, ms = 10_000) {
  const end = Date.now() + ms
  while (!(await cond())) {
    if (Date.now() > end) throw new Error('condition not met in time')
    await Bun.sleep(50)
  }
}

afterEach(cleanup)
const browser = sharedBrowser()
const SHOTS = process.env.SCREENSHOTS === '1' ? join(import.meta.dir, '..', 'docs', 'img') : null

async function shot(page: Page, name: string) {
  if (!SHOTS) return
  mkdirSync(SHOTS, { recursive: true })
  await page.screenshot({ path: join(SHOTS, `${name}.png`), fullPage: true })
}

async function signIn(page: Page, r: Roster, username: string, password: string) {
  await page.goto(`${r.url}/`)
  await page.getByRole('heading', { name: 'Sign in' }).waitFor()
  await page.getByLabel('Username or e-mail').fill(username)
  await page.getByLabel('Password').fill(password)
  await page.getByRole('button', { name: 'Sign in' }).click()
  await page.getByRole('heading', { name: 'Your profile' }).waitFor()
}

async function go(page: Page, link: string, heading: string | RegExp) {
  await page.getByRole('navigation', { name: 'Console' }).getByRole('link', { name: link, exact: true }).click()
  await page.getByRole('heading', { name: heading, level: 1 }).waitFor()
  // Data pages show a spinner first: wait until it is gone before judging the page.
  await page.locator('.loading').waitFor({ state: 'detached' })
}

/** Signed in as the admin, on one user's page, reached from the users list. */
async function openUser(page: Page, r: Roster, username: string) {
  await signIn(page, r, ADMIN.username, ADMIN.password)
  await go(page, 'Users', 'Users')
  await page.getByRole('link', { name: username, exact: true }).click()
  await page.getByRole('heading', { name: username, level: 1 }).waitFor()
}

/** axe-core finds nothing serious, and nothing sticks out sideways at the current width. */
async function check(page: Page) {
  await expectAccessible(page)
  const overflow = await page.evaluate(() => {
    const d = (globalThis as any).document.documentElement
    return d.scrollWidth - d.clientWidth
  })
  expect(overflow).toBeLessThanOrEqual(0)
}

describe('console for everyone', () => {
  test('sign in, every own page, tokens in memory and sessionStorage only, sign-out revokes the session', async () => {
    const r = await startRoster()
    await createUser(r, 'alice')
    const { page, context, foreign, errors } = await openPage(await browser(), r.url)
    await page.goto(`${r.url}/`)
    await page.getByRole('heading', { name: 'Sign in' }).waitFor()
    expect(new URL(page.url()).pathname).toBe('/console/')
    await check(page)
    await shot(page, 'sign-in')

    // A wrong password: the API's answer, on the page.
    await page.getByLabel('Username or e-mail').fill('alice')
    await page.getByLabel('Password').fill('Wrong1234')
    await page.getByRole('button', { name: 'Sign in' }).click()
    await page.getByRole('alert').filter({ hasText: 'Incorrect username or password' }).waitFor()
    await check(page)

    await signIn(page, r, 'alice@example.com', PASSWORD)
    await check(page)
    await shot(page, 'profile')

    await page.getByLabel('Age (optional)').fill('41')
    await page.getByRole('button', { name: 'Save' }).click()
    await page.getByRole('status').filter({ hasText: 'Your profile is saved.' }).waitFor()
    const token = (await loginToken(r, 'alice', PASSWORD)).json.access_token
    expect((await api(r, 'GET', '/users/me', undefined, token)).json.age).toBe(41)

    // A weak new password is refused with the API's own message.
    await go(page, 'Password', 'Change your password')
    await check(page)
    await page.getByLabel('Current password').fill(PASSWORD)
    await page.getByLabel('New password', { exact: true }).fill('alllowercase1')
    await page.getByLabel('Repeat the new password').fill('alllowercase1')
    await page.getByRole('button', { name: 'Change password' }).click()
    await page.getByText('Password must contain at least one digit and one uppercase letter').first().waitFor()

    await go(page, 'Sessions', 'Your sessions')
    await page.getByText('this one').waitFor()
    await check(page)
    await shot(page, 'sessions')
    for (const [link, heading] of [
      ['Two-factor', /Two-factor/],
      ['Access tokens', 'Personal access tokens'],
      ['Activity', 'Your security activity']
    ] as const) {
      await go(page, link, heading)
      await check(page)
    }
    // Admin pages are not offered to a user.
    expect(await page.getByRole('link', { name: 'Users', exact: true }).count()).toBe(0)

    // Where the tokens are: nothing in localStorage; only the refresh token in sessionStorage.
    const kept = await storage(page)
    expect(kept.local).toEqual({})
    expect(Object.keys(kept.session)).toEqual(['roster.refresh'])
    const refreshToken = kept.session['roster.refresh']!

    // A reload keeps the person signed in (the refresh token buys a new access token).
    await page.reload()
    await page.getByRole('heading', { name: 'Your security activity' }).waitFor()

    // Sign-out revokes the session on the server, not just in the tab.
    const current = (await storage(page)).session['roster.refresh']!
    expect(current).not.toBe(refreshToken)
    await page.getByRole('button', { name: 'Sign out' }).click()
    await page.getByRole('heading', { name: 'Sign in' }).waitFor()
    expect((await api(r, 'POST', '/auth/refresh', { refresh_token: current })).status).toBe(401)
    expect(await storage(page)).toEqual({ local: {}, session: {} })

    expect(foreign).toEqual([])
    expect(errors).toEqual([])
    await context.close()
  }, SLOW)

  test('the access token is refreshed before it expires', async () => {
    const r = await startRoster({ ACCESS_TOKEN_EXPIRE_MINUTES: '1' })
    await createUser(r, 'alice')
    const { page, context } = await openPage(await browser(), r.url)
    const refreshes: number[] = []
    page.on('response', (res) => new URL(res.url()).pathname === '/auth/refresh' && refreshes.push(res.status()))
    await page.clock.install()
    await signIn(page, r, 'alice', PASSWORD)
    expect(refreshes).toEqual([])
    // Half-way through its 60 s the token is exchanged, without any request needing it.
    await page.clock.runFor(31_000)
    await until(() => refreshes.length === 1)
    expect(refreshes).toEqual([200])
    await go(page, 'Sessions', 'Your sessions')
    await page.getByText('this one').waitFor()
    await context.close()
  }, SLOW)

  test('TOTP: set up with the QR page, then sign in with a code; a wrong code is refused on the page', async () => {
    const r = await startRoster()
    await createUser(r, 'alice')
    const { page, context, foreign, errors } = await openPage(await browser(), r.url)
    await signIn(page, r, 'alice', PASSWORD)
    await go(page, 'Two-factor', 'Two-factor sign-in')
    await page.getByLabel('Password').fill(PASSWORD)
    await page.getByRole('button', { name: 'Set up two-factor sign-in' }).click()
    await page.getByRole('img', { name: /QR code/ }).waitFor()
    await check(page)
    await shot(page, 'totp-setup')
    const secret = (await page.locator('code.secret').textContent())!.trim()
    const now = Date.now()
    await page.getByLabel('Code from the app').fill(TOTP.generate({ secret: Secret.fromBase32(secret), timestamp: now }))
    await page.getByRole('button', { name: 'Turn on two-factor sign-in' }).click()
    await page.getByRole('heading', { name: 'Two-factor sign-in is on' }).waitFor()
    const recovery = await page.locator('ul.secret li').allTextContents()
    expect(recovery).toHaveLength(10)
    await check(page)

    await page.getByRole('button', { name: 'Sign out' }).click()
    await page.getByLabel('Username or e-mail').fill('alice')
    await page.getByLabel('Password').fill(PASSWORD)
    await page.getByRole('button', { name: 'Sign in' }).click()
    await page.getByRole('heading', { name: 'Enter your code' }).waitFor()
    await check(page)
    await page.getByLabel('Code').fill('000000')
    await page.getByRole('button', { name: 'Verify' }).click()
    await page.getByRole('alert').filter({ hasText: 'Invalid code' }).waitFor()
    // The next time step's code (the one used to turn TOTP on cannot be replayed).
    await page.getByLabel('Code').fill(TOTP.generate({ secret: Secret.fromBase32(secret), timestamp: now + 30_000 }))
    await page.getByRole('button', { name: 'Verify' }).click()
    await page.getByRole('heading', { name: 'Your profile' }).waitFor()
    expect((await storage(page)).local).toEqual({})
    expect(foreign).toEqual([])
    expect(errors).toEqual([])
    await context.close()
  }, SLOW)

  test('personal access token: created with scopes, shown once, works, revoked', async () => {
    const r = await startRoster()
    await createUser(r, 'alice')
    const { page, context, foreign } = await openPage(await browser(), r.url)
    await signIn(page, r, 'alice', PASSWORD)
    await go(page, 'Access tokens', 'Personal access tokens')
    await page.getByText('You have no access tokens.').waitFor()
    await page.getByLabel('Name').fill('backup script')
    await page.getByRole('button', { name: 'Create token' }).click()
    const shown = page.locator('.panel p.secret')
    await shown.waitFor()
    const secret = (await shown.textContent())!.trim()
    expect(secret).toStartWith('rst_')
    await page.getByRole('cell', { name: 'backup script', exact: true }).waitFor()
    await check(page)
    await shot(page, 'tokens')
    expect((await api(r, 'GET', '/users/me', undefined, secret)).status).toBe(200)
    // The secret is never listed again, and never kept by the page.
    await page.getByRole('button', { name: 'Done' }).click()
    expect(await page.content()).not.toContain(secret)
    expect(JSON.stringify(await storage(page))).not.toContain(secret)
    await page.getByRole('button', { name: 'Revoke token backup script' }).click()
    await page.getByText('You have no access tokens.').waitFor()
    expect((await api(r, 'GET', '/users/me', undefined, secret)).status).toBe(401)
    expect(foreign).toEqual([])
    await context.close()
  }, SLOW)

  test('the first page load is under a second', async () => {
    const r = await startRoster()
    const { page, context } = await openPage(await browser(), r.url)
    // From the request to a usable sign-in form: HTML, script, style, first render.
    const start = Date.now()
    await page.goto(`${r.url}/`)
    await page.getByRole('button', { name: 'Sign in' }).waitFor()
    const ms = Date.now() - start
    console.log(`console first load: ${ms} ms`)
    expect(ms).toBeLessThan(1000)
    await context.close()
  }, SLOW)

  test('at 390 px wide every own page fits and works', async () => {
    const r = await startRoster()
    await createUser(r, 'alice')
    const { page, context, foreign } = await openPage(await browser(), r.url, { width: 390, height: 844 })
    await signIn(page, r, 'alice', PASSWORD)
    await check(page)
    await shot(page, 'profile-390')
    await go(page, 'Sessions', 'Your sessions')
    await check(page)
    // Keyboard: on a fresh load the skip link is the first stop.
    await page.reload()
    await page.getByRole('heading', { name: 'Your sessions' }).waitFor()
    await page.keyboard.press('Tab')
    expect(await page.evaluate(() => (globalThis as any).document.activeElement?.textContent)).toBe('Skip to content')
    expect(foreign).toEqual([])
    await context.close()
  }, SLOW)
})

describe('console for admins', () => {
  test('from the binary alone in an empty folder: find a user by e-mail prefix, deactivate them, see the outbox', async () => {
    // The single file, copied alone into an empty folder and run there.
    const dir = scratchDir('roster-alone-')
    const bin = join(dir, 'roster')
    copyFileSync(await buildBinary(), bin)
    const r = await startRoster({}, bin)
    const bob = await createUser(r, 'bob', 'robert.b@example.org')
    await createUser(r, 'bobby', 'bobby@example.com')
    const { page, context, foreign, errors } = await openPage(await browser(), r.url)
    await signIn(page, r, ADMIN.username, ADMIN.password)

    await go(page, 'Users', 'Users')
    await check(page)
    await shot(page, 'users')
    await page.getByLabel('Username or e-mail starts with').fill('Robert.B')
    await page.getByRole('button', { name: 'Search' }).click()
    await page.getByRole('cell', { name: 'robert.b@example.org' }).waitFor()
    await until(async () => (await page.getByRole('row').count()) === 2) // the header and bob
    await page.getByRole('link', { name: 'bob', exact: true }).click()
    await page.getByRole('heading', { name: 'bob', level: 1 }).waitFor()
    await check(page)
    await shot(page, 'user')

    const bobToken = (await loginToken(r, 'bob', PASSWORD)).json.access_token
    await page.getByRole('button', { name: 'Deactivate' }).click()
    await page.getByRole('status').filter({ hasText: 'bob is deactivated' }).waitFor()
    await page.getByText('deactivated', { exact: true }).first().waitFor()
    // The user's audit trail on the same page shows the event.
    await page.getByRole('cell', { name: /^user\.deactivated/ }).waitFor()
    // Deactivated: the old token is refused and the password no longer signs in.
    expect((await api(r, 'GET', '/users/me', undefined, bobToken)).status).toBe(401)
    expect((await loginToken(r, 'bob', PASSWORD)).status).toBe(401)
    expect((await api(r, 'GET', `/users/${bob.id}`, undefined, (await loginToken(r, ADMIN.username, ADMIN.password)).json.access_token)).json.is_active).toBe(false)

    await go(page, 'Outbox', 'E-mail outbox')
    await page.getByRole('cell', { name: 'bobby@example.com' }).waitFor()
    await check(page)
    await shot(page, 'outbox')

    await go(page, 'Invitations', 'Invitations')
    await check(page)
    // The audit log, filtered by type, names who did it to whom.
    await go(page, 'Audit log', 'Audit log')
    await page.getByLabel('Event type').fill('user.deactivated')
    await page.getByRole('button', { name: 'Filter' }).click()
    await until(async () => (await page.getByRole('row').count()) === 2)
    await page.getByRole('cell', { name: /^user\.deactivated/ }).waitFor()
    await check(page)
    await shot(page, 'audit')
    expect(foreign).toEqual([])
    expect(errors).toEqual([])
    await context.close()
  }, SLOW)

  test("sign a user out everywhere from their page, after a confirmation: their tokens stop, the audit trail shows it", async () => {
    const r = await startRoster()
    const bob = await createUser(r, 'bob')
    const bobSession = (await loginToken(r, 'bob', PASSWORD)).json
    const { page, context, foreign, errors } = await openPage(await browser(), r.url)
    await openUser(page, r, 'bob')

    // Cancelled: nothing happens.
    await page.getByRole('button', { name: 'Sign out everywhere' }).click()
    await page.getByRole('group', { name: 'Confirm' }).getByText('Sign bob out on every device?').waitFor()
    await check(page)
    await page.getByRole('button', { name: 'Cancel' }).click()
    await page.getByRole('button', { name: 'Sign out everywhere' }).waitFor()
    expect((await api(r, 'GET', '/users/me', undefined, bobSession.access_token)).status).toBe(200)

    // Confirmed: every session of bob ends.
    await page.getByRole('button', { name: 'Sign out everywhere' }).click()
    await page.getByRole('button', { name: 'Yes, sign out everywhere' }).click()
    await page.getByRole('status').filter({ hasText: 'bob is signed out everywhere.' }).waitFor()
    await page.getByRole('cell', { name: /^session\.revoked/ }).waitFor()
    await check(page)
    expect((await api(r, 'GET', '/users/me', undefined, bobSession.access_token)).status).toBe(401)
    expect((await api(r, 'POST', '/auth/refresh', { refresh_token: bobSession.refresh_token })).status).toBe(401)
    const rootToken = (await loginToken(r, ADMIN.username, ADMIN.password)).json.access_token
    const rootId = (await api(r, 'GET', '/users/me', undefined, rootToken)).json.id
    const audit = await api(r, 'GET', `/admin/audit?type=session.revoked&target_id=${bob.id}`, undefined, rootToken)
    expect(audit.json.events).toHaveLength(1)
    expect(audit.json.events[0]).toMatchObject({ actor_id: rootId, target_id: bob.id, details: { count: 1, by: 'admin' } })
    // The admin's own session was not touched.
    await go(page, 'Users', 'Users')
    expect(foreign).toEqual([])
    expect(errors).toEqual([])
    await context.close()
  }, SLOW)

  test("reset the two-factor sign-in of a user who lost their authenticator: they sign in with the password alone", async () => {
    const r = await startRoster()
    const carol = await createUser(r, 'carol')
    // Carol turns TOTP on through the API.
    const carolToken = (await loginToken(r, 'carol', PASSWORD)).json.access_token
    const setup = await api(r, 'POST', '/auth/mfa/totp/setup', { password: PASSWORD }, carolToken)
    expect(setup.status).toBe(200)
    const code = TOTP.generate({ secret: Secret.fromBase32(setup.json.secret) })
    expect((await api(r, 'POST', '/auth/mfa/totp/enable', { code }, carolToken)).status).toBe(200)
    expect((await loginToken(r, 'carol', PASSWORD)).json.mfa_required).toBe(true)

    const { page, context, foreign, errors } = await openPage(await browser(), r.url)
    await openUser(page, r, 'carol')
    const twoFactor = page.locator('dt', { hasText: 'Two-factor' }).locator('xpath=following-sibling::dd[1]')
    expect(await twoFactor.textContent()).toBe('on')
    await page.getByRole('button', { name: 'Reset two-factor' }).click()
    await page.getByRole('status').filter({ hasText: 'Two-factor sign-in is off for carol.' }).waitFor()
    await page.locator('dt', { hasText: 'Two-factor' }).locator('xpath=following-sibling::dd[1]', { hasText: 'off' }).waitFor()
    await page.getByRole('button', { name: 'Reset two-factor' }).waitFor({ state: 'detached' })
    await page.getByRole('cell', { name: /^mfa\.disabled/ }).waitFor()
    await check(page)

    // The password alone signs carol in now, and TOTP is off on her account.
    const login = await loginToken(r, 'carol', PASSWORD)
    expect(login.status).toBe(200)
    expect(login.json.mfa_required).toBeUndefined()
    const me = await api(r, 'GET', '/users/me', undefined, login.json.access_token)
    expect(me.json.mfa_enabled).toBe(false)
    expect(foreign).toEqual([])
    expect(errors).toEqual([])
    await context.close()
  }, SLOW)
})
