// `roster create-admin --username U --email E`: the password comes from
// ROSTER_ADMIN_PASSWORD, else a prompt without echo (on a terminal), else the
// first line of standard input. The same rules as the API apply.
import { Value } from '@sinclair/typebox/value'
import { adminPasswordFromEnv, type Config } from '../config'
import { Email, passwordProblem, Username } from '../modules/users/model'
import { createLogger } from '../lib/log'
import { createServices } from '../services'
import { CliError } from './errors'
import { openData, readSecret } from './open'

function checkIdentity(username: string, email: string): void {
  if (!Value.Check(Username, username)) throw new CliError(`username must be ${Username.description}`)
  if (!Value.Check(Email, email)) throw new CliError('email is not a valid e-mail address')
}

/** Reads one line from the terminal without echoing it. */
function promptHidden(prompt: string): Promise<string> {
  const stdin = process.stdin
  return new Promise((resolve, reject) => {
    let value = ''
    const done = (err?: Error) => {
      stdin.off('data', onData)
      stdin.setRawMode(false)
      stdin.pause()
      process.stderr.write('\n')
      if (err) reject(err)
      else resolve(value)
    }
    const onData = (chunk: Buffer) => {
      for (const ch of chunk.toString('utf8')) {
        if (ch === '\r' || ch === '\n') return done()
        if (ch === '\u0003' || ch === '\u0004') return done(new CliError('cancelled'))
        if (ch === '\u007f' || ch === '\b') value = value.slice(0, -1)
        else value += ch
      }
    }
    // Echo off before the prompt shows: whatever is typed after it is never echoed.
    stdin.setRawMode(true)
    process.stderr.write(prompt)
    stdin.resume()
    stdin.on('data', onData)
  })
}

async function readPassword(env: Record<string, string | undefined>): Promise<string> {
  const fromEnv = adminPasswordFromEnv(env)
  if (fromEnv !== undefined) return fromEnv
  if (process.stdin.isTTY) {
    const first = await promptHidden('Password: ')
    // Check before asking again: no point repeating a password that will be refused.
    const problem = passwordProblem(first)
    if (problem) throw new CliError(problem)
    if ((await promptHidden('Repeat password: ')) !== first) throw new CliError('the passwords do not match')
    return first
  }
  const line = (await Bun.stdin.text()).split(/\r?\n/)[0] ?? ''
  if (line === '') throw new CliError('no password: set ROSTER_ADMIN_PASSWORD, type it at the prompt, or pipe it on standard input')
  return line
}

export async function createAdmin(config: Config, env: Record<string, string | undefined>, username: string, email: string): Promise<void> {
  // Name and address first: a typo should not cost the user a password prompt.
  checkIdentity(username, email)
  const password = await readPassword(env)
  const problem = passwordProblem(password)
  if (problem) throw new CliError(problem)
  const secret = readSecret(config)
  const data = await openData(config)
  try {
    // Through createServices, like a signup: the welcome mail is queued in the same transaction.
    const services = createServices({ config, data, secret, logger: createLogger(config.logLevel) })
    const row = await services.users.create({ username, email, password, role: 'admin', is_active: true }, { id: 0, role: 'admin' })
    process.stdout.write(`admin ${row.username} created (id ${row.id})\n`)
  } finally {
    await data.close()
  }
}
