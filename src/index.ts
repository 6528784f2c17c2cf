// Entry point of `bun src/index.ts` and of the compiled binary. Nothing may be
// exported from here: an export makes the compiled binary's runtime treat this
// module as a server definition and crash at start ("Bun.serve() needs either:
// routes/fetch"). The CLI lives in src/cli/.
import { run } from './cli/main'

run(process.argv.slice(2))
