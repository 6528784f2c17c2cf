// The app-side mail service: what request handlers and hooks use. It only writes
// to the outbox (in the caller's transaction) and wakes the worker after the
// commit; the worker thread does the sending. Without a worker (tests, CLI) mail
// simply stays queued.
import type { Config } from '../config'
import type { Data, Tx } from '../db/data'
import { AppError, NotFound } from '../lib/errors'
import { trimPage } from '../lib/page'
import { counts, enqueueEmail, getEmail, listEmails, retry, type EmailSummary, type NewEmail, type OutboxStatus } from './outbox'
import type { AuditService } from '../modules/audit/service'
import type { UserService } from '../modules/users/service'
import { messageIdFor } from './transport'

/** What a service that mails single-use links (verification, invitations, password reset) is built from. */
export interface LinkMailerDeps {
  data: Data
  users: UserService
  mail: MailService
  audit: AuditService
  /** The base of the links in the mails. */
  publicUrl: string
  now?: () => number
}

export interface MailKicker {
  kick(): void
}

export interface EmailView extends EmailSummary {
  messageId: string
}

export function createMailService(data: Data, config: Pick<Config, 'mailFrom' | 'publicUrl'>, worker?: MailKicker) {
  const view = (e: EmailSummary): EmailView => ({ ...e, messageId: messageIdFor(e, config) })

  return {
    /** Writes a mail in the caller's transaction and wakes the worker once that has committed. */
    async enqueue(tx: Tx, mail: NewEmail): Promise<number> {
      const id = await enqueueEmail(data, tx, mail)
      if (worker) data.afterCommit(tx, () => worker.kick())
      return id
    },

    /** One page by id; `nextAfter` is the id to continue after, null on the last page. */
    async page(opts: { status?: OutboxStatus; after?: number; skip: number; limit: number }): Promise<{ rows: EmailView[]; nextAfter: number | null }> {
      const { rows, next } = trimPage(await listEmails(data, { ...opts, limit: opts.limit + 1 }), opts.limit)
      return { rows: rows.map(view), nextAfter: next ? next.id : null }
    },

    counts(): Promise<Record<OutboxStatus, number>> {
      return counts(data)
    },

    async retry(id: number): Promise<EmailView> {
      const result = await retry(data, id)
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
      worker?.kick()
      return view((await getEmail(data, id))!)
    }
  }
}

export type MailService = ReturnType<typeof createMailService>
