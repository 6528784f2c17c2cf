// The app on a fresh database, wired exactly as `serve` wires it, for the
// tests (through makeApp in helpers.ts) and the in-process benchmarks. No
// bun:test import here: benchmarks run outside the test runner.
import { join } from 'node:path'
import { createApp } from '../src/app'
import { parseConfig, type Config } from '../src/config'
import { DB_FILE, openDatabase, type Db } from '../src/db/client'
import type { UserRow } from '../src/db/schema'
import { runMigrations } from '../src/db/migrate'
import type { Logger } from '../src/lib/log'
import type { MailKicker } from '../src/mail/service'
import { createServices, type Services } from '../src/services'

export interface BuiltApp {
  app: ReturnType<typeof createApp>
  services: Services
  db: Db
  config: Config
}

/** Migrates DATA_DIR's database and builds the services and the app on it. */
export function buildApp(o: { dataDir: string; secret: string; env?: Record<string, string>; logger: (config: Config) => Logger; mailer?: MailKicker }): BuiltApp {
  const config = parseConfig({ DATA_DIR: o.dataDir, SECRET_KEY: o.secret, ...o.env })
  const db = openDatabase(join(o.dataDir, DB_FILE))
  runMigrations(db)
  const deps = { config, db, secret: o.secret, logger: o.logger(config), mailer: o.mailer }
  const services = createServices(deps)
  return { app: createApp(deps, services), services, db, config }
}

/** A session and an access token for `user` without a login (no password hash on the way). */
export function accessToken(services: Services, user: UserRow): Promise<string> {
  const session = services.sessions.start(user.id, { userAgent: null, ip: null })
  return services.tokens.sign(user.id, user.tokenVersion, session.id)
}
