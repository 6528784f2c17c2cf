// One pass of the delivery loop, kept out of worker.ts so tests can drive it directly
// on the main thread with an injected clock.
import { claimDue, markFailed, markSent, release, renewClaim, sendErrorCode, type MailDb, type OutboxStatus, type RetryPolicy } from './outbox'
import type { MailTransport } from './transport'

export type DeliveryEvent =
  | { type: 'sent'; id: number }
  /** `code` is the nodemailer/SMTP code only (safe for logs); the scrubbed reply is in last_error. */
  | { type: 'failed'; id: number; attempts: number; status: OutboxStatus; code: string }

export interface DeliveryOptions {
  db: MailDb
  transport: MailTransport
  leaseMs: number
  batchSize: number
  policy: RetryPolicy
  now?: () => number
  /** Checked between messages: a stop lets the current send finish, never starts another. */
  shouldStop?: () => boolean
  onEvent?: (e: DeliveryEvent) => void
}

/** Claims a batch and delivers it; returns how many rows were claimed (0 = idle). */
export async function deliverDue(o: DeliveryOptions): Promise<number> {
  const now = o.now ?? Date.now
  const rows = await claimDue(o.db, now(), o.leaseMs, o.batchSize, o.policy)
  for (let i = 0; i < rows.length; i++) {
    if (o.shouldStop?.()) {
      for (const rest of rows.slice(i)) await release(o.db, rest)
      break
    }
    const row = await renewClaim(o.db, rows[i]!, now())
    if (!row) continue
    try {
      await o.transport.send(row)
    } catch (err) {
      const r = await markFailed(o.db, row, err, { now: now(), policy: o.policy, secrets: o.transport.secrets })
      o.onEvent?.({ type: 'failed', id: row.id, attempts: row.attempts, status: r.status, code: sendErrorCode(err) })
      continue
    }
    await markSent(o.db, row, now())
    o.onEvent?.({ type: 'sent', id: row.id })
  }
  return rows.length
}
