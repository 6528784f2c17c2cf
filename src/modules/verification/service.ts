// E-mail verification: a link with a single-use token (256 random bits, stored
// only as its sha256, valid 48 hours) mailed to the address to confirm. The
// token row remembers the address it was sent to, so a link for an address the
// user has since replaced verifies nothing. Spending is one conditional UPDATE
// (unused and unexpired), so of any number of concurrent submits one wins.
import { and, eq, gt, isNull } from 'drizzle-orm'
import type { Db } from '../../db/client'
import { emailVerificationTokens, type UserRow } from '../../db/schema'
import { BadRequest, INVALID_TOKEN, TooManyRequests } from '../../lib/errors'
import type { MailService } from '../../mail/service'
import { emailChangedMail, verifyEmailMail, VERIFY_TOKEN_TTL_MS, welcomeMail } from '../../mail/templates'
import type { AuditService, Origin } from '../audit/service'
import { hashToken, newToken } from '../../lib/token'
import type { Tx } from '../../db/client'
import type { UserService } from '../users/service'

/** Resent verification mails allowed per user per hour. */
export const MAX_RESENDS_PER_HOUR = 3
const HOUR_MS = 3_600_000
const MAX_TOKEN_LENGTH = 256

type Reason = 'signup' | 'resend' | 'email_change'

interface Deps {
  db: Db
  users: UserService
  mail: MailService
  audit: AuditService
  publicUrl: string
  now?: () => number
}

export function createVerificationService({ db, users, mail, audit, publicUrl, now = Date.now }: Deps) {
  /** Stores a new token for the user's current address and returns it (the only time it exists in clear). */
  function issue(tx: Tx, user: Pick<UserRow, 'id' | 'email'>, reason: Reason): string {
    const token = newToken()
    const t = now()
    tx.insert(emailVerificationTokens)
      .values({ userId: user.id, email: user.email, tokenHash: hashToken(token), reason, createdAt: t, expiresAt: t + VERIFY_TOKEN_TTL_MS })
      .run()
    return token
  }

  /** Resends in the last hour, and when the oldest of them stops counting. */
  function recentResends(tx: Tx, userId: number, t: number): { n: number; oldest: number } {
    const rows = tx
      .select({ createdAt: emailVerificationTokens.createdAt })
      .from(emailVerificationTokens)
      .where(
        and(
          eq(emailVerificationTokens.userId, userId),
          eq(emailVerificationTokens.reason, 'resend'),
          gt(emailVerificationTokens.createdAt, t - HOUR_MS)
        )
      )
      .orderBy(emailVerificationTokens.createdAt)
      .all()
    return { n: rows.length, oldest: rows[0]?.createdAt ?? t }
  }

  return {
    /** UserHooks.created: the one signup mail, with the verification link when the account is unverified. */
    onCreated(tx: Tx, user: UserRow): void {
      const verify = user.emailVerified ? undefined : { token: issue(tx, user, 'signup'), publicUrl }
      mail.enqueue(tx, welcomeMail({ to: user.email, username: user.username, verify }))
    },

    /** UserHooks.emailChanged: a link to the new address, a notice (no link) to the old one. */
    onEmailChanged(tx: Tx, user: UserRow, oldEmail: string): void {
      // Links sent to the old address die with it.
      tx.update(emailVerificationTokens)
        .set({ usedAt: now() })
        .where(and(eq(emailVerificationTokens.userId, user.id), isNull(emailVerificationTokens.usedAt)))
        .run()
      mail.enqueue(tx, verifyEmailMail({ to: user.email, username: user.username, token: issue(tx, user, 'email_change'), publicUrl }))
      mail.enqueue(tx, emailChangedMail({ to: oldEmail, username: user.username, newEmail: user.email }))
    },

    /**
     * A new link for the user's current address, at most MAX_RESENDS_PER_HOUR an
     * hour (429 beyond). An already verified account gets nothing ('verified').
     */
    resend(userId: number): 'sent' | 'verified' {
      const t = now()
      const result = db.transaction(
        (tx): 'sent' | 'verified' | { retryAfterMs: number } => {
          const user = users.getById(userId)
          if (!user || user.emailVerified) return 'verified'
          const recent = recentResends(tx, userId, t)
          if (recent.n >= MAX_RESENDS_PER_HOUR) return { retryAfterMs: recent.oldest + HOUR_MS - t }
          mail.enqueue(tx, verifyEmailMail({ to: user.email, username: user.username, token: issue(tx, user, 'resend'), publicUrl }))
          return 'sent'
        },
        // Count and insert under the write lock: parallel resends cannot all pass the cap.
        { behavior: 'immediate' }
      )
      if (typeof result === 'object') throw TooManyRequests('Too many verification e-mails', result.retryAfterMs / 1000)
      return result
    },

    /** Spends a token and marks its address verified. Unknown, spent and expired tokens get the same 400. */
    verify(token: string, origin: Origin): void {
      if (token.length === 0 || token.length > MAX_TOKEN_LENGTH) throw BadRequest(INVALID_TOKEN)
      const t = now()
      db.transaction(
        (tx) => {
          const spent = tx
            .update(emailVerificationTokens)
            .set({ usedAt: t })
            .where(
              and(
                eq(emailVerificationTokens.tokenHash, hashToken(token)),
                isNull(emailVerificationTokens.usedAt),
                gt(emailVerificationTokens.expiresAt, t)
              )
            )
            .returning()
            .get()
          if (!spent) throw BadRequest(INVALID_TOKEN)
          const user = users.getById(spent.userId)
          // The address changed since the link was sent: it proves nothing about the new one.
          if (!user || !user.isActive || user.email !== spent.email) throw BadRequest(INVALID_TOKEN)
          // The user's other outstanding links are spent with this one.
          tx.update(emailVerificationTokens)
            .set({ usedAt: t })
            .where(and(eq(emailVerificationTokens.userId, user.id), isNull(emailVerificationTokens.usedAt)))
            .run()
          if (user.emailVerified) return
          users.markVerified(tx, user.id)
          audit.append(tx, { type: 'email.verified', origin, targetId: user.id, details: { email: user.email } })
        },
        { behavior: 'immediate' }
      )
    }
  }
}

export type VerificationService = ReturnType<typeof createVerificationService>
