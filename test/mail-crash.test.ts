// A real Roster process (`bun src/index.ts serve`) is SIGKILLed while its welcome
// mails are queued or mid-send against a hung SMTP server; started again with SMTP
// up, it delivers each of them exactly once (by Message-ID).
import { Database } from 'bun:sqlite'
import { expect, test } from 'bun:test'
import { join } from 'node:path'
import { DB_FILE } from '../src/db/client'
import { SECRET, tempDir } from './helpers'
import { startSilentServer, startSmtp, until } from './mail-helpers'
import { SOURCE, startServer, type Server } from './server'

const N = 5

/** `roster serve` from source, with its mail going to `smtpUrl`. */
const startRoster = (dataDir: string, smtpUrl: string) =>
  startServer(SOURCE, {
    env: {
      PATH: process.env.PATH ?? '',
      DATA_DIR: dataDir,
      SECRET_KEY: SECRET,
      SMTP_URL: smtpUrl,
      MAIL_FROM: 'Roster <no-reply@roster.example>',
      RATE_LIMIT_PER_MINUTE: '0',
      LOG_LEVEL: 'info'
    }
  })

function outbox(dataDir: string) {
  const db = new Database(join(dataDir, DB_FILE), { readonly: true })
  try {
    return db.query<{ id: number; status: string; to_address: string; attempts: number }, []>('SELECT id, status, to_address, attempts FROM email_outbox ORDER BY id').all()
  } finally {
    db.close()
  }
}

test('SIGKILL with mail queued and mid-send: after a restart each welcome mail arrives exactly once', async () => {
  const dataDir = tempDir()
  const hung = await startSilentServer()
  const smtp = await startSmtp()
  let first: Server | undefined
  let second: Server | undefined
  try {
    first = await startRoster(dataDir, hung.url)
    for (let i = 0; i < N; i++) {
      const res = await fetch(`${first.url}/users`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ username: `user${i}`, email: `user${i}@example.com`, password: 'Secret123' })
      })
      expect(res.status).toBe(201)
    }
    // The worker is stuck on the hung server with the first mail; the rest wait.
    await until(() => outbox(dataDir).some((r) => r.status === 'sending'), 10_000)
    first.proc.kill('SIGKILL')
    await first.proc.exited
    expect(first.proc.signalCode).toBe('SIGKILL')
    const left = outbox(dataDir)
    expect(left).toHaveLength(N)
    expect(left.filter((r) => r.status === 'sent')).toHaveLength(0)
    expect(left.some((r) => r.status === 'sending')).toBe(true)

    second = await startRoster(dataDir, smtp.url)
    await smtp.waitFor(N, 15_000)
    await until(() => outbox(dataDir).every((r) => r.status === 'sent'), 10_000)
    // A duplicate, if any, would have had time to arrive.
    await Bun.sleep(300)

    const byId = new Map<string, number>()
    for (const m of smtp.messages) byId.set(m.messageId ?? '', (byId.get(m.messageId ?? '') ?? 0) + 1)
    expect(smtp.messages).toHaveLength(N)
    expect([...byId.values()].every((n) => n === 1)).toBe(true)
    const expected = outbox(dataDir).map((r) => r.id)
    for (const id of expected) expect([...byId.keys()].some((k) => k.startsWith(`<roster-${id}.`))).toBe(true)
    expect(smtp.messages.map((m) => m.to[0]).sort()).toEqual(Array.from({ length: N }, (_, i) => `user${i}@example.com`).sort())
    for (const m of smtp.messages) {
      expect(m.subject).toBe('Welcome to Roster')
      expect(m.text).toMatch(/Welcome user\d!/)
    }
    expect(second.lines.some((l) => l.includes('"msg":"mail worker started"') && /"recovered":[1-9]/.test(l))).toBe(true)

    // Graceful stop: SIGTERM, exit 0.
    second.proc.kill('SIGTERM')
    expect(await second.proc.exited).toBe(0)
  } finally {
    first?.proc.kill('SIGKILL')
    second?.proc.kill('SIGKILL')
    await hung.close()
    await smtp.close()
  }
}, 45_000)
