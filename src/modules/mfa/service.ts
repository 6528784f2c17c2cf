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
import type { Data, Tx } from '../../db/data'
import type { UserRow } from '../../db/schema'
import { BadRequest, NotFound, TooManyRequests, Unauthorized } from '../../lib/errors'
import { createSecretBox } from '../../lib/secretbox'
import { hashToken, newToken } from '../../lib/token'
import { SYSTEM, type AuditService, type Origin } from '../audit/service'
import type { ReentryCheck } from '../auth/reentry'
import type { Throttle } from '../auth/service'

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

interface Deps {
  data: Data
  secretKey: string
  /** The login throttle: every code attempt counts in it like a password attempt. */
  throttle: Throttle
  /** The password re-entered for setup and disable, checked in that throttle too. */
  reenter: ReentryCheck
  now?: () => number
  /** mfa.enabled, mfa.disabled and mfa.failed are recorded here, in their transaction. */
  audit?: AuditService
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

export function createMfaService({ data, secretKey, throttle, reenter, now = Date.now, audit }: Deps) {
  const { db, t } = data
  const { totpSecrets, recoveryCodes, mfaChallenges, users: usersTable } = t
  const box = createSecretBox(secretKey, 'totp-secret')
  const totpFor = (secret: Uint8Array) =>
    new TOTP({ issuer: ISSUER, algorithm: 'SHA1', digits: 6, period: PERIOD, secret: new Secret({ buffer: secret.buffer as ArrayBuffer }) })

  /** The time step of a valid TOTP code at now(), or undefined. */
  async function totpStep(tx: Tx, userId: number, code: string): Promise<number | undefined> {
    const [row] = await tx.select().from(totpSecrets).where(eq(totpSecrets.userId, userId))
    if (!row) return undefined
    const secret = box.open(row.secret, String(userId))
    if (!secret) return undefined
    const totp = totpFor(secret)
    const timestamp = now()
    const delta = totp.validate({ token: code, timestamp, window: WINDOW })
    if (delta === null) return undefined
    return totp.counter({ timestamp }) + delta
  }

  /** Spends a TOTP code (its step, once) or a recovery code, inside the caller's transaction. */
  async function spendCode(tx: Tx, userId: number, code: string): Promise<CodeKind | undefined> {
    const trimmed = code.trim()
    if (TOTP_CODE.test(trimmed)) {
      const step = await totpStep(tx, userId, trimmed)
      if (step === undefined) return undefined
      // Raising last_step is the spend: a replay in the same step (or an older
      // code after a newer one) changes no row, on either engine (PostgreSQL
      // re-checks the condition once a concurrent update of the row commits).
      const spent = await tx
        .update(totpSecrets)
        .set({ lastStep: step })
        .where(and(eq(totpSecrets.userId, userId), or(isNull(totpSecrets.lastStep), lt(totpSecrets.lastStep, step))))
        .returning({ userId: totpSecrets.userId })
      return spent.length === 1 ? 'totp' : undefined
    }
    const normalized = normalizeRecoveryCode(trimmed)
    if (!RECOVERY_CODE.test(normalized)) return undefined
    const used = await tx
      .update(recoveryCodes)
      .set({ usedAt: now() })
      .where(and(eq(recoveryCodes.userId, userId), eq(recoveryCodes.codeHash, hashToken(normalized)), isNull(recoveryCodes.usedAt)))
      .returning({ id: recoveryCodes.id })
    return used.length === 1 ? 'recovery' : undefined
  }

  async function removeAll(tx: Tx, userId: number): Promise<void> {
    await tx.delete(totpSecrets).where(eq(totpSecrets.userId, userId))
    await tx.delete(recoveryCodes).where(eq(recoveryCodes.userId, userId))
    await tx.delete(mfaChallenges).where(eq(mfaChallenges.userId, userId))
    await tx.update(usersTable).set({ mfaEnabled: false }).where(eq(usersTable.id, userId))
  }

  /** The user's row, locked until the transaction ends (PostgreSQL); SQLite's writer lock covers it. */
  const lockedUser = (tx: Tx, id: number) =>
    data
      .forUpdate(
        tx
          .select({ id: usersTable.id, mfaEnabled: usersTable.mfaEnabled, isActive: usersTable.isActive, tokenVersion: usersTable.tokenVersion })
          .from(usersTable)
          .where(eq(usersTable.id, id))
      )
      .then((r) => r[0])

  return {
    /** A new secret for the caller; nothing is active until enable() gets a code made from it. */
    async setup(user: UserRow, password: string, ip: string | null): Promise<Setup> {
      if (user.mfaEnabled) throw BadRequest('TOTP is already enabled')
      // TOTP is off: a right password settles the count as a login without TOTP does.
      await (await reenter(user, password, ip)).succeeded()
      const secret = new Secret({ size: 20 })
      const sealed = box.seal(secret.bytes, String(user.id))
      await data.transaction(async (tx) => {
        // Re-checked under the lock: the password hash yielded.
        const current = await lockedUser(tx, user.id)
        if (!current || current.mfaEnabled) throw BadRequest('TOTP is already enabled')
        await tx
          .insert(totpSecrets)
          .values({ userId: user.id, secret: sealed, lastStep: null, createdAt: now() })
          .onConflictDoUpdate({ target: totpSecrets.userId, set: { secret: sealed, lastStep: null, createdAt: now() } })
      })
      const label = encodeURIComponent(user.username)
      return {
        secret: secret.base32,
        otpauth_url: `otpauth://totp/${ISSUER}:${label}?secret=${secret.base32}&issuer=${ISSUER}&algorithm=SHA1&digits=6&period=${PERIOD}`
      }
    },

    /** Turns TOTP on with a first valid code; returns the recovery codes (the only time they exist in clear). */
    async enable(userId: number, code: string, origin: Origin = SYSTEM): Promise<string[]> {
      const codes = Array.from({ length: RECOVERY_CODE_COUNT }, newRecoveryCode)
      await data.transaction(async (tx) => {
        const user = await lockedUser(tx, userId)
        if (!user) throw NotFound('User not found')
        if (user.mfaEnabled) throw BadRequest('TOTP is already enabled')
        if (!TOTP_CODE.test(code.trim())) throw BadRequest(INVALID_CODE)
        const step = await totpStep(tx, userId, code.trim())
        if (step === undefined) throw BadRequest(INVALID_CODE)
        await tx.update(totpSecrets).set({ lastStep: step }).where(eq(totpSecrets.userId, userId))
        await tx.update(usersTable).set({ mfaEnabled: true }).where(eq(usersTable.id, userId))
        await tx.delete(recoveryCodes).where(eq(recoveryCodes.userId, userId))
        await tx.insert(recoveryCodes).values(codes.map((c) => ({ userId, codeHash: hashToken(normalizeRecoveryCode(c)), usedAt: null })))
        await audit?.append(tx, { type: 'mfa.enabled', origin, targetId: userId })
      })
      return codes
    },

    /**
     * Turns TOTP off: the password and a code (TOTP or recovery), one attempt
     * in the login throttle: a wrong password or a wrong code keeps its place,
     * both right clear the account's counter (as a login's code does).
     */
    async disable(user: UserRow, password: string, code: string, origin: Origin = SYSTEM): Promise<CodeKind> {
      if (!user.mfaEnabled) throw BadRequest('TOTP is not enabled')
      const checked = await reenter(user, password, origin.ip)
      let kind: CodeKind | undefined
      try {
        kind = await data.transaction(async (tx) => {
          const spent = await spendCode(tx, user.id, code)
          if (!spent) return undefined
          await removeAll(tx, user.id)
          await audit?.append(tx, { type: 'mfa.disabled', origin, targetId: user.id, details: { by: 'self', factor: spent } })
          return spent
        })
      } catch (err) {
        // Nothing was judged: the place goes back.
        await checked.release()
        throw err
      }
      if (!kind) throw BadRequest(INVALID_CODE)
      await checked.succeeded()
      return kind
    },

    /** An admin turns TOTP off for a locked-out user. */
    async reset(userId: number, origin: Origin = SYSTEM): Promise<void> {
      await data.transaction(async (tx) => {
        const user = await lockedUser(tx, userId)
        if (!user) throw NotFound('User not found')
        await removeAll(tx, userId)
        if (user.mfaEnabled) await audit?.append(tx, { type: 'mfa.disabled', origin, targetId: userId, details: { by: 'admin' } })
      })
    },

    /**
     * After a correct password: the token that /auth/mfa/verify exchanges, with
     * a code, for a session. Undefined when the user changed since the password
     * was checked (at `checked.tokenVersion`): a password change, reset,
     * deactivation or deletion that landed meanwhile has already revoked the
     * user's challenges, so this one must not be created after it.
     */
    async startChallenge(checked: { id: number; tokenVersion: number }): Promise<{ mfa_token: string; expires_in: number } | undefined> {
      const userId = checked.id
      const token = newToken()
      const t = now()
      const started = await data.transaction(async (tx) => {
        const user = await lockedUser(tx, userId)
        if (!user || !user.isActive || user.tokenVersion !== checked.tokenVersion) return false
        // Housekeeping on the user's own rows: expired challenges go.
        await tx.delete(mfaChallenges).where(and(eq(mfaChallenges.userId, userId), lt(mfaChallenges.expiresAt, t)))
        await tx.insert(mfaChallenges).values({ userId, tokenHash: hashToken(token), failures: 0, expiresAt: t + MFA_TOKEN_TTL_S * 1000 })
        return true
      })
      return started ? { mfa_token: token, expires_in: MFA_TOKEN_TTL_S } : undefined
    },

    /**
     * Finishes a login: a valid code spends the challenge and returns the user;
     * a wrong one counts against the challenge (the fifth kills it) and in the
     * login throttle.
     */
    async verifyChallenge(token: string, code: string, ip: string | null, origin: Origin = { ...SYSTEM, ip }): Promise<{ user: UserRow; kind: CodeKind }> {
      const tokenHash = hashToken(token)
      const from = ip ?? 'unknown'
      const live = <T extends { expiresAt: number; failures: number }>(row: T | undefined) =>
        row && row.expiresAt > now() && row.failures < MAX_CODE_FAILURES ? row : undefined
      const [first] = await db.select().from(mfaChallenges).where(eq(mfaChallenges.tokenHash, tokenHash))
      if (!live(first)) throw Unauthorized(INVALID_MFA_TOKEN)
      const account = `u:${first!.userId}`
      // Counted before the code is checked, like a password (see auth/throttle.ts).
      const wait = await throttle.reserve(account, from)
      if (wait > 0) throw TooManyRequests('Too many login attempts', wait)
      const result = await data.transaction(async (tx) => {
        // Re-read and locked: a parallel request may have spent or killed it.
        const [locked] = await data.forUpdate(tx.select().from(mfaChallenges).where(eq(mfaChallenges.tokenHash, tokenHash)))
        const row = live(locked)
        if (!row) return 'dead' as const
        const [user] = await tx.select().from(usersTable).where(eq(usersTable.id, row.userId))
        if (!user || !user.isActive || !user.mfaEnabled) return 'dead' as const
        const kind = await spendCode(tx, row.userId, code)
        if (kind) {
          await tx.delete(mfaChallenges).where(eq(mfaChallenges.id, row.id))
          return { user: user as UserRow, kind }
        }
        // The attempt is recorded, never the code that was tried.
        await audit?.append(tx, { type: 'mfa.failed', origin, targetId: row.userId, details: { failures: row.failures + 1 } })
        if (row.failures + 1 >= MAX_CODE_FAILURES) await tx.delete(mfaChallenges).where(eq(mfaChallenges.id, row.id))
        else await tx.update(mfaChallenges).set({ failures: sql`${mfaChallenges.failures} + 1` }).where(eq(mfaChallenges.id, row.id))
        return 'wrong' as const
      })
      if (result === 'dead') {
        // No code was checked: the place goes back.
        await throttle.release(account, from)
        throw Unauthorized(INVALID_MFA_TOKEN)
      }
      // A wrong code keeps the place it reserved.
      if (result === 'wrong') throw Unauthorized(INVALID_CODE)
      await throttle.succeeded(account, from)
      return result
    },

    /** For UserHooks.credentialsRevoked: a pending login must not outlive a credential change. */
    async revokeChallenges(tx: Tx, userId: number): Promise<void> {
      await tx.delete(mfaChallenges).where(eq(mfaChallenges.userId, userId))
    }
  }
}

export type MfaService = ReturnType<typeof createMfaService>
