// TOTP second factor (RFC 6238: SHA-1, 6 digits, 30 s) with the otpauth
// library, single-use recovery codes, and the login challenge that sits
// between a correct password and a session.
//
// A code is accepted only by raising totp_secrets.last_step to the code's time
// step in one guarded UPDATE: a code works once, and of many parallel requests
// with one code exactly one wins. The clock is `now()`, injected, so tests
// generate real codes at chosen times.
import { and, eq, isNull, lt, or, sql } from 'drizzle-orm'
import { Secret, TOTP } from 'otpauth'
import type { Db, Tx } from '../../db/client'
import { mfaChallenges, recoveryCodes, totpSecrets, users as usersTable, type UserRow } from '../../db/schema'
import { BadRequest, NotFound, TooManyRequests, Unauthorized } from '../../lib/errors'
import { verifyPassword } from '../../lib/password'
import { createSecretBox } from '../../lib/secretbox'
import type { LoginThrottle } from '../auth/throttle'
import { hashToken, newToken } from '../../lib/token'
import type { UserService } from '../users/service'

export const INVALID_CODE = 'Invalid code'
export const INVALID_MFA_TOKEN = 'Invalid or expired MFA token'
export const MFA_TOKEN_TTL_S = 300
/** The fifth wrong code kills the login challenge. */
export const MAX_CODE_FAILURES = 5
export const RECOVERY_CODE_COUNT = 10
const ISSUER = 'Roster'
const PERIOD = 30
/** One step of clock skew either way. */
const WINDOW = 1
const TOTP_CODE = /^\d{6}$/
/** Recovery codes are 16 base32 characters (80 bits), shown in groups of four. */
const RECOVERY_CODE = /^[a-z2-7]{16}$/

const IMMEDIATE = { behavior: 'immediate' } as const

interface Deps {
  db: Db
  users: UserService
  secretKey: string
  /** The login throttle: every code attempt counts in it like a password attempt. */
  throttle: LoginThrottle
  now?: () => number
}

export interface Setup {
  secret: string
  otpauth_url: string
}

export type CodeKind = 'totp' | 'recovery'

function normalizeRecoveryCode(code: string): string {
  return code.replace(/[\s-]/g, '').toLowerCase()
}

function newRecoveryCode(): string {
  const b32 = new Secret({ size: 10 }).base32.toLowerCase()
  return b32.match(/.{4}/g)!.join('-')
}

export function createMfaService({ db, users, secretKey, throttle, now = Date.now }: Deps) {
  const box = createSecretBox(secretKey, 'totp-secret')
  const totpFor = (secret: Uint8Array, username = '') =>
    new TOTP({ issuer: ISSUER, label: username, algorithm: 'SHA1', digits: 6, period: PERIOD, secret: new Secret({ buffer: secret.buffer as ArrayBuffer }) })

  /** The time step of a valid TOTP code at now(), or undefined. */
  function totpStep(tx: Db | Tx, userId: number, code: string): number | undefined {
    const row = tx.select().from(totpSecrets).where(eq(totpSecrets.userId, userId)).get()
    if (!row) return undefined
    const secret = box.open(row.secret, String(userId))
    if (!secret) return undefined
    const totp = totpFor(secret)
    const timestamp = now()
    const delta = totp.validate({ token: code, timestamp, window: WINDOW })
    if (delta === null) return undefined
    return totp.counter({ timestamp }) + delta
  }

  /** Spends a TOTP code (its step, once) or a recovery code. Synchronous: runs inside the caller's transaction. */
  function spendCode(tx: Db | Tx, userId: number, code: string): CodeKind | undefined {
    const trimmed = code.trim()
    if (TOTP_CODE.test(trimmed)) {
      const step = totpStep(tx, userId, trimmed)
      if (step === undefined) return undefined
      // Raising last_step is the spend: a replay in the same step (or an older
      // code after a newer one) changes no row.
      const spent = tx
        .update(totpSecrets)
        .set({ lastStep: step })
        .where(and(eq(totpSecrets.userId, userId), or(isNull(totpSecrets.lastStep), lt(totpSecrets.lastStep, step))))
        .returning({ userId: totpSecrets.userId })
        .all()
      return spent.length === 1 ? 'totp' : undefined
    }
    const normalized = normalizeRecoveryCode(trimmed)
    if (!RECOVERY_CODE.test(normalized)) return undefined
    const used = tx
      .update(recoveryCodes)
      .set({ usedAt: now() })
      .where(and(eq(recoveryCodes.userId, userId), eq(recoveryCodes.codeHash, hashToken(normalized)), isNull(recoveryCodes.usedAt)))
      .returning({ id: recoveryCodes.id })
      .all()
    return used.length === 1 ? 'recovery' : undefined
  }

  function removeAll(tx: Tx, userId: number): void {
    tx.delete(totpSecrets).where(eq(totpSecrets.userId, userId)).run()
    tx.delete(recoveryCodes).where(eq(recoveryCodes.userId, userId)).run()
    tx.delete(mfaChallenges).where(eq(mfaChallenges.userId, userId)).run()
    tx.update(usersTable).set({ mfaEnabled: false }).where(eq(usersTable.id, userId)).run()
  }

  async function checkPassword(user: UserRow, password: string): Promise<void> {
    if (!(await verifyPassword(password, user.hashedPassword))) throw BadRequest('Incorrect password')
  }

  return {
    /** A new secret for the caller; nothing is active until enable() gets a code made from it. */
    async setup(user: UserRow, password: string): Promise<Setup> {
      if (user.mfaEnabled) throw BadRequest('TOTP is already enabled')
      await checkPassword(user, password)
      const secret = new Secret({ size: 20 })
      const sealed = box.seal(secret.bytes, String(user.id))
      db.transaction((tx) => {
        // Re-checked under the write lock: the password hash yielded.
        const current = users.getById(user.id)
        if (!current || current.mfaEnabled) throw BadRequest('TOTP is already enabled')
        tx.insert(totpSecrets)
          .values({ userId: user.id, secret: sealed, lastStep: null, createdAt: now() })
          .onConflictDoUpdate({ target: totpSecrets.userId, set: { secret: sealed, lastStep: null, createdAt: now() } })
          .run()
      }, IMMEDIATE)
      const label = encodeURIComponent(user.username)
      return {
        secret: secret.base32,
        otpauth_url: `otpauth://totp/${ISSUER}:${label}?secret=${secret.base32}&issuer=${ISSUER}&algorithm=SHA1&digits=6&period=${PERIOD}`
      }
    },

    /** Turns TOTP on with a first valid code; returns the recovery codes (the only time they exist in clear). */
    enable(userId: number, code: string): string[] {
      const codes = Array.from({ length: RECOVERY_CODE_COUNT }, newRecoveryCode)
      db.transaction((tx) => {
        const user = tx.select({ mfaEnabled: usersTable.mfaEnabled }).from(usersTable).where(eq(usersTable.id, userId)).get()
        if (!user) throw NotFound('User not found')
        if (user.mfaEnabled) throw BadRequest('TOTP is already enabled')
        if (!TOTP_CODE.test(code.trim())) throw BadRequest(INVALID_CODE)
        const step = totpStep(tx, userId, code.trim())
        if (step === undefined) throw BadRequest(INVALID_CODE)
        tx.update(totpSecrets).set({ lastStep: step }).where(eq(totpSecrets.userId, userId)).run()
        tx.update(usersTable).set({ mfaEnabled: true }).where(eq(usersTable.id, userId)).run()
        tx.delete(recoveryCodes).where(eq(recoveryCodes.userId, userId)).run()
        tx.insert(recoveryCodes)
          .values(codes.map((c) => ({ userId, codeHash: hashToken(normalizeRecoveryCode(c)), usedAt: null })))
          .run()
      }, IMMEDIATE)
      return codes
    },

    /** Turns TOTP off: the password and a code (TOTP or recovery). */
    async disable(user: UserRow, password: string, code: string): Promise<CodeKind> {
      if (!user.mfaEnabled) throw BadRequest('TOTP is not enabled')
      await checkPassword(user, password)
      return db.transaction((tx) => {
        const kind = spendCode(tx, user.id, code)
        if (!kind) throw BadRequest(INVALID_CODE)
        removeAll(tx, user.id)
        return kind
      }, IMMEDIATE)
    },

    /** An admin turns TOTP off for a locked-out user. */
    reset(userId: number): void {
      db.transaction((tx) => {
        const user = tx.select({ id: usersTable.id }).from(usersTable).where(eq(usersTable.id, userId)).get()
        if (!user) throw NotFound('User not found')
        removeAll(tx, userId)
      }, IMMEDIATE)
    },

    /** After a correct password: the token that /auth/mfa/verify exchanges, with a code, for a session. */
    startChallenge(userId: number): { mfa_token: string; expires_in: number } {
      const token = newToken()
      const t = now()
      db.transaction((tx) => {
        // Housekeeping on the user's own rows: spent and expired challenges go.
        tx.delete(mfaChallenges).where(and(eq(mfaChallenges.userId, userId), lt(mfaChallenges.expiresAt, t))).run()
        tx.insert(mfaChallenges).values({ userId, tokenHash: hashToken(token), failures: 0, expiresAt: t + MFA_TOKEN_TTL_S * 1000 }).run()
      }, IMMEDIATE)
      return { mfa_token: token, expires_in: MFA_TOKEN_TTL_S }
    },

    /**
     * Finishes a login: a valid code spends the challenge and returns the user;
     * a wrong one counts against the challenge (the fifth kills it) and in the
     * login throttle.
     */
    verifyChallenge(token: string, code: string, ip: string | null): { user: UserRow; kind: CodeKind } {
      const tokenHash = hashToken(token)
      const from = ip ?? 'unknown'
      const live = (tx: Db | Tx) => {
        const row = tx.select().from(mfaChallenges).where(eq(mfaChallenges.tokenHash, tokenHash)).get()
        return row && row.expiresAt > now() && row.failures < MAX_CODE_FAILURES ? row : undefined
      }
      const first = live(db)
      if (!first) throw Unauthorized(INVALID_MFA_TOKEN)
      const account = `u:${first.userId}`
      const wait = throttle.retryAfter(account, from)
      if (wait > 0) throw TooManyRequests('Too many login attempts', wait)
      const result = db.transaction((tx) => {
        // Re-read under the write lock: a parallel request may have spent or killed it.
        const row = live(tx)
        if (!row) return 'dead' as const
        const user = users.getById(row.userId)
        if (!user || !user.isActive || !user.mfaEnabled) return 'dead' as const
        const kind = spendCode(tx, row.userId, code)
        if (kind) {
          tx.delete(mfaChallenges).where(eq(mfaChallenges.id, row.id)).run()
          return { user, kind }
        }
        const failures = row.failures + 1
        if (failures >= MAX_CODE_FAILURES) tx.delete(mfaChallenges).where(eq(mfaChallenges.id, row.id)).run()
        else tx.update(mfaChallenges).set({ failures: sql`${mfaChallenges.failures} + 1` }).where(eq(mfaChallenges.id, row.id)).run()
        return 'wrong' as const
      }, IMMEDIATE)
      if (result === 'dead') throw Unauthorized(INVALID_MFA_TOKEN)
      if (result === 'wrong') {
        throttle.failed(account, from)
        throw Unauthorized(INVALID_CODE)
      }
      throttle.succeeded(account, from)
      return result
    },

    /** For UserHooks.credentialsRevoked: a pending login must not outlive a credential change. */
    revokeChallenges(tx: Tx, userId: number): void {
      tx.delete(mfaChallenges).where(eq(mfaChallenges.userId, userId)).run()
    }
  }
}

export type MfaService = ReturnType<typeof createMfaService>
