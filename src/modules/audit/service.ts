// The audit log: append-only, hash-chained events, written in the transaction of
// the change they record (a rolled-back change leaves no event).
//
// Chain: event n stores prev_hash = hash of event n-1 and
// hash = sha256(prev_hash || "\n" || canonical(event n)), where canonical is the
// JSON array of the stored columns (details as its stored text). Ids are
// assigned here as last id + 1, read from the audit_chain row under the write
// lock, so they have no gaps: a row deleted in the middle shows as a missing id,
// an edited one as a hash that no longer matches. Appends are serialised by the
// write transaction: the chain row is read FOR UPDATE (PostgreSQL) inside a
// transaction that SQLite runs as BEGIN IMMEDIATE, so two appends can never
// both extend the same head and fork the chain.
//
// Retention deletes a prefix (the oldest events) and moves the anchor
// (pruned_through_id/hash) in the same transaction; verification starts there.
import { and, asc, desc, eq, gt, gte, lt, lte, or, sql, type SQL } from 'drizzle-orm'
import type { Data, Tx } from '../../db/data'
import type { AuditEventRow } from '../../db/schema'
import { trimPage } from '../../lib/page'

export const AUDIT_TYPES = [
  'user.created',
  'user.updated',
  'user.deleted',
  'user.role_changed',
  'user.deactivated',
  'user.activated',
  'login.succeeded',
  'login.failed',
  'login.throttled',
  'logout',
  'session.revoked',
  'refresh.reuse_detected',
  'password.changed',
  'password.reset_requested',
  'password.reset_completed',
  'email.verified',
  'invitation.created',
  'invitation.accepted',
  'invitation.revoked',
  'mfa.enabled',
  'mfa.disabled',
  'mfa.failed',
  'token.created',
  'token.revoked'
] as const

export type AuditType = (typeof AUDIT_TYPES)[number]

/** Who caused a change and from where: the request's caller, client IP and user agent. */
export interface Origin {
  actorId: number | null
  ip: string | null
  userAgent: string | null
}

/** A change made by Roster itself or from the command line (no request). */
export const SYSTEM: Origin = { actorId: null, ip: null, userAgent: null }

/** Detail values are names, ids, flags and counts; never a secret (see docs/audit.md). */
export type AuditDetails = Record<string, string | number | boolean | null | string[]>

export interface AuditInput {
  type: AuditType
  origin: Origin
  targetId?: number | null
  details?: AuditDetails
}

export interface AuditEvent {
  id: number
  at: string
  type: string
  actor_id: number | null
  target_id: number | null
  ip: string | null
  user_agent: string | null
  details: AuditDetails
}

export interface AuditFilter {
  type?: string
  actorId?: number
  targetId?: number
  /** Events of this user as actor or target (GET /users/me/audit). */
  involving?: number
  since?: string
  until?: string
  /** Cursor: only events older than this id. */
  before?: number
  limit: number
}

export type VerifyResult =
  | { ok: true; checked: number; headId: number; headHash: string }
  | { ok: false; checked: number; badId: number; reason: string }

export const GENESIS_HASH = '0'.repeat(64)
const CHAIN_ROW = 1
const MAX_UA = 512
const MAX_IP = 64

export function canonical(e: Pick<AuditEventRow, 'id' | 'at' | 'type' | 'actorId' | 'targetId' | 'ip' | 'userAgent' | 'details'>): string {
  return JSON.stringify([e.id, e.at, e.type, e.actorId, e.targetId, e.ip, e.userAgent, e.details])
}

export function chainHash(prevHash: string, canonicalEvent: string): string {
  return new Bun.CryptoHasher('sha256').update(prevHash).update('\n').update(canonicalEvent).digest('hex')
}

export function encodeAuditCursor(id: number): string {
  return Buffer.from(`a:${id}`).toString('base64url')
}

export function decodeAuditCursor(cursor: string): number | undefined {
  const m = /^a:(\d{1,15})$/.exec(Buffer.from(cursor, 'base64url').toString('utf8'))
  return m ? Number(m[1]) : undefined
}

export function toAuditEvent(r: AuditEventRow): AuditEvent {
  return {
    id: r.id,
    at: r.at,
    type: r.type,
    actor_id: r.actorId,
    target_id: r.targetId,
    ip: r.ip,
    user_agent: r.userAgent,
    details: JSON.parse(r.details) as AuditDetails
  }
}

export function createAuditService(data: Data, opts: { now?: () => number } = {}) {
  const now = opts.now ?? Date.now
  const { db, t } = data
  const { auditEvents, auditChain } = t

  /** Appends one event inside the caller's write transaction. */
  async function append(tx: Tx, input: AuditInput): Promise<void> {
    // The chain row must exist to be locked: two first appends on an empty
    // PostgreSQL database would otherwise both lock nothing and both write id 1.
    await tx
      .insert(auditChain)
      .values({ id: CHAIN_ROW, lastId: 0, lastHash: GENESIS_HASH, prunedThroughId: 0, prunedThroughHash: GENESIS_HASH })
      .onConflictDoNothing()
    const [head] = await data.forUpdate(tx.select().from(auditChain).where(eq(auditChain.id, CHAIN_ROW)))
    const prevHash = head?.lastHash ?? GENESIS_HASH
    const row = {
      id: (head?.lastId ?? 0) + 1,
      at: new Date(now()).toISOString(),
      type: input.type,
      actorId: input.origin.actorId,
      targetId: input.targetId ?? null,
      ip: input.origin.ip?.slice(0, MAX_IP) ?? null,
      userAgent: input.origin.userAgent?.slice(0, MAX_UA) ?? null,
      details: JSON.stringify(input.details ?? {})
    }
    const hash = chainHash(prevHash, canonical(row))
    await tx.insert(auditEvents).values({ ...row, prevHash, hash })
    await tx.update(auditChain).set({ lastId: row.id, lastHash: hash }).where(eq(auditChain.id, CHAIN_ROW))
  }

  function where(f: AuditFilter): SQL | undefined {
    const parts: (SQL | undefined)[] = []
    if (f.type !== undefined) parts.push(eq(auditEvents.type, f.type))
    if (f.actorId !== undefined) parts.push(eq(auditEvents.actorId, f.actorId))
    if (f.targetId !== undefined) parts.push(eq(auditEvents.targetId, f.targetId))
    if (f.involving !== undefined) parts.push(or(eq(auditEvents.actorId, f.involving), eq(auditEvents.targetId, f.involving)))
    if (f.since !== undefined) parts.push(gte(auditEvents.at, f.since))
    if (f.until !== undefined) parts.push(lt(auditEvents.at, f.until))
    if (f.before !== undefined) parts.push(lt(auditEvents.id, f.before))
    return parts.length ? and(...parts) : undefined
  }

  return {
    append,

    /** An event that records no other change (a failed login): its own write transaction. */
    record(input: AuditInput): Promise<void> {
      return data.transaction((tx) => append(tx, input))
    },

    /** Newest first, keyset paged by id. */
    async list(f: AuditFilter): Promise<{ events: AuditEvent[]; nextCursor: string | null }> {
      const rows = await db
        .select()
        .from(auditEvents)
        .where(where(f))
        .orderBy(desc(auditEvents.id))
        .limit(f.limit + 1)
      const { rows: page, next } = trimPage(rows, f.limit)
      return { events: page.map(toAuditEvent), nextCursor: next ? encodeAuditCursor(next.id) : null }
    },

    /**
     * Walks the chain from the retention anchor to the head. Reports the first
     * event whose id, link or hash is wrong; an id missing from the sequence (a
     * deleted row) is reported as that id.
     */
    async verify(batch = 1000): Promise<VerifyResult> {
      const [chain] = await db.select().from(auditChain).where(eq(auditChain.id, CHAIN_ROW))
      let expectedId = (chain?.prunedThroughId ?? 0) + 1
      let prevHash = chain?.prunedThroughHash ?? GENESIS_HASH
      let checked = 0
      let cursor = 0
      for (;;) {
        const rows = await db.select().from(auditEvents).where(gt(auditEvents.id, cursor)).orderBy(asc(auditEvents.id)).limit(batch)
        for (const r of rows) {
          if (r.id < expectedId) return { ok: false, checked, badId: r.id, reason: 'event older than the retention anchor' }
          if (r.id > expectedId) return { ok: false, checked, badId: expectedId, reason: 'event missing' }
          if (r.prevHash !== prevHash) return { ok: false, checked, badId: r.id, reason: 'does not link to the previous event' }
          if (chainHash(prevHash, canonical(r)) !== r.hash) return { ok: false, checked, badId: r.id, reason: 'hash does not match its contents' }
          prevHash = r.hash
          expectedId++
          checked++
        }
        if (rows.length < batch) break
        cursor = rows[rows.length - 1]!.id
      }
      // The head row records the last append: events removed from the end show here.
      const headId = chain?.lastId ?? 0
      if (headId >= expectedId) return { ok: false, checked, badId: expectedId, reason: 'event missing' }
      if (chain && headId > 0 && chain.lastHash !== prevHash) return { ok: false, checked, badId: headId, reason: 'hash does not match the chain head' }
      return { ok: true, checked, headId, headHash: prevHash }
    },

    /**
     * Deletes events older than `retentionDays`, from the oldest end only, and
     * moves the anchor to the last one deleted. Returns how many were deleted.
     */
    async prune(retentionDays: number): Promise<number> {
      if (retentionDays <= 0) return 0
      const cutoff = new Date(now() - retentionDays * 86_400_000).toISOString()
      return data.transaction(async (tx) => {
        // The chain row is the appends' lock: pruning waits for them, and they for it.
        await data.forUpdate(tx.select().from(auditChain).where(eq(auditChain.id, CHAIN_ROW)))
        // The newest event older than the cutoff; everything up to it goes, so
        // what stays is always a suffix of the chain even if the clock once stepped back.
        const [last] = await tx
          .select({ id: auditEvents.id, hash: auditEvents.hash })
          .from(auditEvents)
          .where(lt(auditEvents.at, cutoff))
          .orderBy(desc(auditEvents.id))
          .limit(1)
        if (!last) return 0
        const gone = await tx.delete(auditEvents).where(lte(auditEvents.id, last.id)).returning({ id: auditEvents.id })
        await tx.update(auditChain).set({ prunedThroughId: last.id, prunedThroughHash: last.hash }).where(eq(auditChain.id, CHAIN_ROW))
        return gone.length
      })
    },

    /** Count of stored events. */
    async count(): Promise<number> {
      const [row] = await db.select({ n: sql<number>`count(*)`.mapWith(Number) }).from(auditEvents)
      return row?.n ?? 0
    }
  }
}

export type AuditService = ReturnType<typeof createAuditService>
