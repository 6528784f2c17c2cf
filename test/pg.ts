// A throwaway PostgreSQL cluster for the test run: initdb + pg_ctl on a free
// private port and a private socket folder under /tmp, started once per `bun
// test` process (the first test that asks) and removed when the process exits.
// Each test gets its own database, copied from a template that has the
// migrations applied (CREATE DATABASE ... TEMPLATE: a file copy, no SQL replay).
//
// Run as root (CI), the server runs as the `postgres` OS user, as initdb
// requires. fsync is off: a crashed test cluster is simply thrown away.
import { SQL } from 'bun'
import { chownSync, existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs'
import { join } from 'node:path'
import { openPostgres, runPgMigrations } from '../src/db/pg'
import { cleanups } from './cleanup'
import { freePort } from './server'

const TEMPLATE = 'roster_template'

export interface Cluster {
  port: number
  /** URL of a database on the cluster (the maintenance one by default). */
  url(db?: string): string
  admin: SQL
}

/** The newest PostgreSQL server binaries on this machine, or undefined. */
export function pgBinDir(): string | undefined {
  const root = '/usr/lib/postgresql'
  if (!existsSync(root)) return undefined
  const versions = readdirSync(root)
    .filter((v) => /^\d+$/.test(v) && existsSync(join(root, v, 'bin', 'initdb')))
    .sort((a, b) => Number(b) - Number(a))
  return versions[0] ? join(root, versions[0], 'bin') : undefined
}

const isRoot = process.getuid?.() === 0

function run(cmd: string[], what: string): void {
  const argv = isRoot ? ['runuser', '-u', 'postgres', '--', ...cmd] : cmd
  const r = Bun.spawnSync(argv, { stdout: 'pipe', stderr: 'pipe' })
  if (r.exitCode !== 0) throw new Error(`${what} failed (${r.exitCode}): ${r.stderr.toString().slice(0, 2000)}`)
}

let starting: Promise<Cluster> | undefined

/** The run's cluster, started on first use. */
export function cluster(): Promise<Cluster> {
  starting ??= start()
  return starting
}

async function start(): Promise<Cluster> {
  const bin = pgBinDir()
  if (!bin) throw new Error('PostgreSQL server binaries not found under /usr/lib/postgresql (apt-get install postgresql)')
  const dir = mkdtempSync('/tmp/roster-pg-')
  if (isRoot) chownSync(dir, Number(Bun.spawnSync(['id', '-u', 'postgres']).stdout.toString().trim()), 0)
  const data = join(dir, 'data')
  run([join(bin, 'initdb'), '-D', data, '-A', 'trust', '-U', 'postgres', '-E', 'UTF8', '--locale=C', '--no-sync', '--no-instructions'], 'initdb')

  let port = 0
  for (let attempt = 0; ; attempt++) {
    port = freePort()
    const opts = [
      `-p ${port}`,
      `-k ${dir}`,
      "-c listen_addresses='127.0.0.1'",
      '-c fsync=off',
      '-c synchronous_commit=off',
      '-c full_page_writes=off',
      '-c max_connections=300'
    ].join(' ')
    try {
      run([join(bin, 'pg_ctl'), '-D', data, '-l', join(dir, 'log'), '-w', '-t', '60', '-o', opts, 'start'], 'pg_ctl start')
      break
    } catch (err) {
      // Another process took the port between the probe and the start.
      if (attempt >= 3) throw err
    }
  }
  // A watchdog outlives us and stops the cluster once this process is gone,
  // however it ends (bun test does not run 'exit' handlers; kill -9 runs nothing).
  const stop = `${isRoot ? 'runuser -u postgres -- ' : ''}${join(bin, 'pg_ctl')} -D ${data} -m immediate stop`
  Bun.spawn(['sh', '-c', `while kill -0 ${process.pid} 2>/dev/null; do sleep 1; done; ${stop}; rm -rf ${dir}`], {
    stdio: ['ignore', 'ignore', 'ignore']
  }).unref()

  const url = (db = 'postgres') => `postgres://postgres@127.0.0.1:${port}/${db}`
  const admin = new SQL(url(), { max: 2 })
  await admin.unsafe(`CREATE DATABASE ${TEMPLATE}`)
  // Two connections: the migrator's advisory lock holds one for the whole run.
  const tpl = openPostgres(url(TEMPLATE), { max: 2 })
  await runPgMigrations(tpl)
  await tpl.$client.close()
  return { port, url, admin }
}

let counter = 0

/**
 * A fresh, migrated database for the current test, dropped after it. Returns
 * its URL; whoever connects must close their pool before the test ends (the
 * drop forces remaining connections off anyway).
 */
export async function freshDatabase(): Promise<string> {
  const c = await cluster()
  const name = `t_${process.pid}_${++counter}`
  await c.admin.unsafe(`CREATE DATABASE ${name} TEMPLATE ${TEMPLATE}`)
  cleanups.push(() => {
    void c.admin.unsafe(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`).catch(() => {})
  })
  return c.url(name)
}

/** An empty database (no migrations), for tests of the migrator itself. */
export async function emptyDatabase(): Promise<string> {
  const c = await cluster()
  const name = `e_${process.pid}_${++counter}`
  await c.admin.unsafe(`CREATE DATABASE ${name}`)
  cleanups.push(() => {
    void c.admin.unsafe(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`).catch(() => {})
  })
  return c.url(name)
}
