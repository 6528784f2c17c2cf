// TypeScript types of the live document by openapi-typescript, as a client's
// developer would make them (`npx openapi-typescript <url> -o roster-api.d.ts`).
// Used by web/gen-types.ts (the console's types) and the typed-client test:
//   bun test/openapi/generate-types.ts OUT.d.ts
// openapi-typescript drives TypeScript 5's compiler API, which TypeScript 7
// (the project's compiler) no longer has: its `typescript` import is pointed
// at the typescript5 alias package, in the importing process only.
import { plugin } from 'bun'
import { runCleanups } from '../cleanup'
import { liveDocument } from './document'

// Bun's runtime plugins cannot redirect a bare import, but can replace the
// file it resolves to (TypeScript 7's package entry).
const TS7_ENTRY = /node_modules\/typescript\/lib\/version\.cjs$/
plugin({
  name: 'typescript5 for openapi-typescript',
  setup(build) {
    build.onLoad({ filter: TS7_ENTRY }, () => ({
      contents: `import ts from ${JSON.stringify(require.resolve('typescript5'))}; export default ts;`,
      loader: 'js'
    }))
  }
})

/** The types of the document a fresh app serves now. */
export async function openapiTypes(): Promise<string> {
  const { default: openapiTS, astToString } = await import('openapi-typescript')
  try {
    return astToString(await openapiTS((await liveDocument()) as never))
  } finally {
    await runCleanups()
  }
}

if (import.meta.main) {
  const out = process.argv[2]
  if (!out) throw new Error('usage: bun test/openapi/generate-types.ts OUT.d.ts')
  await Bun.write(out, await openapiTypes())
}
