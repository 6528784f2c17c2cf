// Preloaded by bunfig.toml for every test file.
import { plugin } from 'bun'
import { afterEach } from 'bun:test'
import { runCleanups } from './cleanup'

/**
 * Argon2 hashing and the tests that start real processes need more than Bun's
 * 5 s on a loaded 2-core machine. bun test 1.4 ignores `[test] timeout` in
 * bunfig, and setDefaultTimeout() is per file: called here, in the preload, it
 * applied to the first file of a run only (oven-sh/bun#43787), which is how a
 * later file timed out at 5 s. So every test file gets the call as its first
 * statement, on its first line (line numbers in failures stay right).
 */
export const TEST_TIMEOUT_MS = 30_000

plugin({
  name: 'roster-test-timeout',
  setup(build) {
    build.onLoad({ filter: /\.test\.ts$/ }, async ({ path }) => ({
      contents: `import { setDefaultTimeout as __rosterTimeout } from 'bun:test'; __rosterTimeout(${TEST_TIMEOUT_MS}); ` + (await Bun.file(path).text()),
      loader: 'ts'
    }))
  }
})

// Registered here, in the preload, so it applies to every file's tests.
afterEach(runCleanups)
