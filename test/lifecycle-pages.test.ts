// The verify-e-mail and accept-invitation pages, opened from real e-mails of the
// compiled binary: nothing is spent by loading them (a mail scanner's GET), the
// button spends the token once, and a second use says the link no longer works.
import { afterEach, describe, expect, test } from 'bun:test'
import { cleanup } from './binary'
import { expectAccessible, openPage, storage } from './browser'
import { ADMIN, api, createUser, loginToken, sharedBrowser, SLOW, startRoster, type Roster } from './console-world'
import { PASSWORD } from './helpers'
import { until, type ReceivedMail } from './mail-helpers'

afterEach(cleanup)
const browser = sharedBrowser()

async function linkFrom(r: Roster, to: string, page: string): Promise<string> {
  const match = (m: ReceivedMail) => m.to.includes(to) && (m.text ?? '').includes(`/${page}?token=`)
  await until(() => r.smtp.messages.some(match))
  const text = r.smtp.messages.find(match)!.text!
  const link = new RegExp(`(http://127\\.0\\.0\\.1:\\d+/${page}\\?token=[A-Za-z0-9_%-]+)`).exec(text)![1]!
  expect(link.startsWith(`${r.url}/${page}?token=`)).toBe(true)
  // A mail scanner fetches it first: that spends nothing.
  expect((await fetch(link)).status).toBe(200)
  return link
}

describe('verify e-mail from the welcome mail', () => {
  test('the button confirms the address once', async () => {
    const r = await startRoster()
    await createUser(r, 'alice')
    const link = await linkFrom(r, 'alice@example.com', 'verify-email')
    const token = (await loginToken(r, 'alice', PASSWORD)).json.access_token
    expect((await api(r, 'GET', '/users/me', undefined, token)).json.email_verified).toBe(false)

    const { page, context, foreign, errors } = await openPage(await browser(), r.url)
    await page.goto(link)
    await page.getByRole('heading', { name: 'Confirm your e-mail address' }).waitFor()
    await expectAccessible(page)
    expect((await api(r, 'GET', '/users/me', undefined, token)).json.email_verified).toBe(false)
    await page.getByRole('button', { name: 'Confirm my e-mail address' }).click()
    await page.getByRole('heading', { name: 'E-mail address confirmed' }).waitFor()
    await expectAccessible(page)
    expect((await api(r, 'GET', '/users/me', undefined, token)).json.email_verified).toBe(true)

    await page.goto(link)
    await page.getByRole('button', { name: 'Confirm my e-mail address' }).click()
    await page.getByRole('heading', { name: 'This link no longer works' }).waitFor()
    await expectAccessible(page)
    expect(foreign).toEqual([])
    expect(errors).toEqual([])
    expect((await storage(page)).local).toEqual({})
    await context.close()
  }, SLOW)
})

describe('invitation from the console to a new account', () => {
  test('an admin invites from the console; the invitee accepts on the page with the API’s password rules', async () => {
    const r = await startRoster()
    const b = await browser()
    const adminTab = await openPage(b, r.url)
    const { page } = adminTab
    await page.goto(`${r.url}/`)
    await page.getByLabel('Username or e-mail').fill(ADMIN.username)
    await page.getByLabel('Password').fill(ADMIN.password)
    await page.getByRole('button', { name: 'Sign in' }).click()
    await page.getByRole('heading', { name: 'Your profile' }).waitFor()
    await page.getByRole('navigation', { name: 'Console' }).getByRole('link', { name: 'Invitations', exact: true }).click()
    await page.getByText('No pending invitation.').waitFor()
    await page.getByLabel('E-mail address').fill('newbie@example.com')
    await page.getByLabel('Role').selectOption('admin')
    await page.getByRole('button', { name: 'Send invitation' }).click()
    await page.getByRole('status').filter({ hasText: 'Invitation sent to newbie@example.com.' }).waitFor()
    await page.getByRole('cell', { name: 'newbie@example.com', exact: true }).waitFor()
    await expectAccessible(page)

    const link = await linkFrom(r, 'newbie@example.com', 'accept-invite')
    const invitee = await openPage(b, r.url)
    const p = invitee.page
    await p.goto(link)
    await p.getByRole('heading', { name: 'Accept your invitation' }).waitFor()
    await expectAccessible(p)
    await p.getByLabel('Username').fill('newbie')
    await p.getByLabel('Password').fill('weakpassword')
    await p.getByRole('button', { name: 'Create my account' }).click()
    await p.getByRole('alert').filter({ hasText: 'Password must contain at least one digit and one uppercase letter' }).waitFor()
    await expectAccessible(p)
    await p.getByLabel('Password').fill('Newbie1234')
    await p.getByRole('button', { name: 'Create my account' }).click()
    await p.getByRole('heading', { name: 'Your account is ready' }).waitFor()
    await expectAccessible(p)

    const login = await loginToken(r, 'newbie', 'Newbie1234')
    expect(login.status).toBe(200)
    const me = (await api(r, 'GET', '/users/me', undefined, login.json.access_token)).json
    expect(me).toMatchObject({ email: 'newbie@example.com', role: 'admin', email_verified: true })

    await p.goto(link)
    await p.getByLabel('Username').fill('newbie2')
    await p.getByLabel('Password').fill('Newbie1234')
    await p.getByRole('button', { name: 'Create my account' }).click()
    await p.getByRole('heading', { name: 'This invitation no longer works' }).waitFor()

    // The admin's list no longer shows it as pending.
    await page.reload()
    await page.getByText('No pending invitation.').waitFor()
    expect([...adminTab.foreign, ...invitee.foreign]).toEqual([])
    expect([...adminTab.errors, ...invitee.errors]).toEqual([])
    await adminTab.context.close()
    await invitee.context.close()
  }, SLOW)
})
