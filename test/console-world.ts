// A real Roster for the browser tests: the compiled binary (the product as shipped,
// its console embedded) started in an empty folder, delivering mail to a real SMTP
// server the test started, with a bootstrap admin. PUBLIC_URL is the server's own
// address, so e-mailed links open on it.
import { afterAll } from 'bun:test'
import type { Browser } from 'playwright-core'
import { baseEnv, buildBinary, scratchDir } from './binary'
import { freePort, startServer, type Server } from './server'
import { launchBrowser } from './browser'
import { PASSWORD } from './helpers'
import { startSmtp, type TestSmtp } from './mail-helpers'

/** Per browser test: the first one may wait for the binary's build on a busy machine. */
export const SLOW = 180_000

export const ADMIN = { username: 'root', email: 'root@example.com', password: 'Admin12345' }

export interface Roster {
  url: string
  server: Server
  smtp: TestSmtp
  dir: string
  close(): Promise<void>
}

export async function startRoster(env: Record<string, string> = {}, bin?: string): Promise<Roster> {
  const binary = bin ?? (await buildBinary())
  const dir = scratchDir('roster-console-')
  const smtp = await startSmtp()
  const port = freePort()
  const url = `http://127.0.0.1:${port}`
  const server = await startServer([binary], {
    cwd: dir,
    env: baseEnv(`${dir}/data`, {
      PORT: String(port),
      PUBLIC_URL: url,
      SMTP_URL: smtp.url,
      ADMIN_USERNAME: ADMIN.username,
      ADMIN_EMAIL: ADMIN.email,
      ADMIN_PASSWORD: ADMIN.password,
      ...env
    })
  })
  return {
    url,
    server,
    smtp,
    dir,
    close: async () => {
      server.proc.kill('SIGTERM')
      await server.exited
      await smtp.close()
    }
  }
}

/** One browser per test file, closed after the file. */
export function sharedBrowser(): () => Promise<Browser> {
  let browser: Promise<Browser> | undefined
  afterAll(async () => {
    if (browser) await (await browser).close()
  })
  return () => (browser ??= launchBrowser())
}

export async function api(r: Roster, method: string, path: string, body?: unknown, token?: string): Promise<{ status: number; json: any }> {
  const res = await fetch(`${r.url}${path}`, {
    method,
    headers: { ...(body === undefined ? {} : { 'content-type': 'application/json' }), ...(token ? { authorization: `Bearer ${token}` } : {}) },
    body: body === undefined ? undefined : JSON.stringify(body)
  })
  const text = await res.text()
  return { status: res.status, json: text ? JSON.parse(text) : undefined }
}

export async function createUser(r: Roster, username: string, email = `${username}@example.com`) {
  const res = await api(r, 'POST', '/users', { username, email, password: PASSWORD })
  if (res.status !== 201) throw new Error(`signup ${username}: ${res.status}`)
  return res.json as { id: number; username: string; email: string }
}

export async function loginToken(r: Roster, username: string, password: string): Promise<{ status: number; json: any }> {
  return api(r, 'POST', '/auth/login', { username, password })
}
