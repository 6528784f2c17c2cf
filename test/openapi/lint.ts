// `bun run lint:openapi`: Redocly's recommended lint of the document the app
// serves. Exits 1 on any error; prints warnings (docs/api.md explains each one).
import { runCleanups } from '../cleanup'
import { lint, liveDocument } from './document'

const { problems, output } = await lint(await liveDocument())
console.log(output.trim())
await runCleanups()
process.exit(problems.some((p) => p.severity === 'error') ? 1 : 0)
