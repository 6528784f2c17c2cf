// Numbers /metrics reads from the database: one query per scrape each, no HTTP.
// The outbox counts are the mail feature's own (the admin view shows the same).
import { statSync } from 'node:fs'
import { sql } from 'drizzle-orm'
import type { Data } from '../../db/data'
import { counts } from '../../mail/outbox'

export function createMetricsService(data: Data) {
  const pages = data.sqlite?.prepare<{ page_count: number; page_size: number }, []>(
    'SELECT page_count, page_size FROM pragma_page_count(), pragma_page_size()'
  )
  const file = data.file

  return {
    /** E-mail outbox rows per status; every known status is present (0 when none). */
    emailOutboxByStatus(): Promise<Record<string, number>> {
      return counts(data)
    },
    /**
     * Bytes the database takes: on SQLite the file (pages in use × page size)
     * plus the WAL file; on PostgreSQL pg_database_size of the database.
     */
    async databaseBytes(): Promise<number> {
      if (!pages) {
        const [row] = await data.db.select({ n: sql<number>`pg_database_size(current_database())`.mapWith(Number) }).from(sql`(SELECT 1) AS one`)
        return row?.n ?? 0
      }
      const p = pages.get()
      let wal = 0
      if (file) {
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
