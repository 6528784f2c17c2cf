// Numbers /metrics reads from the database: one query per scrape each, no HTTP.
import { statSync } from 'node:fs'
import type { Db } from '../../db/client'

export const EMAIL_STATUSES = ['queued', 'sending', 'sent', 'dead'] as const

export function createMetricsService(db: Db) {
  const byStatus = db.$client.prepare<{ status: string; n: number }, []>(
    'SELECT status, count(*) AS n FROM email_outbox GROUP BY status'
  )
  const pages = db.$client.prepare<{ page_count: number; page_size: number }, []>(
    'SELECT page_count, page_size FROM pragma_page_count(), pragma_page_size()'
  )
  const file = db.$client.filename

  return {
    /** E-mail outbox rows per status; every known status is present (0 when none). */
    emailOutboxByStatus(): Record<string, number> {
      const out: Record<string, number> = {}
      for (const s of EMAIL_STATUSES) out[s] = 0
      for (const row of byStatus.all()) out[row.status] = row.n
      return out
    },
    /** Database file size (pages in use × page size) plus the WAL file, in bytes. */
    databaseBytes(): number {
      const p = pages.get()
      let wal = 0
      if (file && file !== ':memory:') {
        try {
          wal = statSync(`${file}-wal`).size
        } catch {
          wal = 0 // no WAL file right now (checkpointed and truncated)
        }
      }
      return (p ? p.page_count * p.page_size : 0) + wal
    }
  }
}

export type MetricsService = ReturnType<typeof createMetricsService>
