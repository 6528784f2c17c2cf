// The app-side mail service: what request handlers and hooks use. It only writes
// to the outbox (in the caller's transaction) and wakes the worker after the
// commit; the worker thread does the sending. Without a worker (tests, CLI) mail
// simply stays queued.
import type { Config } from '../config'
import type { Db } from '../db/client'
import { AppError, NotFound } from '../lib/errors'
import { trimPage } from '../lib/page'
import { counts, enqueueEmail, getEmail, listEmails, retry, type EmailSummary, type MailDb, type NewEmail, type OutboxStatus } from './outbox'
import { messageIdFor } from './transport'

export interface MailKicker {
  kick(): void
}

export interface EmailView extends EmailSummary {
  messageId: string
}

export function createMailService(db: Db, config: Pick<Config, 'mailFrom' | 'publicUrl'>, worker?: MailKicker) {
  const view = (e: EmailSummary): EmailView => ({ ...e, messageId: messageIdFor(e, config) })

  /**
   * Wakes the worker once the current synchronous transaction has committed:
   * bun:sqlite transactions run to completion before any microtask, and a kick
   * that raced the commit would find nothing and sleep until the next poll.
   */
  function kickAfterCommit(): void {
    if (worker) queueMicrotask(() => worker.kick())
  }

  return {
    /** Writes a mail in the caller's transaction and wakes the worker after it commits. */
    enqueue(tx: MailDb, mail: NewEmail): number {
      const id = enqueueEmail(tx, mail)
      kickAfterCommit()
      return id
    },

    /** One page by id; `nextAfter` is the id to continue after, null on the last page. */
    page(opts: { status?: OutboxStatus; after?: number; skip: number; limit: number }): { rows: EmailView[]; nextAfter: number | null } {
      const { rows, next } = trimPage(listEmails(db, { ...opts, limit: opts.limit + 1 }), opts.limit)
      return { rows: rows.map(view), nextAfter: next ? next.id : null }
    },

    counts(): Record<OutboxStatus, number> {
      return counts(db)
    },

    retry(id: number): EmailView {
      const result = retry(db, id)
      switch (result) {
        case 'not_found':
          throw NotFound('Email not found')
        case 'sent':
          throw new AppError(409, 'Email already sent')
        case 'sending':
          throw new AppError(409, 'Email is being sent')
        case 'reset_link':
          throw new AppError(409, 'An e-mail with a one-time link is not resent; ask for a new link instead')
      }
      kickAfterCommit()
      return view(getEmail(db, id)!)
    }
  }
}

export type MailService = ReturnType<typeof createMailService>
