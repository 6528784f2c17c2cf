// The app-side mail service: what request handlers and hooks use. It only writes
// to the outbox (in the caller's transaction) and wakes the worker after the
// commit; the worker thread does the sending. Without a worker (tests, CLI) mail
// simply stays queued.
import type { Config } from '../config'
import type { Data, Tx } from '../db/data'
import { AppError, NotFound } from '../lib/errors'
import { counts, enqueueEmail, getEmail, listEmails, retry, type EmailSummary, type NewEmail, type OutboxStatus } from './outbox'
import { messageIdFor } from './transport'

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

    async list(opts: { status?: OutboxStatus; after?: number; skip: number; limit: number }): Promise<EmailView[]> {
      return (await listEmails(data, opts)).map(view)
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
          throw new AppError(409, 'A password-reset e-mail is not resent; the user can ask for a new link')
      }
      worker?.kick()
      return view((await getEmail(data, id))!)
    }
  }
}

export type MailService = ReturnType<typeof createMailService>
