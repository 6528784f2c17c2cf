// Configuration: parsed once, typed, and a bad value is one clear line.
import { describe, expect, test } from 'bun:test'
import { existsSync, statSync } from 'node:fs'
import { join } from 'node:path'
import { ConfigError, parseConfig, resolveSecret } from '../src/config'
import { tempDir } from './helpers'

describe('parseConfig', () => {
  test('defaults from the contract', () => {
    const c = parseConfig({})
    expect(c).toMatchObject({
      port: 3000,
      host: '127.0.0.1',
      accessTokenExpireMinutes: 30,
      refreshTokenExpireDays: 30,
      allowSignup: true,
      corsOrigins: [],
      rateLimitPerMinute: 100,
      trustProxy: false,
      maxUploadBytes: 10 * 1024 * 1024,
      logLevel: 'info',
      requireEmailVerification: false,
      auditRetentionDays: 365
    })
    expect(c.dataDir.endsWith('/data')).toBe(true)
    expect(c.publicUrl).toBe('http://127.0.0.1:3000')
  })

  const bad: [Record<string, string>, string][] = [
    [{ PORT: 'abc' }, 'PORT'],
    [{ PORT: '70000' }, 'PORT'],
    [{ ACCESS_TOKEN_EXPIRE_MINUTES: '0' }, 'ACCESS_TOKEN_EXPIRE_MINUTES'],
    [{ ALLOW_SIGNUP: 'maybe' }, 'ALLOW_SIGNUP'],
    [{ SECRET_KEY: 'short' }, 'SECRET_KEY'],
    [{ CORS_ORIGINS: 'https://ok.example.com,not a url' }, 'CORS_ORIGINS'],
    [{ CORS_ORIGINS: 'https://example.com/path' }, 'CORS_ORIGINS'],
    [{ SMTP_URL: 'http://mail.example.com' }, 'SMTP_URL'],
    [{ DATABASE_URL: 'mysql://db.example.com/roster' }, 'DATABASE_URL'],
    [{ DATABASE_URL: 'not a url' }, 'DATABASE_URL'],
    [{ LOG_LEVEL: 'loud' }, 'LOG_LEVEL'],
    [{ REQUIRE_EMAIL_VERIFICATION: 'sometimes' }, 'REQUIRE_EMAIL_VERIFICATION'],
    [{ AUDIT_RETENTION_DAYS: '-5' }, 'AUDIT_RETENTION_DAYS'],
    [{ AUDIT_RETENTION_DAYS: 'forever' }, 'AUDIT_RETENTION_DAYS'],
    [{ RATE_LIMIT_PER_MINUTE: '-1' }, 'RATE_LIMIT_PER_MINUTE'],
    [{ ADMIN_USERNAME: 'root' }, 'ADMIN_EMAIL'],
    [{ ADMIN_USERNAME: 'root', ADMIN_EMAIL: 'bad', ADMIN_PASSWORD: 'Admin1234' }, 'ADMIN_EMAIL'],
    // The signup rules apply to the bootstrap admin too.
    [{ ADMIN_USERNAME: 'root', ADMIN_EMAIL: 'root@example.com', ADMIN_PASSWORD: 'weak' }, 'ADMIN_PASSWORD'],
    [{ ADMIN_USERNAME: 'root', ADMIN_EMAIL: 'root@example.com', ADMIN_PASSWORD: 'alllowercase1' }, 'ADMIN_PASSWORD'],
    [{ USER_DIRECTORY: 'public' }, 'USER_DIRECTORY']
  ]
  for (const [env, variable] of bad) {
    test(`refuses ${JSON.stringify(env)} naming ${variable}`, () => {
      let err: unknown
      try {
        parseConfig(env)
      } catch (e) {
        err = e
      }
      expect(err).toBeInstanceOf(ConfigError)
      expect((err as ConfigError).variable).toBe(variable)
      expect((err as Error).message.startsWith(`${variable}: `)).toBe(true)
      expect((err as Error).message).not.toContain('\n')
      // A refused value is never echoed when it may be a secret.
      if (env.ADMIN_PASSWORD) expect((err as Error).message).not.toContain(env.ADMIN_PASSWORD)
    })
  }

  test('a weak ADMIN_PASSWORD names the rule it breaks', () => {
    expect(() => parseConfig({ ADMIN_USERNAME: 'root', ADMIN_EMAIL: 'root@example.com', ADMIN_PASSWORD: 'weak' })).toThrow(
      'ADMIN_PASSWORD: must be at least 8 characters long'
    )
  })

  test('UPLOAD_DIR defaults to DATA_DIR/uploads', () => {
    expect(parseConfig({ DATA_DIR: '/srv/roster' }).uploadDir).toBe('/srv/roster/uploads')
    expect(parseConfig({ DATA_DIR: '/srv/roster', UPLOAD_DIR: '/mnt/shared/uploads' }).uploadDir).toBe('/mnt/shared/uploads')
  })

  test('DATABASE_URL selects PostgreSQL; unset keeps SQLite', () => {
    expect(parseConfig({}).databaseUrl).toBeUndefined()
    expect(parseConfig({ DATABASE_URL: '  ' }).databaseUrl).toBeUndefined()
    expect(parseConfig({ DATABASE_URL: 'postgres://roster:pw@db:5432/roster' }).databaseUrl).toBe('postgres://roster:pw@db:5432/roster')
    expect(parseConfig({ DATABASE_URL: 'postgresql://db/roster' }).databaseUrl).toBe('postgresql://db/roster')
  })

  test('a database password never appears in the error', () => {
    try {
      parseConfig({ DATABASE_URL: 'mysql://roster:hunter2@db/roster' })
      throw new Error('accepted')
    } catch (e) {
      expect(e).toBeInstanceOf(ConfigError)
      expect((e as Error).message).not.toContain('hunter2')
    }
  })

  test('an SMTP password never appears in the error', () => {
    expect(() => parseConfig({ SMTP_URL: 'ftp://user:hunter2@mail' })).toThrow(ConfigError)
    try {
      parseConfig({ SMTP_URL: 'ftp://user:hunter2@mail' })
    } catch (e) {
      expect((e as Error).message).not.toContain('hunter2')
    }
  })
})

describe('secret key', () => {
  test('generated once with mode 0600 and reused', () => {
    const dir = tempDir()
    const c = parseConfig({ DATA_DIR: dir })
    const key = resolveSecret(c)
    expect(Buffer.byteLength(key)).toBeGreaterThanOrEqual(32)
    const file = join(dir, 'secret.key')
    expect(existsSync(file)).toBe(true)
    expect(statSync(file).mode & 0o777).toBe(0o600)
    expect(resolveSecret(c)).toBe(key)
  })

  test('SECRET_KEY wins and nothing is written', () => {
    const dir = tempDir()
    const key = 'k'.repeat(40)
    expect(resolveSecret(parseConfig({ DATA_DIR: dir, SECRET_KEY: key }))).toBe(key)
    expect(existsSync(join(dir, 'secret.key'))).toBe(false)
  })
})

describe('start-up', () => {
  test('a bad value stops the start with one line and exit code 1', async () => {
    const dir = tempDir()
    const proc = Bun.spawn(['bun', 'src/index.ts', 'serve'], {
      env: { ...process.env, DATA_DIR: dir, PORT: 'eighty' },
      stdout: 'pipe',
      stderr: 'pipe'
    })
    const code = await proc.exited
    const err = await new Response(proc.stderr).text()
    expect(code).toBe(1)
    expect(err.trim()).toBe('roster: PORT: must be a whole number, got "eighty"')
  })
})
