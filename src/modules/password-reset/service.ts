// Password reset: a single-use token, valid one hour, stored only as its sha256.
// The request never tells whether the address is known: the route answers 202 at
// once and the work happens right after, so neither the body nor the timing
// differs. The token row and its mail are written in one transaction.
import { and, count, eq, gt, isNull } from 'drizzle-orm'
import type { Tx } from '../../db/data'
import { BadRequest, INVALID_TOKEN } from '../../lib/errors'
import type { Logger } from '../../lib/log'
import { hashPassword } from '../../lib/password'
import { issueToken, presentedHash } from '../../lib/token'
import type { LinkMailerDeps } from '../../mail/service'
import { passwordResetMail, RESET_TOKEN_TTL_MS } from '../../mail/templates'
import { SYSTEM, type Origin } from '../audit/service'

/** At most this many reset mails per address per hour (counted in password_reset_tokens). */
export const MAX_RESETS_PER_HOUR = 3

const HOUR_MS = 3_600_000

interface Deps extends LinkMailerDeps {
  logger: Logger
}

export function createPasswordResetService({ data, users, mail, audit, publicUrl, logger }: Deps) {
  const { db, t } = data
  const { passwordResetTokens } = t
  let pending: Promise<void> = Promise.resolve()

  /** Issues a token and queues its mail, unless the address is unknown, inactive or over its cap. */
  async function issue(email: string, origin: Origin): Promise<'queued' | 'unknown' | 'capped'> {
    const user = await users.findForLogin(email)
    if (!user || !user.isActive) return 'unknown'
    return data.transaction(async (tx) => {
      // Count and insert under one lock per user: concurrent requests (on any
      // instance) cannot both pass the cap.
      await data.lock(tx, `reset:${user.id}`)
      const now = Date.now()
      const [row] = await tx
        .select({ n: count().mapWith(Number) })
        .from(passwordResetTokens)
        .where(and(eq(passwordResetTokens.userId, user.id), gt(passwordResetTokens.createdAt, now - HOUR_MS)))
      const capped = (row?.n ?? 0) >= MAX_RESETS_PER_HOUR
      // Recorded for known addresses only; an unknown one changes nothing.
      await audit.append(tx, { type: 'password.reset_requested', origin, targetId: user.id, details: { mailed: !capped } })
      if (capped) return 'capped'
      const { token, stored } = issueToken(now, RESET_TOKEN_TTL_MS)
      await tx.insert(passwordResetTokens).values({ userId: user.id, ...stored })
      await mail.enqueue(tx, passwordResetMail({ to: user.email, username: user.username, token, publicUrl }))
      return 'queued'
    })
  }

  /** The token's row when it can still be spent (unused, unexpired). */
  async function usable(q: Tx, tokenHash: string) {
    const [row] = await data.forUpdate(q.select().from(passwordResetTokens).where(eq(passwordResetTokens.tokenHash, tokenHash)))
    if (!row || row.usedAt !== null || row.expiresAt <= Date.now()) return undefined
    return row
  }

  return {
    /**
     * Schedules the request and returns at once (the route answers 202). A crash in
     * the instant between the answer and the commit loses the request; the user asks
     * again. Nothing is logged that would tell whether the address exists.
     */
    request(email: string, origin: Origin = SYSTEM): void {
      const task = new Promise<void>((resolve) =>
        setImmediate(() => {
          issue(email, origin)
            .catch((err: unknown) => {
              logger.error('password reset request failed', { error: err instanceof Error ? err.name : typeof err })
            })
            .finally(resolve)
        })
      )
      pending = Promise.all([pending, task]).then(() => undefined)
    },

    /** Resolves once every request scheduled so far has been processed (tests, shutdown). */
    settled(): Promise<void> {
      return pending
    },

    /** Sets the new password; the token, every other outstanding token and every session die with it. */
    async confirm(token: string, newPassword: string, origin: Origin = SYSTEM): Promise<void> {
      const tokenHash = presentedHash(token)
      if (!tokenHash) throw BadRequest(INVALID_TOKEN)
      // Checked before hashing, so a flood of bad tokens costs no argon2 time.
      const first = await usable(db, tokenHash)
      if (!first || !(await users.getById(first.userId))?.isActive) throw BadRequest(INVALID_TOKEN)
      const hashed = await hashPassword(newPassword)
      await data.transaction(async (tx) => {
        // Re-checked with the row locked: the hash above yielded, and a token is spent once.
        const row = await usable(tx, tokenHash)
        if (!row) throw BadRequest(INVALID_TOKEN)
        await tx
          .update(passwordResetTokens)
          .set({ usedAt: Date.now() })
          .where(and(eq(passwordResetTokens.userId, row.userId), isNull(passwordResetTokens.usedAt)))
        // Bumps token_version (every access token) and fires credentialsRevoked (sessions).
        await users.setPassword(tx, row.userId, hashed)
        await audit.append(tx, { type: 'password.reset_completed', origin, targetId: row.userId })
      })
    },

    /** Hook for credentialsRevoked: a password change or deactivation kills outstanding reset links. */
    async revokeAll(tx: Tx, userId: number): Promise<void> {
      await tx
        .update(passwordResetTokens)
        .set({ usedAt: Date.now() })
        .where(and(eq(passwordResetTokens.userId, userId), isNull(passwordResetTokens.usedAt)))
    }
  }
}

export type PasswordResetService = ReturnType<typeof createPasswordResetService>
