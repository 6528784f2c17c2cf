// Preloaded by bunfig.toml for every test file.
import { afterEach, setDefaultTimeout } from 'bun:test'
import { runCleanups } from './cleanup'

// bun test 1.4 ignores `[test] timeout` in bunfig: argon2 hashing and the tests
// that start real processes need more than 5 s on a loaded 2-core machine.
setDefaultTimeout(30_000)

// Registered here, in the preload, so it applies to every file's tests.
afterEach(runCleanups)
