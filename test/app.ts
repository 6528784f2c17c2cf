// The app on a fresh SQLite database, wired exactly as `serve` wires it, for
// the in-process benchmarks. No bun:test import here: benchmarks run outside
// the test runner. (Tests use makeApp in helpers.ts, which also runs on PostgreSQL.)
import { join } from 'node:path'
import { createApp } from '../src/app'
import { parseConfig, type Config } from '../src/config'
import { DB_FILE } from '../src/db/client'
import { sqliteData, type Data } from '../src/db/data'
import type { UserRow } from '../src/db/schema'
import type { Logger } from '../src/lib/log'
import type { MailKicker } from '../src/mail/service'
import { createServices, type Services } from '../src/services'

export interface BuiltApp {
  app: ReturnType<typeof createApp>
  services: Services
  data: Data
  config: Config
}

/** Migrates DATA_DIR's database and builds the services and the app on it. */
export async function buildApp(o: { dataDir: string; secret: string; env?: Record<string, string>; logger: Logger; mailer?: MailKicker }): Promise<BuiltApp> {
  const config = parseConfig({ DATA_DIR: o.dataDir, SECRET_KEY: o.secret, ...o.env })
  const data = sqliteData(join(o.dataDir, DB_FILE))
  await data.migrate()
  const deps = { config, data, secret: o.secret, logger: o.logger, mailer: o.mailer }
  const services = createServices(deps)
  return { app: createApp(deps, services), services, data, config }
}

/** A session and an access token for `user` without a login (no password hash on the way). */
export async function accessToken(services: Services, user: Pick<UserRow, 'id' | 'tokenVersion'>): Promise<string> {
  const session = await services.sessions.start(user, { userAgent: null, ip: null })
  if (!session) throw new Error('the user changed while the session was opened')
  return services.tokens.sign(user.id, user.tokenVersion, session.id)
}
