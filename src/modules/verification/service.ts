// E-mail verification: a link with a single-use token (256 random bits, stored
// only as its sha256, valid 48 hours) mailed to the address to confirm. The
// token row remembers the address it was sent to, so a link for an address the
// user has since replaced verifies nothing. Spending is one conditional UPDATE
// (unused and unexpired), so of any number of concurrent submits one wins.
import { and, asc, eq, gt, isNull } from 'drizzle-orm'
import type { Tx } from '../../db/data'
import type { UserRow } from '../../db/schema'
import { BadRequest, INVALID_TOKEN, TooManyRequests } from '../../lib/errors'
import { issueToken, presentedHash } from '../../lib/token'
import type { LinkMailerDeps } from '../../mail/service'
import { emailChangedMail, verifyEmailMail, VERIFY_TOKEN_TTL_MS, welcomeMail } from '../../mail/templates'
import type { Origin } from '../audit/service'

/** Resent verification mails allowed per user per hour. */
export const MAX_RESENDS_PER_HOUR = 3
const HOUR_MS = 3_600_000

type Reason = 'signup' | 'resend' | 'email_change'

export function createVerificationService({ data, users, mail, audit, publicUrl, now = Date.now }: LinkMailerDeps) {
  const { emailVerificationTokens: tokens } = data.t

  /** Stores a new token for the user's current address and returns it (the only time it exists in clear). */
  async function issue(tx: Tx, user: Pick<UserRow, 'id' | 'email'>, reason: Reason): Promise<string> {
    const { token, stored } = issueToken(now(), VERIFY_TOKEN_TTL_MS)
    await tx.insert(tokens).values({ userId: user.id, email: user.email, reason, ...stored })
    return token
  }

  /** Spends every outstanding link of the user. */
  async function spendAll(tx: Tx, userId: number, t: number): Promise<void> {
    await tx.update(tokens).set({ usedAt: t }).where(and(eq(tokens.userId, userId), isNull(tokens.usedAt)))
  }

  return {
    /** UserHooks.created: the one signup mail, with the verification link when the account is unverified. */
    async onCreated(tx: Tx, user: UserRow): Promise<void> {
      const verify = user.emailVerified ? undefined : { token: await issue(tx, user, 'signup'), publicUrl }
      await mail.enqueue(tx, welcomeMail({ to: user.email, username: user.username, verify }))
    },

    /** UserHooks.emailChanged: a link to the new address, a notice (no link) to the old one. */
    async onEmailChanged(tx: Tx, user: UserRow, oldEmail: string): Promise<void> {
      // Links sent to the old address die with it.
      await spendAll(tx, user.id, now())
      const token = await issue(tx, user, 'email_change')
      await mail.enqueue(tx, verifyEmailMail({ to: user.email, username: user.username, token, publicUrl }))
      await mail.enqueue(tx, emailChangedMail({ to: oldEmail, username: user.username, newEmail: user.email }))
    },

    /**
     * A new link for the user's current address, at most MAX_RESENDS_PER_HOUR an
     * hour (429 beyond). An already verified account gets nothing ('verified').
     */
    async resend(userId: number): Promise<'sent' | 'verified'> {
      const result = await data.transaction(async (tx): Promise<'sent' | 'verified' | { retryAfterMs: number }> => {
        // Count and insert under one lock per user: parallel resends cannot all pass the cap.
        await data.lock(tx, `verify:${userId}`)
        const t = now()
        // Read on the transaction's own connection: a pool waiting on itself would deadlock.
        const [user] = await tx.select().from(data.t.users).where(eq(data.t.users.id, userId))
        if (!user || user.emailVerified) return 'verified'
        const recent = await tx
          .select({ createdAt: tokens.createdAt })
          .from(tokens)
          .where(and(eq(tokens.userId, userId), eq(tokens.reason, 'resend'), gt(tokens.createdAt, t - HOUR_MS)))
          .orderBy(asc(tokens.createdAt))
        if (recent.length >= MAX_RESENDS_PER_HOUR) return { retryAfterMs: recent[0]!.createdAt + HOUR_MS - t }
        const token = await issue(tx, user, 'resend')
        await mail.enqueue(tx, verifyEmailMail({ to: user.email, username: user.username, token, publicUrl }))
        return 'sent'
      })
      if (typeof result === 'object') throw TooManyRequests('Too many verification e-mails', result.retryAfterMs / 1000)
      return result
    },

    /** Spends a token and marks its address verified. Unknown, spent and expired tokens get the same 400. */
    async verify(token: string, origin: Origin): Promise<void> {
      const tokenHash = presentedHash(token)
      if (!tokenHash) throw BadRequest(INVALID_TOKEN)
      await data.transaction(async (tx) => {
        const t = now()
        const [spent] = await tx
          .update(tokens)
          .set({ usedAt: t })
          .where(and(eq(tokens.tokenHash, tokenHash), isNull(tokens.usedAt), gt(tokens.expiresAt, t)))
          .returning()
        if (!spent) throw BadRequest(INVALID_TOKEN)
        const [user] = await data.forUpdate(tx.select().from(data.t.users).where(eq(data.t.users.id, spent.userId)))
        // The address changed since the link was sent: it proves nothing about the new one.
        if (!user || !user.isActive || user.email !== spent.email) throw BadRequest(INVALID_TOKEN)
        // The user's other outstanding links are spent with this one.
        await spendAll(tx, user.id, t)
        if (user.emailVerified) return
        await users.markVerified(tx, user.id)
        await audit.append(tx, { type: 'email.verified', origin, targetId: user.id, details: { email: user.email } })
      })
    }
  }
}

export type VerificationService = ReturnType<typeof createVerificationService>
