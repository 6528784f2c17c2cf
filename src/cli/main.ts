// The command line: `roster [serve] | migrate | create-admin | backup | --help |
// --version`. Every failure is one line on stderr (`roster: ...`) and a non-zero
// exit: 2 for a usage mistake, 1 for anything else.
import { parseArgs, type ParseArgsConfig } from 'node:util'
import { ConfigError, envWithFile, parseConfig, type Config } from '../config'
import { AppError } from '../lib/errors'
import pkg from '../../package.json' with { type: 'json' }
import { auditVerify } from './audit'
import { backup } from './backup'
import { copyDb } from './copy-db'
import { createAdmin } from './create-admin'
import { healthcheck } from './healthcheck'
import { CliError, UsageError } from './errors'
import { openData } from './open'
import { serve } from './serve'

export const VERSION: string = pkg.version

export const HELP = `Roster ${VERSION}: self-hosted user-management REST API

Usage:
  roster [serve]                 start the server (applies pending migrations first)
  roster migrate                 apply pending database migrations and exit
  roster create-admin --username U --email E
                                 create an admin user; the password comes from
                                 ROSTER_ADMIN_PASSWORD, else a prompt (no echo),
                                 else the first line of standard input
  roster backup [--force] FILE   write a consistent copy of the database to FILE,
                                 also while the server runs; --force replaces FILE
                                 (SQLite; with DATABASE_URL use pg_dump)
  roster copy-db FROM TO         copy every table between databases, each a SQLite
                                 file or a postgres:// URL, into an empty target;
                                 stop the servers first
  roster healthcheck             exit 0 when the server on HOST:PORT answers /health
  roster audit verify            check the audit log's hash chain: prints the number
                                 of events checked (exit 0), or names the first
                                 edited or missing event (exit 1)
  roster --help | --version

Options (any command):
  --env-file FILE                read variables from FILE; variables already set in
                                 the environment win. .env is never read otherwise.

Environment (defaults in brackets):
  PORT [3000]  HOST [127.0.0.1]  DATA_DIR [./data]  SECRET_KEY [generated, kept in DATA_DIR]
  DATABASE_URL [SQLite in DATA_DIR]  UPLOAD_DIR [DATA_DIR/uploads]
  ACCESS_TOKEN_EXPIRE_MINUTES [30]  REFRESH_TOKEN_EXPIRE_DAYS [30]  ALLOW_SIGNUP [true]
  CORS_ORIGINS  RATE_LIMIT_PER_MINUTE [100]  TRUST_PROXY [false]
  MAX_UPLOAD_BYTES [10485760]  UPLOAD_QUOTA_BYTES [0]  UPLOAD_MAX_FILES [10000]
  USER_DIRECTORY [restricted]    restricted or open: what users see of each other
  SMTP_URL  MAIL_FROM  PUBLIC_URL  EMAIL_RETENTION_DAYS [7]  METRICS_TOKEN
  ADMIN_USERNAME + ADMIN_EMAIL + ADMIN_PASSWORD   create that admin at start if absent
  ROSTER_ADMIN_PASSWORD          password for create-admin
  LOG_LEVEL [info]               debug, info, warn, error or silent
  REQUIRE_EMAIL_VERIFICATION [false]  AUDIT_RETENTION_DAYS [365]

Docs: GET /docs on the running server; see README.md for systemd, Docker, backups.
`

type Options = NonNullable<ParseArgsConfig['options']>

const COMMON: Options = { 'env-file': { type: 'string' }, help: { type: 'boolean', short: 'h' } }

function parse(args: string[], options: Options, positionals: number) {
  let parsed
  try {
    parsed = parseArgs({ args, options: { ...COMMON, ...options }, strict: true, allowPositionals: positionals > 0 })
  } catch (err) {
    // node:util's messages are long; the first sentence names the problem.
    const message = err instanceof Error ? err.message.split('. ')[0]!.replace(/\.$/, '') : 'invalid arguments'
    throw new UsageError(message.charAt(0).toLowerCase() + message.slice(1))
  }
  if (parsed.positionals.length > positionals) throw new UsageError(`unexpected argument ${JSON.stringify(parsed.positionals[positionals])}`)
  return { values: parsed.values as Record<string, string | boolean | undefined>, positionals: parsed.positionals }
}

function loadConfig(envFile: string | boolean | undefined) {
  const env = envWithFile(typeof envFile === 'string' ? envFile : undefined)
  return { env, config: parseConfig(env) }
}

async function migrate(config: Config) {
  await (await openData(config)).close()
  process.stdout.write('migrations applied\n')
}

/** `--env-file X` may also come before the verb: move it after, where each verb parses it. */
function hoistEnvFile(argv: string[]): string[] {
  const head = argv[0]
  if (head === '--env-file' && argv.length >= 2) return [...argv.slice(2, 3), ...argv.slice(0, 2), ...argv.slice(3)]
  if (head?.startsWith('--env-file=')) return [...argv.slice(1, 2), head, ...argv.slice(2)]
  return argv
}

async function dispatch(raw: string[]): Promise<void> {
  const argv = hoistEnvFile(raw)
  const first = argv[0]
  if (first === '--help' || first === '-h' || first === 'help') return void process.stdout.write(HELP)
  if (first === '--version' || first === '-v' || first === 'version') return void process.stdout.write(`roster ${VERSION}\n`)
  const verb = first === undefined || first.startsWith('-') ? 'serve' : first
  const rest = first === verb ? argv.slice(1) : argv

  switch (verb) {
    case 'serve': {
      const { values } = parse(rest, {}, 0)
      if (values.help) return void process.stdout.write(HELP)
      return serve(loadConfig(values['env-file']).config)
    }
    case 'migrate': {
      const { values } = parse(rest, {}, 0)
      if (values.help) return void process.stdout.write(HELP)
      return migrate(loadConfig(values['env-file']).config)
    }
    case 'create-admin': {
      const { values } = parse(rest, { username: { type: 'string' }, email: { type: 'string' } }, 0)
      if (values.help) return void process.stdout.write(HELP)
      if (typeof values.username !== 'string') throw new UsageError('create-admin needs --username')
      if (typeof values.email !== 'string') throw new UsageError('create-admin needs --email')
      const { env, config } = loadConfig(values['env-file'])
      return createAdmin(config, env, values.username, values.email)
    }
    case 'backup': {
      const { values, positionals } = parse(rest, { force: { type: 'boolean', short: 'f' } }, 1)
      if (values.help) return void process.stdout.write(HELP)
      const file = positionals[0]
      if (!file) throw new UsageError('backup needs a destination file: roster backup FILE')
      return backup(loadConfig(values['env-file']).config, file, values.force === true)
    }
    case 'copy-db': {
      const { values, positionals } = parse(rest, {}, 2)
      if (values.help) return void process.stdout.write(HELP)
      if (positionals.length !== 2) throw new UsageError('copy-db needs a source and a target: roster copy-db FROM TO')
      return copyDb(positionals[0]!, positionals[1]!)
    }
    case 'healthcheck': {
      const { values } = parse(rest, {}, 0)
      if (values.help) return void process.stdout.write(HELP)
      return healthcheck(loadConfig(values['env-file']).config)
    }
    case 'audit': {
      const { values, positionals } = parse(rest, {}, 1)
      if (values.help) return void process.stdout.write(HELP)
      if (positionals[0] !== 'verify') throw new UsageError('audit needs a subcommand: roster audit verify')
      return auditVerify(loadConfig(values['env-file']).config)
    }
    default:
      throw new UsageError(`unknown command ${JSON.stringify(verb)}`)
  }
}

function fail(message: string, code: number): never {
  process.stderr.write(`roster: ${message}\n`)
  process.exit(code)
}

export function run(argv: string[]): void {
  dispatch(argv).catch((err: unknown) => {
    if (err instanceof UsageError) fail(`${err.message} (see roster --help)`, 2)
    if (err instanceof ConfigError || err instanceof CliError) fail(err.message, 1)
    // A service's refusal (duplicate user, ...) is already one plain sentence.
    if (err instanceof AppError) fail(err.detail, 1)
    // Anything else: the class and code only; messages can carry paths or SQL.
    const name = err instanceof Error ? err.name : 'error'
    const code = (err as { code?: unknown })?.code
    fail(`failed (${name}${typeof code === 'string' ? ` ${code}` : ''})`, 1)
  })
}
