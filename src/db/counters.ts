// Fixed-window counters in the database (the `counters` table), shared by
// every instance on one PostgreSQL database: the failed-login throttle and the
// strict per-client buckets of /auth/* count the same attempts wherever they
// arrive. Each hit is one upsert per key inside one transaction; the row lock
// the upsert takes serialises concurrent hits on a key, so N instances never
// let more than the limit through.
import { and, eq, lt, sql } from 'drizzle-orm'
import type { Data } from './data'

export interface WindowKey {
  key: string
  limit: number
  windowMs: number
}

class Refused {
  constructor(readonly waitSeconds: number) {}
}

/** How often (one take in N) expired rows are swept. */
const SWEEP_EVERY = 200

export function createCounters(data: Data) {
  const { counters } = data.t
  let takes = 0

  return {
    /**
     * Counts one hit on every key, unless one of them is already at its limit:
     * then nothing is counted and the seconds until that window ends are returned.
     * 0 means the hit was counted on all keys.
     */
    async take(keys: WindowKey[], now = Date.now()): Promise<number> {
      try {
        await data.transaction(async (tx) => {
          let wait = 0
          for (const k of keys) {
            const [row] = await tx
              .insert(counters)
              .values({ key: k.key, count: 1, resetAt: now + k.windowMs })
              .onConflictDoUpdate({
                target: counters.key,
                set: {
                  count: sql`CASE WHEN ${counters.resetAt} <= ${now} THEN 1 ELSE ${counters.count} + 1 END`,
                  resetAt: sql`CASE WHEN ${counters.resetAt} <= ${now} THEN ${now + k.windowMs} ELSE ${counters.resetAt} END`
                }
              })
              .returning()
            if (row && row.count > k.limit) wait = Math.max(wait, (row.resetAt - now) / 1000)
          }
          // Over a limit: roll the whole hit back, on every key.
          if (wait > 0) throw new Refused(wait)
        })
      } catch (err) {
        if (err instanceof Refused) return err.waitSeconds
        throw err
      }
      if (++takes % SWEEP_EVERY === 0) await this.sweep(now)
      return 0
    },

    /** Seconds until a hit on these keys would be counted, or 0; counts nothing. */
    async waitFor(keys: WindowKey[], now = Date.now()): Promise<number> {
      let wait = 0
      for (const k of keys) {
        const [row] = await data.db.select().from(counters).where(eq(counters.key, k.key))
        if (row && row.resetAt > now && row.count >= k.limit) wait = Math.max(wait, (row.resetAt - now) / 1000)
      }
      return wait
    },

    /** Gives one hit back (within its window). */
    async giveBack(key: string, now = Date.now()): Promise<void> {
      await data.transaction((tx) =>
        tx
          .update(counters)
          .set({ count: sql`${counters.count} - 1` })
          .where(and(eq(counters.key, key), sql`${counters.resetAt} > ${now}`, sql`${counters.count} > 0`))
          .then(() => undefined)
      )
    },

    async clear(key: string): Promise<void> {
      await data.transaction((tx) => tx.delete(counters).where(eq(counters.key, key)).then(() => undefined))
    },

    /** Deletes windows that ended. */
    async sweep(now = Date.now()): Promise<void> {
      await data.transaction((tx) => tx.delete(counters).where(lt(counters.resetAt, now)).then(() => undefined))
    }
  }
}

export type Counters = ReturnType<typeof createCounters>
