// Another Roster process on the same database (the CLI's way in: config,
// openData, createServices), making one credential change and exiting. Used by
// revocation.test.ts to prove that a change made outside the serving process
// takes effect on that process's very next request.
//
//   bun test/revoke-elsewhere.ts '<json: { action, userId, sessionId?, tokenId?, password? }>'
// DATA_DIR or DATABASE_URL and SECRET_KEY come from the environment.
import { parseConfig } from '../src/config'
import { openData } from '../src/cli/open'
import { createLogger } from '../src/lib/log'
import { createServices } from '../src/services'

const job = JSON.parse(process.argv[2]!) as { action: string; userId: number; sessionId?: string; tokenId?: number; password?: string }
const config = parseConfig()
const data = await openData(config)
const services = createServices({ config, data, secret: config.secretKey!, logger: createLogger('error') })
const root = { id: 0, role: 'admin' as const }
switch (job.action) {
  case 'revoke-session':
    await services.sessions.revokeOne(job.userId, job.sessionId!)
    break
  case 'change-password':
    await services.users.changePassword(job.userId, job.password!, 'Changed123')
    break
  case 'deactivate':
    await services.users.update(job.userId, { is_active: false }, root, false)
    break
  case 'revoke-token':
    await services.accessTokens.revoke(job.userId, job.tokenId!)
    break
  default:
    throw new Error(`unknown action ${job.action}`)
}
await data.close()
