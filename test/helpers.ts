// Test harness: every test gets its own app on a fresh database in a temp
// folder, with migrations applied, and a logger whose lines are kept for leak
// checks. Tests talk HTTP through app.handle().
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { expect, test } from 'bun:test'
import { createApp } from '../src/app'
import { createServices } from '../src/services'
import { parseConfig, type Config } from '../src/config'
import { DB_FILE } from '../src/db/client'
import { pgData, sqliteData, type Data, type Q, type Tables } from '../src/db/data'
import { createLogger } from '../src/lib/log'

export const SECRET = 'test-secret-key-that-is-long-enough-0123456789'
export const PASSWORD = 'Secret123'

// Run after every test by the afterEach in test/setup.ts (the preload): an
// afterEach registered here would only apply to the first file that imports this.
import { cleanups } from './cleanup'

export function tempDir(prefix = 'roster-test-'): string {
  const dir = mkdtempSync(join(tmpdir(), prefix))
  cleanups.push(() => rmSync(dir, { recursive: true, force: true }))
  return dir
}

/**
 * The backend the suite runs on: SQLite unless ROSTER_TEST_DB=pg, then a fresh
 * database per test on the run's throwaway PostgreSQL cluster (test/pg.ts).
 */
export const BACKEND: 'sqlite' | 'pg' = process.env.ROSTER_TEST_DB === 'pg' ? 'pg' : 'sqlite'

export interface TestApp {
  app: ReturnType<typeof createApp>
  services: ReturnType<typeof createServices>
  data: Data
  /** Drizzle on the test's database, and its tables (either engine's). */
  db: Q
  tables: Tables
  /** Raw SQL with `?` placeholders on either engine (tests that poke rows directly). */
  sql<T = Record<string, unknown>>(query: string, ...params: unknown[]): Promise<T[]>
  config: Config
  logs: string[]
  dataDir: string
}

const databaseUrls = new WeakMap<Data, string>()

/** The PostgreSQL URL a test's Data was opened on: another instance can open it too. */
export const databaseUrlOf = (data: Data): string | undefined => databaseUrls.get(data)

/**
 * A migrated database for one test on the selected backend, closed after it.
 * On PostgreSQL its URL is returned too (for DATABASE_URL: the mail worker
 * and child processes open their own connections).
 */
export async function testDatabase(dataDir: string): Promise<{ data: Data; url: string | undefined }> {
  let data: Data
  let url: string | undefined
  if (BACKEND === 'pg') {
    const { freshDatabase } = await import('./pg')
    url = await freshDatabase()
    data = pgData(url, { max: 4 })
    databaseUrls.set(data, url)
  } else {
    data = sqliteData(join(dataDir, DB_FILE))
    await data.migrate()
  }
  cleanups.push(() => data.close())
  return { data, url }
}

export async function testData(dataDir: string): Promise<Data> {
  return (await testDatabase(dataDir)).data
}

export function rawSql(data: Data) {
  return async function sql<T = Record<string, unknown>>(query: string, ...params: unknown[]): Promise<T[]> {
    if (data.sqlite) return data.sqlite.query(query).all(...(params as never[])) as T[]
    let n = 0
    return (await data.pg!.unsafe(query.replace(/\?/g, () => `$${++n}`), params as never[])) as T[]
  }
}

export interface AppOptions {
  /** The app's clock for TOTP codes and token expiry (a controlled clock; never sleep). */
  now?: () => number
}

export async function makeApp(env: Record<string, string> = {}, opts: AppOptions = {}): Promise<TestApp> {
  const dataDir = tempDir()
  const { data, url } = await testDatabase(dataDir)
  const config = parseConfig({ DATA_DIR: dataDir, SECRET_KEY: SECRET, LOG_LEVEL: 'info', RATE_LIMIT_PER_MINUTE: '0', ...(url ? { DATABASE_URL: url } : {}), ...env })
  const logs: string[] = []
  const logger = createLogger(config.logLevel, (l) => logs.push(l))
  const deps = { config, data, secret: SECRET, logger, now: opts.now }
  const services = createServices(deps)
  const app = createApp(deps, services)
  return { app, services, data, db: data.db, tables: data.t, sql: rawSql(data), config, logs, dataDir }
}

export interface Res {
  status: number
  headers: Headers
  text: string
  json: any
}

export interface ReqOptions {
  token?: string
  body?: unknown
  /** Sent as-is (for invalid JSON and other raw bodies). */
  raw?: string
  form?: Record<string, string>
  headers?: Record<string, string>
}

export async function req(t: TestApp, method: string, path: string, opts: ReqOptions = {}): Promise<Res> {
  const headers: Record<string, string> = { ...opts.headers }
  let body: string | undefined
  if (opts.token) headers.authorization = `Bearer ${opts.token}`
  if (opts.body !== undefined) {
    headers['content-type'] ??= 'application/json'
    body = JSON.stringify(opts.body)
  } else if (opts.raw !== undefined) {
    headers['content-type'] ??= 'application/json'
    body = opts.raw
  } else if (opts.form) {
    headers['content-type'] = 'application/x-www-form-urlencoded'
    body = new URLSearchParams(opts.form).toString()
  }
  return readRes(await t.app.handle(new Request(`http://localhost${path}`, { method, headers, body })))
}

/** Status, headers, text and (when it parses) JSON of a response. */
export async function readRes(res: Response): Promise<Res> {
  const text = await res.text()
  let json: unknown
  try {
    json = text ? JSON.parse(text) : undefined
  } catch {
    json = undefined
  }
  return { status: res.status, headers: res.headers, text, json }
}

export function userBody(username: string, extra: Record<string, unknown> = {}) {
  return { username, email: `${username}@example.com`, password: PASSWORD, ...extra }
}

export async function signup(t: TestApp, username: string, extra: Record<string, unknown> = {}) {
  const res = await req(t, 'POST', '/users', { body: userBody(username, extra) })
  expect(res.status).toBe(201)
  return res.json as { id: number; username: string; email: string; role: string }
}

export async function login(t: TestApp, username: string, password = PASSWORD): Promise<string> {
  const res = await req(t, 'POST', '/auth/login', { body: { username, password } })
  expect(res.status).toBe(200)
  return res.json.access_token as string
}

/** An admin created through the service (as ADMIN_* bootstrap does) and its token. */
export async function admin(t: TestApp, username = 'root'): Promise<{ id: number; token: string }> {
  const row = await t.services.users.create(
    { username, email: `${username}@example.com`, password: PASSWORD, role: 'admin' },
    { id: 0, role: 'admin' }
  )
  return { id: row.id, token: await login(t, username) }
}

export async function userWithToken(t: TestApp, username: string) {
  const u = await signup(t, username)
  return { ...u, token: await login(t, username) }
}

/** Nothing secret may appear in a response body or a log line. */
export function expectNoSecrets(text: string, extra: string[] = []) {
  for (const needle of ['$argon2', 'hashed_password', 'hashedPassword', PASSWORD, SECRET, 'SQLITE', 'sqlite', 'at /', ...extra]) {
    expect(text).not.toContain(needle)
  }
}

/** Request log lines are written after the response is handed back; let them land. */
export async function settledLogs(t: TestApp): Promise<string[]> {
  await Bun.sleep(10)
  return t.logs
}

export interface World {
  t: TestApp
  alice: { id: number; token: string }
  bob: { id: number; token: string }
  root: { id: number; token: string }
}

/** A fresh app with an admin (root) and two users (alice, bob), each logged in. */
export async function world(env: Record<string, string> = {}): Promise<World> {
  const t = await makeApp(env)
  const root = await admin(t)
  const alice = await userWithToken(t, 'alice')
  const bob = await userWithToken(t, 'bob')
  return { t, alice, bob, root }
}

/** One row of a route's table: unauthenticated, forbidden, invalid input, success... */
export interface Scenario<W extends { t: TestApp } = World> {
  name: string
  method: string
  url: (w: W) => string
  token?: (w: W) => string
  /** Sent as JSON. */
  body?: unknown
  /** Sent as-is with a JSON content type (invalid JSON and other raw bodies). */
  raw?: string
  /** Changes the world before the request (rows in some state, say). */
  setup?: (w: W) => void | Promise<void>
  status: number
  expect?: (json: any, w: W) => void | Promise<void>
  /** Besides the usual secrets, strings that no response or log line may hold. */
  notExpect?: (w: W) => string[]
}

/**
 * The one scenario runner: each scenario is a test on a fresh world. Every
 * response and log line is checked for leaks, a 401 must name the Bearer
 * scheme, and a body-bearing reply must be JSON.
 */
export function scenarios(list: Scenario[]): void
export function scenarios<W extends { t: TestApp }>(list: Scenario<W>[], makeWorld: () => Promise<W>): void
export function scenarios<W extends { t: TestApp }>(list: Scenario<W>[], makeWorld: () => Promise<W> = world as never): void {
  for (const s of list) {
    test(s.name, async () => {
      const w = await makeWorld()
      await s.setup?.(w)
      const res = await req(w.t, s.method, s.url(w), { token: s.token?.(w), body: s.body, raw: s.raw })
      expect(res.status).toBe(s.status)
      if (s.status !== 204) expect(res.headers.get('content-type') ?? '').toContain('application/json')
      if (s.status === 401) expect(res.headers.get('www-authenticate')).toBe('Bearer')
      const extra = s.notExpect?.(w) ?? []
      expectNoSecrets(res.text, extra)
      await s.expect?.(res.json, w)
      for (const line of await settledLogs(w.t)) expectNoSecrets(line, extra)
    })
  }
}

/**
 * Counts argon2 verifications from now on in this test file (its `n`; reset it
 * between tests), to prove that a refused attempt computes no hash. With
 * `which`, only the checks it accepts, given their outcome (it runs in the
 * caller's async context).
 */
export function countPasswordChecks(which: (passed: boolean) => boolean = () => true): { n: number } {
  const checks = { n: 0 }
  const real = Bun.password.verify
  Bun.password.verify = (async (...args: Parameters<typeof real>) => {
    const passed = await real(...args)
    if (which(passed)) checks.n++
    return passed
  }) as typeof real
  return checks
}
