// Bundles the web front end (web/main.tsx: the console and the hosted pages) with
// Bun's bundler, in memory. `bun run build` writes the result next to the binary's
// sources and embeds it (see src/build.ts); running from source, the server calls
// this once, on the first page request.
import { join } from 'node:path'

export interface WebAsset {
  /** File name under /console/assets/, content-hashed so it can be cached for good. */
  name: string
  type: string
  body: Uint8Array
}

const root = join(import.meta.dir, '..', '..', '..')

export async function bundleWeb(): Promise<WebAsset[]> {
  const result = await Bun.build({
    entrypoints: [join(root, 'web', 'main.tsx')],
    target: 'browser',
    format: 'esm',
    minify: true,
    naming: { entry: '[name]-[hash].[ext]', asset: '[name]-[hash].[ext]', chunk: '[name]-[hash].[ext]' },
    // A bundle that differs between builds of the same source would defeat caching.
    define: { 'process.env.NODE_ENV': '"production"' }
  })
  if (!result.success) throw new AggregateError(result.logs, 'web bundle failed')
  return Promise.all(
    result.outputs.map(async (o) => ({
      name: o.path.replace(/^.*\//, ''),
      type: o.type,
      body: new Uint8Array(await o.arrayBuffer())
    }))
  )
}
