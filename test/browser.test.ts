// The shared launcher itself: chromium starts from Debian's package, a foreign request
// is caught (and never sent), and axe-core runs under a CSP that forbids inline scripts.
import { afterAll, beforeAll, describe, expect, test } from 'bun:test'
import type { Browser } from 'playwright-core'
import { axeViolations, launchBrowser, openPage, storage } from './browser'

let browser: Browser
let server: ReturnType<typeof Bun.serve>
let outside: ReturnType<typeof Bun.serve>
let outsideHits = 0

beforeAll(async () => {
  outside = Bun.serve({
    port: 0,
    hostname: '127.0.0.1',
    fetch() {
      outsideHits++
      return new Response('')
    }
  })
  // The image's host is another origin (another port); the missing alt text is a
  // critical axe violation.
  const html = `<!doctype html><html lang="en"><title>t</title><main><h1>Hi</h1><img src="${outside.url}pixel.png"></main>`
  server = Bun.serve({
    port: 0,
    hostname: '127.0.0.1',
    fetch: () => new Response(html, { headers: { 'content-type': 'text/html', 'content-security-policy': "default-src 'self' http:; script-src 'self'" } })
  })
  browser = await launchBrowser()
})

afterAll(async () => {
  await browser?.close()
  server?.stop(true)
  outside?.stop(true)
})

describe('browser launcher', () => {
  test('records and aborts requests to another origin, runs axe under a strict CSP', async () => {
    const { page, context, foreign } = await openPage(browser, server.url.href)
    await page.goto(server.url.href)
    await page.locator('h1').waitFor()
    expect(foreign).toEqual([`${outside.url.href}pixel.png`])
    expect(outsideHits).toBe(0)
    const violations = await axeViolations(page)
    expect(violations.map((v) => v.id)).toContain('image-alt')
    expect(await storage(page)).toEqual({ local: {}, session: {} })
    await context.close()
  })
})
