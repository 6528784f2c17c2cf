// Password reset: a single-use token, valid one hour, stored only as its sha256.
// The request never tells whether the address is known: the route answers 202 at
// once and the work happens right after, so neither the body nor the timing
// differs. The token row and its mail are written in one transaction.
import { and, count, eq, gt, isNull } from 'drizzle-orm'
import type { Db, Tx } from '../../db/client'
import { passwordResetTokens } from '../../db/schema'
import { BadRequest, INVALID_TOKEN } from '../../lib/errors'
import type { Logger } from '../../lib/log'
import { hashPassword } from '../../lib/password'
import { hashToken, newToken } from '../../lib/token'
import type { MailService } from '../../mail/service'
import { passwordResetMail, RESET_TOKEN_TTL_MS } from '../../mail/templates'
import type { AuditService, Origin } from '../audit/service'
import type { UserService } from '../users/service'

/** At most this many reset mails per address per hour (counted in password_reset_tokens). */
export const MAX_RESETS_PER_HOUR = 3


const HOUR_MS = 3_600_000

interface Deps {
  db: Db
  users: UserService
  mail: MailService
  audit: AuditService
  publicUrl: string
  logger: Logger
}

export function createPasswordResetService({ db, users, mail, audit, publicUrl, logger }: Deps) {
  let pending: Promise<void> = Promise.resolve()

  /** Issues a token and queues its mail, unless the address is unknown, inactive or over its cap. */
  function issue(email: string, origin: Origin): 'queued' | 'unknown' | 'capped' {
    const user = users.findForLogin(email)
    if (!user || !user.isActive) return 'unknown'
    const now = Date.now()
    return db.transaction(
      (tx) => {
        const recent =
          tx
            .select({ n: count() })
            .from(passwordResetTokens)
            .where(and(eq(passwordResetTokens.userId, user.id), gt(passwordResetTokens.createdAt, now - HOUR_MS)))
            .get()?.n ?? 0
        const capped = recent >= MAX_RESETS_PER_HOUR
        // Recorded for known addresses only; an unknown one changes nothing.
        audit.append(tx, { type: 'password.reset_requested', origin, targetId: user.id, details: { mailed: !capped } })
        if (capped) return 'capped'
        const token = newToken()
        tx.insert(passwordResetTokens)
          .values({ userId: user.id, tokenHash: hashToken(token), createdAt: now, expiresAt: now + RESET_TOKEN_TTL_MS })
          .run()
        mail.enqueue(tx, passwordResetMail({ to: user.email, username: user.username, token, publicUrl }))
        return 'queued'
      },
      // Count and insert under the write lock: two processes cannot both pass the cap.
      { behavior: 'immediate' }
    )
  }

  return {
    /**
     * Schedules the request and returns at once (the route answers 202). A crash in
     * the instant between the answer and the commit loses the request; the user asks
     * again. Nothing is logged that would tell whether the address exists.
     */
    request(email: string, origin: Origin): void {
      const task = new Promise<void>((resolve) =>
        setImmediate(() => {
          try {
            issue(email, origin)
          } catch (err) {
            logger.error('password reset request failed', { error: err instanceof Error ? err.name : typeof err })
          }
          resolve()
        })
      )
      pending = Promise.all([pending, task]).then(() => undefined)
    },

    /** Resolves once every request scheduled so far has been processed (tests, shutdown). */
    settled(): Promise<void> {
      return pending
    },

    /** Sets the new password; the token, every other outstanding token and every session die with it. */
    async confirm(token: string, newPassword: string, origin: Origin): Promise<void> {
      const tokenHash = hashToken(token)
      const isValid = () => {
        const row = db.select().from(passwordResetTokens).where(eq(passwordResetTokens.tokenHash, tokenHash)).get()
        if (!row || row.usedAt !== null || row.expiresAt <= Date.now()) return undefined
        const user = users.getById(row.userId)
        return user?.isActive ? row : undefined
      }
      // Checked before hashing, so a flood of bad tokens costs no argon2 time.
      if (!isValid()) throw BadRequest(INVALID_TOKEN)
      const hashed = await hashPassword(newPassword)
      db.transaction(
        (tx) => {
          // Re-checked under the write lock: the hash above yielded, and a token is spent once.
          const row = isValidIn(tx, tokenHash)
          if (!row) throw BadRequest(INVALID_TOKEN)
          const now = Date.now()
          tx.update(passwordResetTokens)
            .set({ usedAt: now })
            .where(and(eq(passwordResetTokens.userId, row.userId), isNull(passwordResetTokens.usedAt)))
            .run()
          // Bumps token_version (every access token) and fires credentialsRevoked (sessions).
          users.setPassword(tx, row.userId, hashed)
          audit.append(tx, { type: 'password.reset_completed', origin, targetId: row.userId })
        },
        { behavior: 'immediate' }
      )
    },

    /** Hook for credentialsRevoked: a password change or deactivation kills outstanding reset links. */
    revokeAll(tx: Tx, userId: number): void {
      tx.update(passwordResetTokens)
        .set({ usedAt: Date.now() })
        .where(and(eq(passwordResetTokens.userId, userId), isNull(passwordResetTokens.usedAt)))
        .run()
    }
  }

  function isValidIn(tx: Tx, tokenHash: string) {
    const row = tx.select().from(passwordResetTokens).where(eq(passwordResetTokens.tokenHash, tokenHash)).get()
    if (!row || row.usedAt !== null || row.expiresAt <= Date.now()) return undefined
    return row
  }
}

export type PasswordResetService = ReturnType<typeof createPasswordResetService>
