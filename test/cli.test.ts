// The CLI verbs, run as the compiled binary from a folder that holds nothing but
// the binary and a decoy .env / bunfig.toml (which must be ignored).
import { afterEach, beforeAll, describe, expect, test } from 'bun:test'
import { chmodSync, copyFileSync, existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs'
import { Database } from 'bun:sqlite'
import { join } from 'node:path'
import pkg from '../package.json' with { type: 'json' }
import { baseEnv, buildBinary, cleanup, scratchDir, openDb, postJson, runCli, userBody } from './binary'
import { startServer } from './server'
import { PASSWORD } from './helpers'
import { startSmtp } from './mail-helpers'

let bin: string
beforeAll(async () => {
  bin = await buildBinary()
}, 120_000)
afterEach(cleanup)

/** An empty folder with only the binary and decoys that would change the port, data dir and preload if read. */
function folder(): { cwd: string; bin: string; dataDir: string } {
  const cwd = scratchDir('roster-cli-')
  const local = join(cwd, 'roster')
  copyFileSync(bin, local)
  writeFileSync(join(cwd, '.env'), 'PORT=1\nDATA_DIR=from-dotenv\nLOG_LEVEL=nonsense\n')
  writeFileSync(join(cwd, 'bunfig.toml'), 'preload = ["./preload.ts"]\n')
  writeFileSync(join(cwd, 'preload.ts'), 'console.log("PRELOAD RAN")\n')
  return { cwd, bin: local, dataDir: join(cwd, 'data') }
}

const oneLine = (s: string) => {
  expect(s.endsWith('\n')).toBe(true)
  expect(s.trimEnd().split('\n')).toHaveLength(1)
  expect(s.startsWith('roster: ')).toBe(true)
}

describe('help, version and usage errors', () => {
  test('--version prints package.json version', async () => {
    const f = folder()
    for (const flag of ['--version', '-v']) {
      const r = await runCli(f.bin, [flag], { cwd: f.cwd, env: baseEnv(f.dataDir) })
      expect(r).toEqual({ code: 0, stdout: `roster ${pkg.version}\n`, stderr: '' })
    }
  })

  test('--help lists every verb and the environment variables', async () => {
    const f = folder()
    const r = await runCli(f.bin, ['--help'], { cwd: f.cwd, env: baseEnv(f.dataDir) })
    expect(r.code).toBe(0)
    for (const word of ['serve', 'migrate', 'create-admin', 'backup', '--force', '--version', '--env-file', 'PORT', 'HOST', 'DATA_DIR', 'SECRET_KEY', 'ROSTER_ADMIN_PASSWORD', 'SMTP_URL', 'LOG_LEVEL']) {
      expect(r.stdout).toContain(word)
    }
    expect(existsSync(f.dataDir)).toBe(false)
  })

  const usage: [string, string[], RegExp][] = [
    ['unknown verb', ['frobnicate'], /unknown command "frobnicate"/],
    ['unknown option', ['migrate', '--frob'], /unknown option '--frob'/],
    ['create-admin without --email', ['create-admin', '--username', 'root'], /needs --email/],
    ['backup without a file', ['backup'], /needs a destination file/],
    ['extra argument', ['migrate', 'now'], /unexpected argument 'now'/]
  ]
  for (const [name, args, message] of usage) {
    test(`${name}: one line, exit 2`, async () => {
      const f = folder()
      const r = await runCli(f.bin, args, { cwd: f.cwd, env: baseEnv(f.dataDir) })
      expect(r.code).toBe(2)
      expect(r.stdout).toBe('')
      oneLine(r.stderr)
      expect(r.stderr).toMatch(message)
    })
  }

  test('a bad variable is one line naming it, exit 1', async () => {
    const f = folder()
    const r = await runCli(f.bin, ['migrate'], { cwd: f.cwd, env: baseEnv(f.dataDir, { PORT: 'x' }) })
    expect(r.code).toBe(1)
    oneLine(r.stderr)
    expect(r.stderr).toContain('PORT')
  })

  test('an unusable DATA_DIR or address is one line, exit 1, for every verb that opens the database', async () => {
    const f = folder()
    writeFileSync(join(f.cwd, 'afile'), '')
    const env = baseEnv(join(f.cwd, 'afile', 'data'))
    for (const verb of ['serve', 'migrate']) {
      const r = await runCli(f.bin, [verb], { cwd: f.cwd, env })
      expect(r.code).toBe(1)
      oneLine(r.stderr)
      expect(r.stderr).toMatch(/^roster: DATA_DIR: cannot .* \(ENOTDIR\)\n$/)
    }
    // 192.0.2.1 (TEST-NET-1) is never an address of this machine.
    const r = await runCli(f.bin, ['serve'], { cwd: f.cwd, env: baseEnv(f.dataDir, { HOST: '192.0.2.1', PORT: '0' }) })
    expect(r.code).toBe(1)
    expect(r.stderr).toBe('roster: cannot listen on 192.0.2.1:0 (EADDRNOTAVAIL)\n')
  })

  test('the same verbs work in development (bun src/index.ts)', async () => {
    // A plain folder: `bun` itself (unlike the binary) reads bunfig.toml and .env from its cwd.
    const cwd = scratchDir('roster-dev-')
    const f = { cwd, dataDir: join(cwd, 'data') }
    const entry = join(import.meta.dir, '..', 'src', 'index.ts')
    const v = await runCli(process.execPath, [entry, '--version'], { cwd: f.cwd, env: baseEnv(f.dataDir) })
    expect(v).toEqual({ code: 0, stdout: `roster ${pkg.version}\n`, stderr: '' })
    const m = await runCli(process.execPath, [entry, 'migrate'], { cwd: f.cwd, env: baseEnv(f.dataDir) })
    expect(m).toEqual({ code: 0, stdout: 'migrations applied\n', stderr: '' })
    const bad = await runCli(process.execPath, [entry, 'frob'], { cwd: f.cwd, env: baseEnv(f.dataDir) })
    expect(bad.code).toBe(2)
    oneLine(bad.stderr)
  })

  test('--env-file is read only when asked, and the environment wins over it', async () => {
    const f = folder()
    writeFileSync(join(f.cwd, 'roster.env'), `DATA_DIR=${join(f.cwd, 'from-file')}\nLOG_LEVEL=bogus\n`)
    const bad = await runCli(f.bin, ['--env-file', 'roster.env', 'migrate'], { cwd: f.cwd, env: baseEnv(f.dataDir) })
    expect(bad.code).toBe(1)
    expect(bad.stderr).toContain('LOG_LEVEL')
    const env = baseEnv(f.dataDir, { LOG_LEVEL: 'warn' })
    delete env.DATA_DIR
    const ok = await runCli(f.bin, ['migrate', '--env-file=roster.env'], { cwd: f.cwd, env })
    expect(ok.code).toBe(0)
    expect(existsSync(join(f.cwd, 'from-file', 'roster.db'))).toBe(true)
    const missing = await runCli(f.bin, ['--env-file', 'nope.env', 'migrate'], { cwd: f.cwd, env: baseEnv(f.dataDir) })
    expect(missing.code).toBe(1)
    oneLine(missing.stderr)
  })
})

describe('one Roster per port and per DATA_DIR', () => {
  test('a second serve on the same port exits 1 with one line; nothing is shared', async () => {
    const f = folder()
    const first = await startServer([f.bin], { cwd: f.cwd, env: baseEnv(f.dataDir) })
    const port = new URL(first.url).port
    const second = await runCli(f.bin, ['serve'], { cwd: f.cwd, env: baseEnv(join(f.cwd, 'other'), { HOST: '127.0.0.1', PORT: port }) })
    expect(second.code).toBe(1)
    oneLine(second.stderr)
    expect(second.stderr).toBe(`roster: cannot listen on 127.0.0.1:${port}: the address is in use by another program (EADDRINUSE)\n`)
    expect((await fetch(`${first.url}/health`)).status).toBe(200)
  })

  test('a second serve on the same DATA_DIR exits 1 with one line; the lock dies with its holder', async () => {
    const f = folder()
    const first = await startServer([f.bin], { cwd: f.cwd, env: baseEnv(f.dataDir) })
    const second = await runCli(f.bin, ['serve'], { cwd: f.cwd, env: baseEnv(f.dataDir) })
    expect(second.code).toBe(1)
    oneLine(second.stderr)
    expect(second.stderr).toBe(`roster: DATA_DIR: another Roster is already serving ${f.dataDir}\n`)
    // Other verbs still work beside the server (backup is made for that).
    expect((await runCli(f.bin, ['migrate'], { cwd: f.cwd, env: baseEnv(f.dataDir) })).code).toBe(0)
    // kill -9 leaves no stale lock: the kernel drops it with the process.
    first.proc.kill('SIGKILL')
    await first.exited
    const third = await startServer([f.bin], { cwd: f.cwd, env: baseEnv(f.dataDir) })
    expect((await fetch(`${third.url}/health`)).status).toBe(200)
  })
})

describe('file modes and DATA_DIR errors', () => {
  const mode = (p: string) => statSync(p).mode & 0o777

  test('under umask 022: DATA_DIR 0700, database, WAL, secret and lock 0600; wider modes are tightened at start', async () => {
    const f = folder()
    const env = baseEnv(f.dataDir)
    delete env.SECRET_KEY
    const previous = process.umask(0o022)
    try {
      const files = ['roster.db', 'roster.db-wal', 'roster.db-shm', 'secret.key', 'roster.lock']
      let s = await startServer([f.bin], { cwd: f.cwd, env })
      expect((await postJson(`${s.url}/users`, userBody('modes'))).status).toBe(201)
      expect(mode(f.dataDir)).toBe(0o700)
      for (const file of files) expect({ file, mode: mode(join(f.dataDir, file)) }).toEqual({ file, mode: 0o600 })
      s.proc.kill('SIGKILL')
      await s.exited
      // As an older version (or a careless copy) may have left them.
      chmodSync(f.dataDir, 0o755)
      for (const file of files) chmodSync(join(f.dataDir, file), 0o644)
      s = await startServer([f.bin], { cwd: f.cwd, env })
      expect(mode(f.dataDir)).toBe(0o700)
      for (const file of files) expect({ file, mode: mode(join(f.dataDir, file)) }).toEqual({ file, mode: 0o600 })
    } finally {
      process.umask(previous)
    }
  })

  test('a DATA_DIR this user cannot write: one line naming the folder and EACCES', async () => {
    const f = folder()
    // The parent is not writable by the user Roster runs as (nobody, when the tests run as root).
    const parent = join(f.cwd, 'locked')
    mkdirSync(parent, { mode: 0o755 })
    chmodSync(f.cwd, 0o755)
    const asUser = process.getuid?.() === 0 ? ['setpriv', '--reuid=65534', '--regid=65534', '--clear-groups', f.bin] : [f.bin]
    if (process.getuid?.() !== 0) chmodSync(parent, 0o555)
    const run = (dataDir: string) => runCli(asUser[0]!, [...asUser.slice(1), 'migrate'], { cwd: f.cwd, env: baseEnv(dataDir) })
    const missing = await run(join(parent, 'data'))
    expect(missing.code).toBe(1)
    expect(missing.stderr).toBe(`roster: DATA_DIR: cannot create ${join(parent, 'data')} (EACCES)\n`)
    const existing = await run(parent)
    expect(existing.code).toBe(1)
    expect(existing.stderr).toBe(`roster: DATA_DIR: ${parent} is not writable by this user (EACCES)\n`)
  })
})

describe('migrate', () => {
  test('creates the database from an empty folder, ignoring .env and bunfig.toml', async () => {
    const f = folder()
    const env = baseEnv(f.dataDir)
    delete env.DATA_DIR // the default ./data, relative to the working folder
    const r = await runCli(f.bin, ['migrate'], { cwd: f.cwd, env })
    expect(r).toEqual({ code: 0, stdout: 'migrations applied\n', stderr: '' })
    expect(existsSync(join(f.cwd, 'from-dotenv'))).toBe(false)
    const db = openDb(join(f.dataDir, 'roster.db'))
    const tables = db.query<{ name: string }, []>("SELECT name FROM sqlite_master WHERE type='table'").all().map((t) => t.name)
    db.close()
    expect(tables).toEqual(expect.arrayContaining(['users', 'sessions', 'email_outbox', 'files', '__drizzle_migrations']))
    // Twice is fine.
    expect((await runCli(f.bin, ['migrate'], { cwd: f.cwd, env })).code).toBe(0)
  })

  test('users written before the Unicode keys get them; a failed fill is one line saying the next start continues', async () => {
    const f = folder()
    const env = baseEnv(f.dataDir)
    expect((await runCli(f.bin, ['migrate'], { cwd: f.cwd, env })).code).toBe(0)
    const file = join(f.dataDir, 'roster.db')
    const write = (sql: string) => {
      const db = new Database(file)
      db.run(sql)
      db.close()
    }
    const now = new Date().toISOString()
    write(`INSERT INTO users (username, email, hashed_password, created_at, updated_at) VALUES ('Straße', 'a@example.com', 'x', '${now}', '${now}')`)
    // Any failure while filling: here a trigger refuses every update of users.
    write("CREATE TRIGGER refuse BEFORE UPDATE ON users BEGIN SELECT RAISE(ABORT, 'refused'); END")
    const failed = await runCli(f.bin, ['migrate'], { cwd: f.cwd, env })
    expect(failed.code).toBe(1)
    oneLine(failed.stderr)
    expect(failed.stderr).toStartWith("roster: DATA_DIR: filling the users' comparison keys failed; the users done so far keep theirs and the next start continues")
    expect(failed.stderr).not.toContain(f.dataDir)
    write('DROP TRIGGER refuse')
    expect((await runCli(f.bin, ['migrate'], { cwd: f.cwd, env })).code).toBe(0)
    const db = openDb(file)
    expect(db.query('SELECT username_key AS k FROM users').all()).toEqual([{ k: 'strasse' }])
    db.close()
  })
})

describe('serve from an empty folder', () => {
  test('answers /health, the API, /docs and its assets; SIGTERM exits 0 with the WAL folded in', async () => {
    const f = folder()
    const s = await startServer([f.bin], { cwd: f.cwd, env: baseEnv(f.dataDir) })
    expect((await fetch(`${s.url}/health`)).status).toBe(200)
    const docs = await fetch(`${s.url}/docs`)
    expect(docs.status).toBe(200)
    const html = await docs.text()
    const assets = [...html.matchAll(/(?:src|href)="([^"]+)"/g)].map((m) => m[1]!)
    expect(assets).toEqual(expect.arrayContaining(['/docs/assets/swagger-ui-bundle.js', '/docs/assets/swagger-ui.css', '/docs/assets/init.js']))
    // Embedded in the binary, whole: Swagger UI's bundle and stylesheet are large.
    for (const a of assets.filter((a) => a.startsWith('/'))) {
      const res = await fetch(`${s.url}${a}`)
      expect(res.status).toBe(200)
      expect((await res.arrayBuffer()).byteLength).toBeGreaterThan(/swagger-ui/.test(a) ? 100_000 : 100)
    }
    expect(html).not.toMatch(/https?:\/\/(?!127\.0\.0\.1|localhost)[^"']*\.(js|css)/)
    expect(((await (await fetch(`${s.url}/openapi.json`)).json()) as any).info.title).toBe('User Management API')
    expect((await postJson(`${s.url}/users`, userBody('alice'))).status).toBe(201)
    expect((await postJson(`${s.url}/auth/login`, { username: 'alice', password: PASSWORD })).status).toBe(200)

    // The Docker HEALTHCHECK verb, pointed at this server.
    const port = new URL(s.url).port
    const healthy = await runCli(f.bin, ['healthcheck'], { cwd: f.cwd, env: baseEnv(f.dataDir, { PORT: port }) })
    expect(healthy).toEqual({ code: 0, stdout: 'ok\n', stderr: '' })

    s.proc.kill('SIGTERM')
    expect(await s.exited).toBe(0)
    expect(await s.stderr()).toBe('')
    const down = await runCli(f.bin, ['healthcheck'], { cwd: f.cwd, env: baseEnv(f.dataDir, { PORT: port }) })
    expect(down.code).toBe(1)
    oneLine(down.stderr)
    expect(s.lines.join('\n')).not.toContain('PRELOAD RAN')
    expect(s.lines.some((l) => l.includes('"msg":"stopped"'))).toBe(true)
    expect(existsSync(join(f.dataDir, 'roster.db-wal'))).toBe(false)
    expect(existsSync(join(f.cwd, 'from-dotenv'))).toBe(false)
  }, 30_000)
})

describe('the e-mail worker inside the binary', () => {
  // The worker is a second entry point of the build; a build flag that breaks
  // it (--bytecode did) still gives a binary that serves HTTP, so check mail.
  test('starts, and the welcome mail of a signup reaches a real SMTP server', async () => {
    const smtp = await startSmtp()
    try {
      const f = folder()
      const s = await startServer([f.bin], { cwd: f.cwd, env: baseEnv(f.dataDir, { SMTP_URL: smtp.url, MAIL_FROM: 'Roster <noreply@example.com>' }) })
      expect((await postJson(`${s.url}/users`, userBody('mailme'))).status).toBe(201)
      await smtp.waitFor(1, 15_000)
      expect(smtp.messages[0]!.subject).toBe('Welcome to Roster')
      expect(smtp.messages[0]!.text).toContain('Welcome mailme!')
      expect(s.lines.some((l) => l.includes('"msg":"mail worker started"'))).toBe(true)
      expect(s.lines.some((l) => l.includes('mail worker error'))).toBe(false)
      s.proc.kill('SIGTERM')
      expect(await s.exited).toBe(0)
    } finally {
      await smtp.close()
    }
  }, 30_000)
})

// serve and create-admin build their services through createServices, as the
// app does: an admin made at start-up or on the command line gets the same
// hooks as a signup (welcome mail in the same transaction; a credential change
// ends every session).
describe('the bootstrap admin gets the hooks a signup gets', () => {
  test('ADMIN_* at serve: welcome mail delivered; a password change revokes its sessions', async () => {
    const smtp = await startSmtp()
    try {
      const f = folder()
      const env = baseEnv(f.dataDir, {
        SMTP_URL: smtp.url,
        MAIL_FROM: 'Roster <noreply@example.com>',
        ADMIN_USERNAME: 'boss',
        ADMIN_EMAIL: 'boss@example.com',
        ADMIN_PASSWORD: 'Boss12345'
      })
      const s = await startServer([f.bin], { cwd: f.cwd, env })
      await smtp.waitFor(1, 15_000)
      expect((await postJson(`${s.url}/users`, userBody('pat'))).status).toBe(201)
      await smtp.waitFor(2, 15_000)
      const byAddress = Object.fromEntries(smtp.messages.map((m) => [m.to.join(','), m.subject]))
      expect(byAddress).toEqual({ 'boss@example.com': 'Welcome to Roster', 'pat@example.com': 'Welcome to Roster' })

      const login = await postJson(`${s.url}/auth/login`, { username: 'boss', password: 'Boss12345' })
      expect(login.status).toBe(200)
      const change = await fetch(`${s.url}/users/me/password`, {
        method: 'PUT',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${login.json.access_token}` },
        body: JSON.stringify({ current_password: 'Boss12345', new_password: 'Boss67890' })
      })
      expect(change.status).toBe(204)
      expect((await postJson(`${s.url}/auth/refresh`, { refresh_token: login.json.refresh_token })).status).toBe(401)
      const me = await fetch(`${s.url}/users/me`, { headers: { authorization: `Bearer ${login.json.access_token}` } })
      expect(me.status).toBe(401)
      s.proc.kill('SIGTERM')
      expect(await s.exited).toBe(0)
    } finally {
      await smtp.close()
    }
  }, 30_000)

  test('create-admin: the welcome mail is queued with the user, as for a signup', async () => {
    const f = folder()
    const r = await runCli(f.bin, ['create-admin', '--username', 'root', '--email', 'root@example.com'], {
      cwd: f.cwd,
      env: baseEnv(f.dataDir, { ROSTER_ADMIN_PASSWORD: 'Admin12345' })
    })
    expect(r.code).toBe(0)
    const db = openDb(join(f.dataDir, 'roster.db'))
    const rows = db.query<{ kind: string; to_address: string; status: string }, []>('SELECT kind, to_address, status FROM email_outbox').all()
    db.close()
    expect(rows).toEqual([{ kind: 'welcome', to_address: 'root@example.com', status: 'queued' }])
  })
})

describe('create-admin', () => {
  const args = ['create-admin', '--username', 'root', '--email', 'root@example.com']

  test('from ROSTER_ADMIN_PASSWORD: an admin who can log in; the password is never printed', async () => {
    const f = folder()
    const r = await runCli(f.bin, args, { cwd: f.cwd, env: baseEnv(f.dataDir, { ROSTER_ADMIN_PASSWORD: 'Admin12345' }) })
    expect(r.code).toBe(0)
    expect(r.stdout).toBe('admin root created (id 1)\n')
    expect(r.stderr).toBe('')
    const db = openDb(join(f.dataDir, 'roster.db'))
    const row = db.query<{ role: string; hashed_password: string; is_active: number }, []>('SELECT role, hashed_password, is_active FROM users').get()!
    db.close()
    expect(row.role).toBe('admin')
    expect(row.is_active).toBe(1)
    expect(await Bun.password.verify('Admin12345', row.hashed_password)).toBe(true)
  })

  test('from standard input (first line)', async () => {
    const f = folder()
    const r = await runCli(f.bin, args, { cwd: f.cwd, env: baseEnv(f.dataDir), stdin: 'Piped12345\nignored\n' })
    expect(r.code).toBe(0)
    const db = openDb(join(f.dataDir, 'roster.db'))
    const row = db.query<{ hashed_password: string }, []>('SELECT hashed_password FROM users').get()!
    db.close()
    expect(await Bun.password.verify('Piped12345', row.hashed_password)).toBe(true)
  })

  test('prompted on a terminal, without echo', async () => {
    const f = folder()
    // script(1) gives the program a pseudo-terminal; what it echoes lands in the transcript.
    const cmd = `${f.bin} ${args.join(' ')}`
    const p = Bun.spawn(['script', '-qec', cmd, '/dev/null'], { cwd: f.cwd, env: baseEnv(f.dataDir), stdin: 'pipe', stdout: 'pipe', stderr: 'pipe' })
    let transcript = ''
    const reader = (async () => {
      for await (const chunk of p.stdout) transcript += new TextDecoder().decode(chunk)
    })()
    // Type only once the prompt is up: raw mode (no echo) is on by then.
    const typeAfter = async (prompt: string) => {
      while (!transcript.includes(prompt)) {
        if (p.exitCode !== null) throw new Error(`exited early: ${transcript}`)
        await Bun.sleep(10)
      }
      p.stdin.write('Typed12345\r')
      p.stdin.flush()
    }
    await typeAfter('Password:')
    await typeAfter('Repeat password:')
    const code = await p.exited
    await reader
    expect(code).toBe(0)
    expect(transcript).toContain('admin root created')
    expect(transcript).not.toContain('Typed12345')
    const db = openDb(join(f.dataDir, 'roster.db'))
    const row = db.query<{ hashed_password: string }, []>('SELECT hashed_password FROM users').get()!
    db.close()
    expect(await Bun.password.verify('Typed12345', row.hashed_password)).toBe(true)
  })

  const failures: [string, string[], Record<string, string>, RegExp][] = [
    ['weak password (no digit or uppercase)', args, { ROSTER_ADMIN_PASSWORD: 'weakpassword' }, /password must contain at least one digit and one uppercase letter/],
    ['short password', args, { ROSTER_ADMIN_PASSWORD: 'Ab1' }, /password must be at least 8 characters/],
    ['bad username', ['create-admin', '--username', 'no spaces', '--email', 'x@example.com'], { ROSTER_ADMIN_PASSWORD: 'Admin12345' }, /username must be 3 to 50 letters or digits/],
    ['bad e-mail', ['create-admin', '--username', 'root', '--email', 'nope'], { ROSTER_ADMIN_PASSWORD: 'Admin12345' }, /email is not a valid e-mail address/],
    ['no password anywhere', args, {}, /no password/]
  ]
  for (const [name, a, env, message] of failures) {
    test(`${name}: one line, exit 1, nothing created`, async () => {
      const f = folder()
      const r = await runCli(f.bin, a, { cwd: f.cwd, env: baseEnv(f.dataDir, env), stdin: '' })
      expect(r.code).toBe(1)
      oneLine(r.stderr)
      expect(r.stderr).toMatch(message)
      for (const v of Object.values(env)) expect(r.stderr).not.toContain(v)
      expect(existsSync(join(f.dataDir, 'roster.db'))).toBe(false)
    })
  }

  test('duplicate username or e-mail: one line, exit 1', async () => {
    const f = folder()
    const env = baseEnv(f.dataDir, { ROSTER_ADMIN_PASSWORD: 'Admin12345' })
    expect((await runCli(f.bin, args, { cwd: f.cwd, env })).code).toBe(0)
    const sameName = await runCli(f.bin, ['create-admin', '--username', 'ROOT', '--email', 'other@example.com'], { cwd: f.cwd, env })
    expect(sameName.code).toBe(1)
    expect(sameName.stderr).toBe('roster: Username already exists\n')
    const sameEmail = await runCli(f.bin, ['create-admin', '--username', 'other', '--email', 'Root@Example.com'], { cwd: f.cwd, env })
    expect(sameEmail.code).toBe(1)
    expect(sameEmail.stderr).toBe('roster: Email already registered\n')
  })
})

describe('backup', () => {
  test('while the server runs: a consistent copy with every committed row; refuses to overwrite without --force; restores', async () => {
    const f = folder()
    const s = await startServer([f.bin], { cwd: f.cwd, env: baseEnv(f.dataDir) })
    for (let i = 0; i < 5; i++) expect((await postJson(`${s.url}/users`, userBody(`before${i}`))).status).toBe(201)
    // Rows still in the WAL (the server holds it open) must be in the copy.
    expect(existsSync(join(f.dataDir, 'roster.db-wal'))).toBe(true)

    // More signups in flight while the copy is taken.
    const during = Array.from({ length: 10 }, (_, i) => postJson(`${s.url}/users`, userBody(`during${i}`)))
    const r = await runCli(f.bin, ['backup', 'backup.db'], { cwd: f.cwd, env: baseEnv(f.dataDir) })
    expect(r.code).toBe(0)
    expect(r.stdout).toMatch(/^backup written to backup\.db \(\d+ users, \d+ bytes\)\n$/)
    for (const res of await Promise.all(during)) expect(res.status).toBe(201)

    const copy = openDb(join(f.cwd, 'backup.db'))
    expect(copy.query<{ integrity_check: string }, []>('PRAGMA integrity_check').get()!.integrity_check).toBe('ok')
    const names = copy.query<{ username: string }, []>('SELECT username FROM users').all().map((u) => u.username)
    copy.close()
    for (let i = 0; i < 5; i++) expect(names).toContain(`before${i}`)
    expect(names.length).toBeGreaterThanOrEqual(5)
    expect(names.length).toBeLessThanOrEqual(15)
    expect(r.stdout).toContain(`(${names.length} users,`)

    // No overwrite without --force; the file is untouched.
    const before = readFileSync(join(f.cwd, 'backup.db'))
    const again = await runCli(f.bin, ['backup', 'backup.db'], { cwd: f.cwd, env: baseEnv(f.dataDir) })
    expect(again.code).toBe(1)
    expect(again.stderr).toBe('roster: backup.db already exists (use --force to replace it)\n')
    expect(readFileSync(join(f.cwd, 'backup.db')).equals(before)).toBe(true)
    const forced = await runCli(f.bin, ['backup', '--force', 'backup.db'], { cwd: f.cwd, env: baseEnv(f.dataDir) })
    expect(forced.code).toBe(0)
    expect(forced.stdout).toContain('(15 users,')

    s.proc.kill('SIGTERM')
    expect(await s.exited).toBe(0)

    // Restore: the copy becomes the database of a fresh data folder.
    const restored = scratchDir('roster-restore-')
    copyFileSync(join(f.cwd, 'backup.db'), join(restored, 'roster.db'))
    const s2 = await startServer([f.bin], { cwd: f.cwd, env: baseEnv(restored) })
    expect((await postJson(`${s2.url}/auth/login`, { username: 'during9', password: PASSWORD })).status).toBe(200)
    s2.proc.kill('SIGTERM')
    expect(await s2.exited).toBe(0)
  }, 60_000)

  test('errors are one line and name no path but the argument', async () => {
    const f = folder()
    const env = baseEnv(f.dataDir)
    const none = await runCli(f.bin, ['backup', 'b.db'], { cwd: f.cwd, env })
    expect(none.code).toBe(1)
    oneLine(none.stderr)
    expect(none.stderr).not.toContain(f.cwd)
    expect((await runCli(f.bin, ['migrate'], { cwd: f.cwd, env })).code).toBe(0)
    const cases: [string[], RegExp][] = [
      [['backup', 'missing-dir/b.db'], /^roster: backup to missing-dir\/b\.db failed: the folder missing-dir does not exist \(ENOENT\)\n$/],
      [['backup', 'data/roster.db/x.db'], /^roster: backup to data\/roster\.db\/x\.db failed: the folder data\/roster\.db is not a folder \(ENOTDIR\)\n$/],
      [['backup', '--force', 'data/roster.db'], /^roster: data\/roster\.db is the live database/],
      [['backup', '--force', 'data'], /^roster: data is a directory/]
    ]
    for (const [a, message] of cases) {
      const r = await runCli(f.bin, a, { cwd: f.cwd, env })
      expect(r.code).toBe(1)
      oneLine(r.stderr)
      expect(r.stderr).toMatch(message)
      expect(r.stderr).not.toContain(f.cwd)
    }
  })
})
