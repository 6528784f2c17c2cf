// The only module that reads the environment. Everything is parsed once, typed,
// and a bad value stops the start with one line that names the variable.
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import { join, resolve } from 'node:path'
import { randomBytes } from 'node:crypto'
import { parseEnv } from 'node:util'
import { passwordProblem } from './modules/users/model'

export type LogLevel = 'debug' | 'info' | 'warn' | 'error' | 'silent'

export interface Config {
  port: number
  host: string
  dataDir: string
  /** UPLOAD_DIR: the uploaded files (default DATA_DIR/uploads); shared by every instance. */
  uploadDir: string
  /** postgres:// URL: PostgreSQL instead of the SQLite file in DATA_DIR. */
  databaseUrl: string | undefined
  /** Raw key material; at least 32 bytes. Resolved by `resolveSecret`. */
  secretKey: string | undefined
  accessTokenExpireMinutes: number
  refreshTokenExpireDays: number
  allowSignup: boolean
  corsOrigins: string[]
  rateLimitPerMinute: number
  trustProxy: boolean
  maxUploadBytes: number
  uploadQuotaBytes: number
  /** Files one user may keep; 0: no limit. */
  uploadMaxFiles: number
  smtpUrl: string | undefined
  mailFrom: string
  publicUrl: string
  emailRetentionDays: number
  metricsToken: string | undefined
  admin: { username: string; email: string; password: string } | undefined
  logLevel: LogLevel
  /** restricted: non-admins see only UserPublic of other users; open: full rows of active users. */
  userDirectory: 'restricted' | 'open'
  requireEmailVerification: boolean
  /** Audit events older than this are pruned; 0 keeps them forever. */
  auditRetentionDays: number
}

export class ConfigError extends Error {
  constructor(
    readonly variable: string,
    reason: string
  ) {
    super(`${variable}: ${reason}`)
    this.name = 'ConfigError'
  }
}

type Env = Record<string, string | undefined>

const TRUE = new Set(['1', 'true', 'yes', 'on'])
const FALSE = new Set(['0', 'false', 'no', 'off'])

function str(env: Env, name: string): string | undefined {
  const v = env[name]
  if (v === undefined) return undefined
  const trimmed = v.trim()
  return trimmed === '' ? undefined : trimmed
}

function int(env: Env, name: string, fallback: number, min: number, max: number): number {
  const v = str(env, name)
  if (v === undefined) return fallback
  if (!/^\d+$/.test(v)) throw new ConfigError(name, `must be a whole number, got ${JSON.stringify(v)}`)
  const n = Number(v)
  if (n < min || n > max) throw new ConfigError(name, `must be between ${min} and ${max}, got ${n}`)
  return n
}

function bool(env: Env, name: string, fallback: boolean): boolean {
  const v = str(env, name)
  if (v === undefined) return fallback
  const lower = v.toLowerCase()
  if (TRUE.has(lower)) return true
  if (FALSE.has(lower)) return false
  throw new ConfigError(name, `must be true or false, got ${JSON.stringify(v)}`)
}

function url(env: Env, name: string, protocols: string[]): string | undefined {
  const v = str(env, name)
  if (v === undefined) return undefined
  let parsed: URL
  try {
    parsed = new URL(v)
  } catch {
    // Never echo the value: DATABASE_URL may carry a password.
    throw new ConfigError(name, 'is not a valid URL')
  }
  if (!protocols.includes(parsed.protocol)) {
    throw new ConfigError(name, `must start with ${protocols.map((p) => p + '//').join(' or ')}`)
  }
  return v
}

export interface ParsedSmtpUrl {
  host: string
  port: number
  secure: boolean
  user?: string | undefined
  pass?: string | undefined
}

/** The one check of SMTP_URL: run by parseConfig, and by the transport for its parts. */
export function parseSmtpUrl(smtpUrl: string): ParsedSmtpUrl {
  let url: URL
  try {
    url = new URL(smtpUrl)
  } catch {
    // Do not echo the value: it may contain the password.
    throw new ConfigError('SMTP_URL', 'is not a valid URL')
  }
  if (url.protocol !== 'smtp:' && url.protocol !== 'smtps:') {
    throw new ConfigError('SMTP_URL', 'must start with smtp:// or smtps://')
  }
  const secure = url.protocol === 'smtps:'
  const host = url.hostname.replace(/^\[(.*)\]$/, '$1')
  if (!host) throw new ConfigError('SMTP_URL', 'has no host')
  const port = url.port ? Number(url.port) : secure ? 465 : 587
  // WHATWG URL keeps userinfo percent-encoded; passwords with @ : / must be encoded there.
  const user = url.username ? decodeURIComponent(url.username) : undefined
  const pass = url.password ? decodeURIComponent(url.password) : undefined
  return { host, port, secure, user, pass }
}

function smtpUrl(env: Env): string | undefined {
  const v = str(env, 'SMTP_URL')
  if (v !== undefined) parseSmtpUrl(v)
  return v
}

const EMAIL = /^[^\s@]+@[^\s@]+\.[^\s@]+$/

/** Parse the environment. Pure: no file system access, so tests can call it freely. */
export function parseConfig(env: Env = process.env): Config {
  const userDirectory = (str(env, 'USER_DIRECTORY') ?? 'restricted').toLowerCase()
  if (userDirectory !== 'restricted' && userDirectory !== 'open') {
    throw new ConfigError('USER_DIRECTORY', `must be restricted or open, got ${JSON.stringify(userDirectory)}`)
  }

  const logLevel = (str(env, 'LOG_LEVEL') ?? 'info').toLowerCase()
  if (!['debug', 'info', 'warn', 'error', 'silent'].includes(logLevel)) {
    throw new ConfigError('LOG_LEVEL', 'must be one of debug, info, warn, error, silent')
  }

  const secretKey = str(env, 'SECRET_KEY')
  if (secretKey !== undefined && Buffer.byteLength(secretKey) < 32) {
    throw new ConfigError('SECRET_KEY', 'must be at least 32 bytes long')
  }

  const corsOrigins = (str(env, 'CORS_ORIGINS') ?? '')
    .split(',')
    .map((o) => o.trim())
    .filter((o) => o !== '')
  for (const origin of corsOrigins) {
    let parsed: URL | undefined
    try {
      parsed = new URL(origin)
    } catch {
      parsed = undefined
    }
    if (!parsed || !['http:', 'https:'].includes(parsed.protocol) || parsed.origin !== origin) {
      throw new ConfigError('CORS_ORIGINS', `${JSON.stringify(origin)} is not an origin like https://app.example.com`)
    }
  }

  const port = int(env, 'PORT', 3000, 0, 65535)
  const dataDir = resolve(str(env, 'DATA_DIR') ?? './data')
  const host = str(env, 'HOST') ?? '127.0.0.1'
  const publicUrl = (url(env, 'PUBLIC_URL', ['http:', 'https:']) ?? `http://${host.includes(':') ? `[${host}]` : host}:${port}`).replace(/\/+$/, '')

  const mailFrom = str(env, 'MAIL_FROM') ?? 'Roster <noreply@localhost>'
  const adminUsername = str(env, 'ADMIN_USERNAME')
  const adminEmail = str(env, 'ADMIN_EMAIL')
  const adminPassword = env.ADMIN_PASSWORD
  let admin: Config['admin']
  if (adminUsername || adminEmail || adminPassword) {
    if (!adminUsername) throw new ConfigError('ADMIN_USERNAME', 'is required when ADMIN_EMAIL or ADMIN_PASSWORD is set')
    if (!adminEmail) throw new ConfigError('ADMIN_EMAIL', 'is required when ADMIN_USERNAME or ADMIN_PASSWORD is set')
    if (!adminPassword) throw new ConfigError('ADMIN_PASSWORD', 'is required when ADMIN_USERNAME or ADMIN_EMAIL is set')
    if (!EMAIL.test(adminEmail)) throw new ConfigError('ADMIN_EMAIL', 'is not a valid e-mail address')
    // The rules a signup or `roster create-admin` would apply; the value is never echoed.
    const weak = passwordProblem(adminPassword)
    if (weak) throw new ConfigError('ADMIN_PASSWORD', weak.replace(/^password /, ''))
    admin = { username: adminUsername, email: adminEmail, password: adminPassword }
  }

  return {
    port,
    host,
    dataDir,
    uploadDir: resolve(str(env, 'UPLOAD_DIR') ?? join(dataDir, 'uploads')),
    databaseUrl: url(env, 'DATABASE_URL', ['postgres:', 'postgresql:']),
    secretKey,
    accessTokenExpireMinutes: int(env, 'ACCESS_TOKEN_EXPIRE_MINUTES', 30, 1, 60 * 24 * 30),
    refreshTokenExpireDays: int(env, 'REFRESH_TOKEN_EXPIRE_DAYS', 30, 1, 3650),
    allowSignup: bool(env, 'ALLOW_SIGNUP', true),
    corsOrigins,
    rateLimitPerMinute: int(env, 'RATE_LIMIT_PER_MINUTE', 100, 0, 1_000_000_000),
    trustProxy: bool(env, 'TRUST_PROXY', false),
    maxUploadBytes: int(env, 'MAX_UPLOAD_BYTES', 10 * 1024 * 1024, 1, Number.MAX_SAFE_INTEGER),
    uploadQuotaBytes: int(env, 'UPLOAD_QUOTA_BYTES', 0, 0, Number.MAX_SAFE_INTEGER),
    uploadMaxFiles: int(env, 'UPLOAD_MAX_FILES', 10_000, 0, Number.MAX_SAFE_INTEGER),
    smtpUrl: smtpUrl(env),
    mailFrom,
    publicUrl,
    emailRetentionDays: int(env, 'EMAIL_RETENTION_DAYS', 7, 0, 3650),
    metricsToken: str(env, 'METRICS_TOKEN'),
    admin,
    logLevel: logLevel as LogLevel,
    userDirectory,
    requireEmailVerification: bool(env, 'REQUIRE_EMAIL_VERIFICATION', false),
    auditRetentionDays: int(env, 'AUDIT_RETENTION_DAYS', 365, 0, 36_500)
  }
}

const SECRET_FILE = 'secret.key'

/**
 * Returns the signing key: SECRET_KEY when given, otherwise the key kept in
 * DATA_DIR, generated (32 random bytes, hex) on first start with mode 0600 so that
 * tokens survive restarts.
 */
export function resolveSecret(config: Config): string {
  if (config.secretKey) return config.secretKey
  mkdirSync(config.dataDir, { recursive: true })
  const file = join(config.dataDir, SECRET_FILE)
  if (existsSync(file)) {
    // A key file left readable by others (an older version, a copy) is tightened.
    chmodSync(file, 0o600)
    const key = readFileSync(file, 'utf8').trim()
    if (Buffer.byteLength(key) < 32) throw new ConfigError('SECRET_KEY', `the generated key in DATA_DIR is shorter than 32 bytes; delete ${SECRET_FILE} to regenerate it`)
    return key
  }
  const key = randomBytes(32).toString('hex')
  // 'wx' fails if another process created the file meanwhile; then use theirs.
  try {
    writeFileSync(file, key + '\n', { mode: 0o600, flag: 'wx' })
  } catch {
    return readFileSync(file, 'utf8').trim()
  }
  chmodSync(file, 0o600)
  return key
}

/**
 * The password for `roster create-admin`, when given in the environment
 * (ROSTER_ADMIN_PASSWORD). Not trimmed: spaces may be part of a password.
 */
export function adminPasswordFromEnv(env: Env = process.env): string | undefined {
  const v = env.ROSTER_ADMIN_PASSWORD
  return v === undefined || v === '' ? undefined : v
}

/**
 * Variables from a dotenv-style file, for `roster --env-file FILE`. The compiled
 * program never loads `.env` on its own; this is the explicit way to ask.
 * Variables already set in the environment win over the file.
 */
export function envWithFile(file: string | undefined, env: Env = process.env): Env {
  if (file === undefined) return env
  let text: string
  try {
    text = readFileSync(file, 'utf8')
  } catch (err) {
    const code = (err as { code?: unknown })?.code
    throw new ConfigError('--env-file', `cannot read ${file}${typeof code === 'string' ? ` (${code})` : ''}`)
  }
  return { ...parseEnv(text), ...env }
}
