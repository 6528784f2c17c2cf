// Numbers /metrics reads from the database: one query per scrape each, no HTTP.
// The outbox counts are the mail feature's own (the admin view shows the same).
import { statSync } from 'node:fs'
import type { Db } from '../../db/client'
import { counts } from '../../mail/outbox'

export function createMetricsService(db: Db) {
  const pages = db.$client.prepare<{ page_count: number; page_size: number }, []>(
    'SELECT page_count, page_size FROM pragma_page_count(), pragma_page_size()'
  )
  const file = db.$client.filename

  return {
    /** E-mail outbox rows per status; every known status is present (0 when none). */
    emailOutboxByStatus(): Record<string, number> {
      return counts(db)
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
