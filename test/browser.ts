// The one browser launcher for every browser test: playwright-core driving Debian's
// chromium (`.ci/run` installs it). playwright-core never downloads a browser, which
// would fail offline. Each launch gets a fresh temporary profile (Playwright creates
// and removes it), so no cookie, cache or storage carries over between runs.
import { expect } from 'bun:test'
import { readFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core'

export const CHROMIUM = '/usr/bin/chromium'

// Quiet and deterministic: no sandbox (CI runs as root, where chromium refuses to start
// with it), no GPU, no QUIC, and none of the background traffic (updates, sync,
// safe-browsing lists) that would leave the machine or make a test wait on the network.
const ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync'
]

export function launchBrowser(): Promise<Browser> {
  return chromium.launch({ executablePath: CHROMIUM, args: ARGS, headless: true })
}

export interface OpenPage {
  context: BrowserContext
  page: Page
  /** Every request the page tried to send anywhere but `origin` (each one was aborted). */
  foreign: string[]
  /** Console errors and uncaught exceptions: CSP violations show up here. An HTTP error
   *  status the page handles (a 4xx from the API) is not one of them. */
  errors: string[]
}

/**
 * A new isolated context and page on `origin`. Any request to another origin is
 * recorded and aborted, so a test can assert that nothing leaves Roster's origin
 * without the test itself reaching out.
 */
export async function openPage(browser: Browser, origin: string, opts: { width?: number; height?: number } = {}): Promise<OpenPage> {
  const context = await browser.newContext({ viewport: { width: opts.width ?? 1280, height: opts.height ?? 800 } })
  // Well under a browser test's own budget (SLOW, 180 s), so a missing element
  // fails with its locator; generous, because one step (a page load, a password
  // hash behind a click) took over 15 s on a machine loaded 10 times over.
  context.setDefaultTimeout(60_000)
  const foreign: string[] = []
  const errors: string[] = []
  const own = new URL(origin).origin
  await context.route('**/*', (route) => {
    const url = route.request().url()
    if (new URL(url).origin === own) return route.continue()
    foreign.push(url)
    return route.abort('blockedbyclient')
  })
  const page = await context.newPage()
  page.on('console', (m) => {
    if (m.type() === 'error' && !m.text().startsWith('Failed to load resource: the server responded')) errors.push(m.text())
  })
  page.on('pageerror', (e) => errors.push(String(e)))
  return { context, page, foreign, errors }
}

let axeSource: string | undefined
function axe(): string {
  axeSource ??= readFileSync(createRequire(import.meta.url).resolve('axe-core/axe.min.js'), 'utf8')
  return axeSource
}

export interface AxeViolation {
  id: string
  impact: string
  help: string
  targets: string[]
}

/**
 * axe-core's serious and critical violations on the page as it is now. The source is
 * evaluated in the page (under a strict CSP `addScriptTag` is refused; `evaluate` runs
 * through the DevTools protocol, which CSP does not govern).
 */
export async function axeViolations(page: Page): Promise<AxeViolation[]> {
  await page.evaluate(axe())
  const found = await page.evaluate(async () => {
    const a = (globalThis as any).axe
    const r = await a.run((globalThis as any).document, { resultTypes: ['violations'] })
    return r.violations.map((v: any) => ({ id: v.id, impact: v.impact, help: v.help, targets: v.nodes.map((n: any) => String(n.target)) }))
  })
  return (found as AxeViolation[]).filter((v) => v.impact === 'serious' || v.impact === 'critical')
}

/** The page as it is now has no serious or critical accessibility violation. */
export async function expectAccessible(page: Page): Promise<void> {
  expect(await axeViolations(page)).toEqual([])
}

/** Everything the page's origin keeps in localStorage and sessionStorage. */
export function storage(page: Page): Promise<{ local: Record<string, string>; session: Record<string, string> }> {
  return page.evaluate(() => {
    const g = globalThis as any
    return { local: { ...g.localStorage }, session: { ...g.sessionStorage } }
  })
}
