// The console's HTTP surface, through app.handle on a fresh app: the redirect, the
// pages' security headers, the hashed assets, and the bundle's size budget.
import { describe, expect, test } from 'bun:test'
import { gzipSync } from 'node:zlib'
import { bundleWeb } from '../src/modules/console/bundle'
import { makeApp, req } from './helpers'

const PAGES = ['/console/', '/console', '/console/users/12', '/reset-password?token=tok3n-value', '/verify-email?token=tok3n-value', '/accept-invite?token=tok3n-value']

describe('console and hosted pages over HTTP', () => {
  test('GET / redirects to the console', async () => {
    const res = await req(await makeApp(), 'GET', '/')
    expect(res.status).toBe(302)
    expect(res.headers.get('location')).toBe('/console/')
  })

  test('every page: a static shell under a strict CSP, never cached, never framed, the token not echoed', async () => {
    const t = await makeApp()
    for (const path of PAGES) {
      const res = await req(t, 'GET', path)
      expect(res.status).toBe(200)
      expect(res.headers.get('content-type')).toBe('text/html; charset=utf-8')
      const csp = res.headers.get('content-security-policy')!
      for (const d of ["default-src 'none'", "script-src 'self'", "style-src 'self'", "connect-src 'self'", "frame-ancestors 'none'", "base-uri 'none'"]) expect(csp).toContain(d)
      expect(csp).not.toContain('unsafe')
      expect(res.headers.get('cache-control')).toBe('no-store')
      expect(res.headers.get('x-frame-options')).toBe('DENY')
      expect(res.headers.get('referrer-policy')).toBe('no-referrer')
      expect(res.text).not.toContain('tok3n-value')
      // No inline script or style for the CSP to have to allow.
      expect(res.text).not.toMatch(/<script(?![^>]*\bsrc=)|<style|\sstyle=|\son[a-z]+=/i)
    }
  })

  test('assets: content-hashed, cached for good; an unknown one is a JSON 404', async () => {
    const t = await makeApp()
    const shell = (await req(t, 'GET', '/console/')).text
    const names = [...shell.matchAll(/\/console\/assets\/([^"]+)"/g)].map((m) => m[1]!)
    expect(names.map((n) => n.replace(/-[a-z0-9]+\./, '.')).sort()).toEqual(['main.css', 'main.js'])
    for (const n of names) {
      const res = await req(t, 'GET', `/console/assets/${n}`)
      expect(res.status).toBe(200)
      expect(res.headers.get('content-type')).toStartWith(n.endsWith('.js') ? 'text/javascript' : 'text/css')
      expect(res.headers.get('cache-control')).toBe('public, max-age=31536000, immutable')
    }
    const missing = await req(t, 'GET', '/console/assets/main-00000000.js')
    expect(missing.status).toBe(404)
    expect(missing.json).toEqual({ detail: 'Not Found' })
  })

  test('the pages are not API operations: the OpenAPI document does not list them', async () => {
    const doc = (await req(await makeApp(), 'GET', '/openapi.json')).json
    const paths = Object.keys(doc.paths)
    expect(paths.filter((p) => p === '/' || p.startsWith('/console') || ['/reset-password', '/verify-email', '/accept-invite'].includes(p))).toEqual([])
  })

  test('the whole front end is at most 150 KB gzipped', async () => {
    const assets = await bundleWeb()
    const total = assets.reduce((n, a) => n + gzipSync(a.body).length, 0)
    expect(total).toBeGreaterThan(1000)
    expect(total).toBeLessThanOrEqual(150 * 1024)
  })
})
