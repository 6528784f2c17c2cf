// The docs page in a real browser: a person authorizes with a username and
// password (Swagger UI's OAuth2 password flow, posted to /auth/login) and then
// calls a protected operation with the token it got.
import { afterAll, beforeAll, describe, expect, test } from 'bun:test'
import type { Browser, Page } from 'playwright-core'
import { launchBrowser, openPage } from './browser'
import { cleanups } from './cleanup'
import { makeApp, signup, type TestApp } from './helpers'

let browser: Browser
beforeAll(async () => {
  browser = await launchBrowser()
}, 60_000)
afterAll(async () => {
  await browser.close()
})

async function serve(): Promise<{ t: TestApp; base: string }> {
  const t = await makeApp()
  t.app.listen({ port: 0, hostname: '127.0.0.1' })
  const base = `http://127.0.0.1:${t.app.server!.port}`
  cleanups.push(async () => {
    await t.app.stop(true)
  })
  return { t, base }
}

/** A page on `base` with every failed response recorded too. */
async function open(base: string) {
  const opened = await openPage(browser, base)
  const failed: string[] = []
  opened.page.on('response', (r) => {
    if (r.status() >= 400) failed.push(`${r.status()} ${new URL(r.url()).pathname}`)
  })
  cleanups.push(() => opened.context.close())
  return { ...opened, failed }
}

async function openDocs(page: Page, url: string) {
  await page.goto(url)
  // Swagger UI shows a spinner until it has fetched and rendered the document.
  await page.waitForSelector('#operations-users-getUsersMe', { timeout: 60_000 })
}

async function authorize(page: Page, username: string, password: string) {
  await page.click('.auth-wrapper button.authorize')
  await page.fill('#oauth_username', username)
  await page.fill('#oauth_password', password)
  await page.click('.auth-btn-wrapper button.authorize')
  // Swagger UI swaps the button for "Logout" once the token endpoint answered 200.
  const logout = page.locator('.auth-btn-wrapper button', { hasText: 'Logout' })
  await logout.or(page.locator('.auth-container .errors')).first().waitFor({ timeout: 60_000 })
  const loggedIn = await logout.count()
  if (!loggedIn) console.log(await page.locator('.modal-ux').innerText())
  await page.click('.auth-btn-wrapper button.btn-done')
  return loggedIn
}

/** Expands GET /users/me and switches it to "Try it out". */
async function openUsersMe(page: Page) {
  const op = page.locator('#operations-users-getUsersMe')
  await op.locator('.opblock-summary').click()
  await op.locator('button.try-out__btn').click()
  return op
}

/** Presses Execute and reads the live response (status and body). */
async function execute(op: ReturnType<Page['locator']>): Promise<{ status: string; body: string }> {
  const live = op.locator('.live-responses-table')
  // A new Execute replaces the table: wait for the fresh one.
  if (await live.count()) await op.locator('button.btn-clear').click()
  await op.locator('button.execute').click()
  const status = op.locator('.live-responses-table tbody .response-col_status').first()
  await status.waitFor({ timeout: 60_000 })
  return {
    status: (await status.innerText()).trim(),
    body: await op.locator('.live-responses-table .response-col_description pre').first().innerText()
  }
}

describe('docs page in chromium', () => {
  for (const path of ['/docs', '/docs/']) {
    test(`${path}: Authorize with username and password, then GET /users/me answers 200 with the caller`, async () => {
      const { t, base } = await serve()
      await signup(t, 'alice')
      const seen = await open(base)
      const { page } = seen
      await openDocs(page, base + path)

      // Without authorizing, the protected call is refused.
      const op = await openUsersMe(page)
      expect((await execute(op)).status).toBe('401')

      expect(await authorize(page, 'alice', 'Secret123')).toBe(1)
      const after = await execute(op)
      expect(after.status).toBe('200')
      expect(JSON.parse(after.body)).toMatchObject({ username: 'alice', email: 'alice@example.com' })

      // Everything came from Roster itself, under its CSP, without errors;
      // the only failed request is the deliberate 401 above.
      expect(seen.foreign).toEqual([])
      expect(seen.failed).toEqual(['401 /users/me'])
      expect(seen.errors.filter((p) => !/status of 401/.test(p))).toEqual([])
    }, 180_000)
  }

  test('a wrong password is refused in the dialog and the call stays 401', async () => {
    const { t, base } = await serve()
    await signup(t, 'bob')
    const { page } = await open(base)
    await openDocs(page, base + '/docs/')
    await page.click('.auth-wrapper button.authorize')
    await page.fill('#oauth_username', 'bob')
    await page.fill('#oauth_password', 'Wrong1234')
    await page.click('.auth-btn-wrapper button.authorize')
    await page.waitForSelector('.auth-container .errors', { timeout: 60_000 })
    expect(await page.locator('.auth-btn-wrapper button', { hasText: 'Logout' }).count()).toBe(0)
    await page.click('.auth-btn-wrapper button.btn-done')
    expect((await execute(await openUsersMe(page))).status).toBe('401')
  }, 180_000)
})
