// The one way tests start a real browser: Debian's chromium driven by
// playwright-core (which downloads no browser of its own, so it works offline).
// Each launch gets a fresh profile folder, removed after the test; nothing
// reaches out to Google's services in the background.
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core'
import { cleanups } from './cleanup'
import { tempDir } from './helpers'

export const CHROMIUM = '/usr/bin/chromium'

const ARGS = [
  '--headless',
  // Tests run as root here, where chromium refuses to start sandboxed.
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync'
]

export interface TestBrowser {
  context: BrowserContext
  page: Page
}

/**
 * A headless chromium with a fresh profile and one open page, closed after the
 * test (by the preload's afterEach). `launchPersistentContext` is how a
 * user-data-dir is given to playwright.
 */
export async function launchBrowser(opts: { viewport?: { width: number; height: number } } = {}): Promise<TestBrowser> {
  const profile = tempDir('roster-chromium-')
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    args: ARGS,
    viewport: opts.viewport ?? { width: 1280, height: 900 }
  })
  // Cleanups run last first: the browser exits before its profile folder is removed.
  cleanups.push(() => context.close())
  const page = context.pages()[0] ?? (await context.newPage())
  return { context, page }
}

export type { Browser, BrowserContext, Page }
