// `roster healthcheck`: exit 0 when the server configured by the same
// environment answers 200 on /health. For the Docker HEALTHCHECK: the image has
// no shell, curl or wget, only this program.
import type { Config } from '../config'
import { CliError } from './errors'

export async function healthcheck(config: Config): Promise<void> {
  // A wildcard address is not something to connect to: use the loopback.
  const host = config.host === '0.0.0.0' ? '127.0.0.1' : config.host === '::' ? '::1' : config.host
  const url = `http://${host.includes(':') ? `[${host}]` : host}:${config.port}/health`
  let status: number
  try {
    const res = await fetch(url, { signal: AbortSignal.timeout(3000) })
    status = res.status
    await res.arrayBuffer()
  } catch {
    throw new CliError('unhealthy (no answer on /health)')
  }
  if (status !== 200) throw new CliError(`unhealthy (/health answered ${status})`)
  process.stdout.write('ok\n')
}
