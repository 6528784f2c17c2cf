// Password hashing with argon2id (Bun.password), bounded so that a flood of
// logins or signups cannot starve every other request: at most one hash per core
// runs at a time; the rest wait in a FIFO queue. Hashes run on Bun's native
// thread pool, which also serves WebCrypto: a full pool stalls crypto.subtle
// (that is why access tokens use synchronous HMAC, see modules/auth/tokens.ts).
// One hash per core is the bound test/bench/login-flood.ts chose: cores - 1
// kept other requests a little faster under a wrong-password flood but halved
// the rate of signups and logins.
import { availableParallelism } from 'node:os'
import { normalizePassword } from './unicode'

// OWASP's argon2id recommendation (19 MiB, 2 passes). Bun's default (64 MiB)
// costs several times the time and memory per hash for little gain.
export const HASH_PARAMS = { algorithm: 'argon2id', memoryCost: 19456, timeCost: 2 } as const

class Semaphore {
  private waiting: (() => void)[] = []
  private active = 0
  constructor(private readonly limit: number) {}

  async run<T>(fn: () => Promise<T>): Promise<T> {
    if (this.active >= this.limit) await new Promise<void>((resolve) => this.waiting.push(resolve))
    else this.active++
    try {
      return await fn()
    } finally {
      const next = this.waiting.shift()
      // Hand the slot straight to the next waiter so `active` never dips below
      // the number of running hashes.
      if (next) next()
      else this.active--
    }
  }

  get queued(): number {
    return this.waiting.length
  }
}

const hashing = new Semaphore(Math.max(1, availableParallelism()))

/** Hashes the NFC form: `Café` typed composed or decomposed is one password. */
export function hashPassword(password: string): Promise<string> {
  return hashing.run(() => Bun.password.hash(normalizePassword(password), HASH_PARAMS))
}

/**
 * Checks the NFC form, then (only when it differs) the password as typed:
 * hashes made before passwords were normalised hold the raw form.
 */
export async function verifyPassword(password: string, hash: string): Promise<boolean> {
  const nfc = normalizePassword(password)
  const check = (p: string) => hashing.run(() => Bun.password.verify(p, hash).catch(() => false))
  if (await check(nfc)) return true
  return nfc !== password && check(password)
}

/** True when the stored hash was made with other (older) parameters than HASH_PARAMS. */
export function needsRehash(hash: string): boolean {
  const m = /^\$argon2id\$v=\d+\$m=(\d+),t=(\d+),p=\d+\$/.exec(hash)
  if (!m) return true
  return Number(m[1]) !== HASH_PARAMS.memoryCost || Number(m[2]) !== HASH_PARAMS.timeCost
}

let dummy: Promise<string> | undefined
/**
 * A real hash of a random password, computed once: verifying against it makes a
 * login for an unknown user cost the same as a wrong password.
 */
export function dummyHash(): Promise<string> {
  dummy ??= Bun.password.hash(crypto.randomUUID(), HASH_PARAMS)
  return dummy
}
