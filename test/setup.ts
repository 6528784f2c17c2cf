// Preloaded by bunfig.toml. bun test 1.4 ignores `[test] timeout` in bunfig,
// so the default per-test timeout is set here: argon2 hashing and the tests that
// start real processes need more than 5 s on a loaded 2-core machine.
import { setDefaultTimeout } from 'bun:test'

setDefaultTimeout(30_000)
