// Invitations: an admin invites an address with a role; the mail carries a
// single-use link (256 random bits, stored only as its sha256, valid 7 days).
// Accepting creates the account, verified, with the invited address and role,
// whether or not signup is open. The token is spent by one conditional UPDATE in
// the transaction that creates the user, so of concurrent accepts one wins and a
// failed creation (a taken username) leaves the invitation pending.
import { and, asc, eq, gt, isNull } from 'drizzle-orm'
import type { Tx } from '../../db/data'
import type { InvitationRow, Role, UserRow } from '../../db/schema'
import { BadRequest, INVALID_TOKEN, NotFound } from '../../lib/errors'
import { hashPassword } from '../../lib/password'
import { issueToken, presentedHash } from '../../lib/token'
import type { LinkMailerDeps } from '../../mail/service'
import { invitationMail, INVITE_TOKEN_TTL_MS } from '../../mail/templates'
import type { Origin } from '../audit/service'
import { normalizeEmail } from '../users/service'

export interface InvitationView {
  id: number
  email: string
  role: Role
  created_at: string
  expires_at: string
}

const iso = (ms: number) => new Date(ms).toISOString()

export function toInvitationView(r: InvitationRow): InvitationView {
  return { id: r.id, email: r.email, role: r.role, created_at: iso(r.createdAt), expires_at: iso(r.expiresAt) }
}

export function createInvitationService({ data, users, mail, audit, publicUrl, now = Date.now }: LinkMailerDeps) {
  const { db } = data
  const { invitations } = data.t
  const pending = (t: number) => and(isNull(invitations.acceptedAt), isNull(invitations.revokedAt), gt(invitations.expiresAt, t))

  async function revokeRows(tx: Tx, rows: InvitationRow[], t: number, origin: Origin, reason: 'admin' | 'superseded'): Promise<void> {
    for (const r of rows) {
      await tx.update(invitations).set({ revokedAt: t }).where(eq(invitations.id, r.id))
      await audit.append(tx, { type: 'invitation.revoked', origin, details: { invitation_id: r.id, email: r.email, reason } })
    }
  }

  return {
    /**
     * Invites an address. A registered address is refused; a pending invitation
     * for the same address is replaced (its link stops working), so the newest
     * mail is the one that counts.
     */
    async create(input: { email: string; role: Role }, origin: Origin): Promise<InvitationView> {
      const email = normalizeEmail(input.email)
      return data.transaction(async (tx) => {
        // One invitation per address at a time, on every instance.
        await data.lock(tx, `invite:${email}`)
        const t = now()
        await users.assertAvailable(undefined, email, tx)
        const older = await data.forUpdate(tx.select().from(invitations).where(and(eq(invitations.email, email), pending(t))))
        await revokeRows(tx, older, t, origin, 'superseded')
        const { token, stored } = issueToken(t, INVITE_TOKEN_TTL_MS)
        const [row] = await tx
          .insert(invitations)
          .values({ email, role: input.role, invitedBy: origin.actorId, ...stored })
          .returning()
        await mail.enqueue(tx, invitationMail({ to: email, role: input.role, token, publicUrl }))
        await audit.append(tx, { type: 'invitation.created', origin, details: { invitation_id: row!.id, email, role: input.role } })
        return toInvitationView(row!)
      })
    },

    /** Pending invitations, oldest first. */
    async listPending(): Promise<InvitationView[]> {
      const rows = await db.select().from(invitations).where(pending(now())).orderBy(asc(invitations.id))
      return rows.map(toInvitationView)
    },

    /** Revokes a pending invitation; anything else (unknown, accepted, revoked, expired) is 404. */
    async revoke(id: number, origin: Origin): Promise<void> {
      await data.transaction(async (tx) => {
        const t = now()
        const [row] = await data.forUpdate(tx.select().from(invitations).where(and(eq(invitations.id, id), pending(t))))
        if (!row) throw NotFound('Invitation not found')
        await revokeRows(tx, [row], t, origin, 'admin')
      })
    },

    /** Creates the invited account. Unknown, spent, revoked and expired tokens get the same 400. */
    async accept(input: { token: string; username: string; password: string; age?: number | null }, origin: Origin): Promise<UserRow> {
      const tokenHash = presentedHash(input.token)
      if (!tokenHash) throw BadRequest(INVALID_TOKEN)
      // Checked before hashing, so a flood of bad tokens costs no argon2 time.
      const [early] = await db.select().from(invitations).where(and(eq(invitations.tokenHash, tokenHash), pending(now())))
      if (!early) throw BadRequest(INVALID_TOKEN)
      await users.assertAvailable(input.username, early.email)
      const hashed = await hashPassword(input.password)
      return data.transaction(async (tx) => {
        const t = now()
        // The spend: one conditional UPDATE, re-checked under the write lock (the hash yielded).
        const [inv] = await tx
          .update(invitations)
          .set({ acceptedAt: t })
          .where(and(eq(invitations.tokenHash, tokenHash), pending(t)))
          .returning()
        if (!inv) throw BadRequest(INVALID_TOKEN)
        const user = await users.insert(
          tx,
          { username: input.username, email: inv.email, password: '', age: input.age ?? null, role: inv.role, email_verified: true },
          hashed,
          undefined,
          origin,
          'invitation'
        )
        await tx.update(invitations).set({ acceptedUserId: user.id }).where(eq(invitations.id, inv.id))
        await audit.append(tx, {
          type: 'invitation.accepted',
          origin: { ...origin, actorId: user.id },
          targetId: user.id,
          details: { invitation_id: inv.id, role: inv.role, invited_by: inv.invitedBy }
        })
        return user
      })
    }
  }
}

export type InvitationService = ReturnType<typeof createInvitationService>
