// Mail test helpers: a real SMTP server (smtp-server) on 127.0.0.1 that the test
// starts, a TCP server that never speaks (a hung SMTP server), and a free port
// (connection refused).
import { createServer, type Server, type Socket } from 'node:net'
import { simpleParser } from 'mailparser'
import { SMTPServer, type SMTPServerError } from 'smtp-server'

export interface ReceivedMail {
  messageId: string | undefined
  subject: string | undefined
  from: string | undefined
  to: string[]
  text: string | undefined
  html: string | false
  raw: string
}

export type SmtpMode = 'accept' | 'reject-rcpt' | 'reject-data'

export interface TestSmtp {
  port: number
  url: string
  messages: ReceivedMail[]
  mode: SmtpMode
  /** Resolves when `n` messages have been received in total. */
  waitFor(n: number, timeoutMs?: number): Promise<void>
  close(): Promise<void>
}

function tempFail(msg: string): SMTPServerError {
  const err = new Error(msg) as SMTPServerError
  err.responseCode = 451
  return err
}

export async function startSmtp(port = 0): Promise<TestSmtp> {
  const messages: ReceivedMail[] = []
  const state: { mode: SmtpMode } = { mode: 'accept' }
  const waiters: Array<() => void> = []
  const server = new SMTPServer({
    authOptional: true,
    // Plain SMTP on localhost: no self-signed STARTTLS for the client to trip over.
    disabledCommands: ['STARTTLS', 'AUTH'],
    logger: false,
    onRcptTo(_addr, _session, cb) {
      if (state.mode === 'reject-rcpt') return cb(tempFail('4.7.1 try again later'))
      cb()
    },
    onData(stream, _session, cb) {
      const chunks: Buffer[] = []
      stream.on('data', (c: Buffer) => chunks.push(c))
      stream.on('end', () => {
        if (state.mode === 'reject-data') return cb(tempFail('4.3.0 mailbox busy'))
        const raw = Buffer.concat(chunks).toString('utf8')
        simpleParser(raw).then(
          (m) => {
            const toField = Array.isArray(m.to) ? m.to : m.to ? [m.to] : []
            messages.push({
              messageId: m.messageId,
              subject: m.subject,
              from: m.from?.text,
              to: toField.flatMap((a) => a.value.map((v) => v.address ?? '')),
              text: m.text,
              html: m.html ?? false,
              raw
            })
            for (const w of waiters.splice(0)) w()
            cb()
          },
          (err: Error) => cb(err)
        )
      })
    }
  })
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(port, '127.0.0.1', () => resolve())
  })
  const actualPort = (server.server.address() as { port: number }).port
  return {
    port: actualPort,
    url: `smtp://127.0.0.1:${actualPort}`,
    messages,
    get mode() {
      return state.mode
    },
    set mode(m: SmtpMode) {
      state.mode = m
    },
    async waitFor(n, timeoutMs = 10_000) {
      const deadline = Date.now() + timeoutMs
      while (messages.length < n) {
        if (Date.now() > deadline) throw new Error(`timed out waiting for ${n} messages (have ${messages.length})`)
        await new Promise<void>((r) => {
          waiters.push(r)
          setTimeout(r, 100)
        })
      }
    },
    close: () => new Promise<void>((r) => server.close(() => r()))
  }
}

/** Accepts TCP connections and never sends a byte (a hung SMTP server). */
export async function startSilentServer(): Promise<{ port: number; url: string; close(): Promise<void> }> {
  const sockets = new Set<Socket>()
  const server: Server = createServer((s) => {
    sockets.add(s)
    s.on('error', () => {})
    s.on('close', () => sockets.delete(s))
  })
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()))
  const port = (server.address() as { port: number }).port
  return {
    port,
    url: `smtp://127.0.0.1:${port}`,
    close: () =>
      new Promise<void>((r) => {
        for (const s of sockets) s.destroy()
        server.close(() => r())
      })
  }
}

export async function until(cond: () => boolean | Promise<boolean>, timeoutMs = 10_000, stepMs = 25): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (!(await cond())) {
    if (Date.now() > deadline) throw new Error('condition not met in time')
    await Bun.sleep(stepMs)
  }
}
