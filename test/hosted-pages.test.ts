// The hosted pages in a real browser against the compiled binary: the password-reset
// link from a real e-mail, opened, refused with the API's own message for a weak
// password, then used; nothing is spent by loading a page; nothing leaves Roster's
// origin; no token lands in localStorage; no serious accessibility violation.
import { afterEach, describe, expect, test } from 'bun:test'
import { cleanup } from './binary'
import { until, type ReceivedMail } from './mail-helpers'
import { expectAccessible, openPage, storage } from './browser'
import { api, createUser, loginToken, sharedBrowser, SLOW, startRoster } from './console-world'

afterEach(cleanup)
const browser = sharedBrowser()

describe('reset password from the e-mail', () => {
  test('the link opens a page that spends the token only on submit, with the API’s rules', async () => {
    const r = await startRoster()
    await createUser(r, 'alice')
    expect((await api(r, 'POST', '/auth/password-reset', { email: 'alice@example.com' })).status).toBe(202)
    const isReset = (m: ReceivedMail) => m.to.includes('alice@example.com') && /reset/i.test(m.subject ?? '')
    await until(() => r.smtp.messages.some(isReset))
    const mail = r.smtp.messages.find(isReset)!
    const link = /(http:\/\/127\.0\.0\.1:\d+\/reset-password\?token=[A-Za-z0-9_-]+)/.exec(mail.text ?? '')![1]!
    expect(link.startsWith(`${r.url}/reset-password?token=`)).toBe(true)

    // A mail scanner fetches the link: the page comes back and spends nothing.
    const scanned = await fetch(link)
    expect(scanned.status).toBe(200)
    const csp = scanned.headers.get('content-security-policy')!
    expect(csp).toContain("frame-ancestors 'none'")
    expect(csp).toContain("script-src 'self'")
    expect(csp).not.toContain('unsafe-inline')
    expect(csp).not.toContain('unsafe-eval')
    const token = new URL(link).searchParams.get('token')!
    expect(await scanned.text()).not.toContain(token)

    const { page, context, foreign, errors } = await openPage(await browser(), r.url)
    await page.goto(link)
    await page.getByRole('heading', { name: 'Choose a new password' }).waitFor()
    await expectAccessible(page)

    // Weak password: the API refuses it with its own message; the token survives.
    await page.getByLabel('New password', { exact: true }).fill('weakpassword')
    await page.getByLabel('Repeat the new password').fill('weakpassword')
    await page.getByRole('button', { name: 'Change my password' }).click()
    await page.getByRole('alert').filter({ hasText: 'Password must contain at least one digit and one uppercase letter' }).waitFor()
    await expectAccessible(page)

    await page.getByLabel('New password', { exact: true }).fill('NewSecret99')
    await page.getByLabel('Repeat the new password').fill('NewSecret99')
    await page.getByRole('button', { name: 'Change my password' }).click()
    await page.getByRole('heading', { name: 'Password changed' }).waitFor()
    await expectAccessible(page)
    expect((await loginToken(r, 'alice', 'NewSecret99')).status).toBe(200)

    // The same link again: spent, and the page says so.
    await page.goto(link)
    await page.getByLabel('New password', { exact: true }).fill('Another123')
    await page.getByLabel('Repeat the new password').fill('Another123')
    await page.getByRole('button', { name: 'Change my password' }).click()
    await page.getByRole('heading', { name: 'This link no longer works' }).waitFor()
    await expectAccessible(page)
    expect((await loginToken(r, 'alice', 'Another123')).status).toBe(401)

    expect(foreign).toEqual([])
    expect(errors).toEqual([])
    expect((await storage(page)).local).toEqual({})
    await context.close()
  }, SLOW)

  test('a link without a token, and mismatched passwords, are caught on the page', async () => {
    const r = await startRoster()
    const { page, context, foreign } = await openPage(await browser(), r.url)
    await page.goto(`${r.url}/reset-password`)
    await page.getByRole('alert').filter({ hasText: 'This link is incomplete' }).waitFor()
    await expectAccessible(page)
    await page.goto(`${r.url}/reset-password?token=abc`)
    await page.getByLabel('New password', { exact: true }).fill('NewSecret99')
    await page.getByLabel('Repeat the new password').fill('NewSecret98')
    await page.getByText('The two passwords differ.').first().waitFor()
    // An unknown token: the same "used or expired" answer as a spent one.
    await page.getByLabel('Repeat the new password').fill('NewSecret99')
    await page.getByRole('button', { name: 'Change my password' }).click()
    await page.getByRole('heading', { name: 'This link no longer works' }).waitFor()
    expect(foreign).toEqual([])
    await context.close()
  }, SLOW)
})

describe('verify e-mail and accept invitation pages', () => {
  test('say what they will do and send nothing until the button is pressed', async () => {
    const r = await startRoster()
    const { page, context, foreign } = await openPage(await browser(), r.url)
    const posted: string[] = []
    page.on('request', (q) => q.method() === 'POST' && posted.push(new URL(q.url()).pathname))

    await page.goto(`${r.url}/verify-email?token=abc`)
    await page.getByRole('button', { name: 'Confirm my e-mail address' }).waitFor()
    await expectAccessible(page)
    await page.goto(`${r.url}/accept-invite?token=abc`)
    await page.getByRole('button', { name: 'Create my account' }).waitFor()
    await expectAccessible(page)
    expect(posted).toEqual([])

    await page.getByLabel('Username').fill('newbie')
    await page.getByLabel('Password').fill('Secret123')
    // Wait for the POST itself and then for the page's answer to it: the form's own
    // heading is on the page before the press, so it proves nothing was sent.
    await Promise.all([
      page.waitForResponse((q) => q.request().method() === 'POST' && new URL(q.url()).pathname === '/auth/accept-invite'),
      page.getByRole('button', { name: 'Create my account' }).click()
    ])
    await page.getByText(/no longer works|does not take invitations/).first().waitFor()
    expect(posted).toEqual(['/auth/accept-invite'])
    expect(foreign).toEqual([])
    await context.close()
  }, SLOW)
})
