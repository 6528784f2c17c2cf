// users.username_key and users.email_key (lib/unicode.ts foldKey) for rows
// written before the keys existed. SQL cannot compute them (neither SQLite nor
// PostgreSQL has Unicode case folding with NFKC), so this runs after the
// migrations, at every start, on either engine; with nothing to fill it is one
// indexed lookup.
import { and, asc, eq, gt, inArray, isNull, like, lte, max, min, or } from 'drizzle-orm'
import { foldKey } from '../lib/unicode'
import type { Data } from './data'

/** A failure while filling the keys: the batches committed before it are kept. */
export class KeyFillError extends Error {
  constructor(cause: unknown) {
    super("filling the users' keys failed", { cause })
  }
}

/** Ids per transaction: memory and lock time stay flat whatever the table's size. */
export const KEY_BATCH = 1000

/**
 * Fills the missing keys in id order, one window of `batch` ids per
 * transaction, so a million users cost what a thousand do in memory, and a
 * start killed midway keeps the windows it committed: a row whose key is still
 * NULL is one still to do, and the next start carries on from there. Windows
 * go up from the lowest id still missing, each under an advisory lock
 * (instances starting together take turns window by window, and one finds
 * done what the other filled), so the order below holds across windows, runs
 * and instances.
 *
 * Two existing users whose names (or addresses) fold to one key (`Straße`/
 * `strasse`, written when only ASCII case was compared): the older one keeps
 * the key; the newer one keeps its row, data and sessions but gets a key no
 * name can fold to (`<key> #<id>`: no username or address holds a space), so
 * it cannot be reached by that name (or address) at login until an admin
 * renames it; its other identifier still works. Returns the ids of all such
 * users, for the log, whenever this run filled anything (so those found by a
 * run that was killed before it could log them are reported by the one that
 * finishes).
 */
export async function fillUserKeys(data: Data, opts: { batch?: number } = {}): Promise<number[]> {
  const { users } = data.t
  const batch = opts.batch ?? KEY_BATCH
  const [span] = await data.db
    .select({ first: min(users.id).mapWith(Number), last: max(users.id).mapWith(Number) })
    .from(users)
    .where(missingKey(data))
  if (span?.first == null || span.last == null) return []
  // Windows of ids, not "the next N rows still missing": that query walks
  // every missing row of the keys' indexes and sorts them, once per batch.
  // Every row at or below the cursor has its keys (new rows are written with them).
  for (let cursor = span.first - 1; cursor < span.last; cursor += batch) {
    try {
      await fillWindow(data, cursor, cursor + batch)
    } catch (err) {
      throw new KeyFillError(err)
    }
  }
  // One scan, only after a fill: the suffix is the record of a collision until an admin renames the user.
  const held = await data.db
    .select({ id: users.id })
    .from(users)
    .where(or(like(users.usernameKey, '% #%'), like(users.emailKey, '% #%')))
    .orderBy(asc(users.id))
  return held.map((r) => r.id)
}

const missingKey = (data: Data) => or(isNull(data.t.users.usernameKey), isNull(data.t.users.emailKey))

/** Fills the keys of the rows with ids in (from, to] that miss one, in one transaction. */
function fillWindow(data: Data, from: number, to: number): Promise<void> {
  const { users } = data.t
  const missing = missingKey(data)
  return data.transaction(async (tx) => {
    await data.lock(tx, 'users:keys')
    const rows = await tx
      .select({ id: users.id, username: users.username, email: users.email, usernameKey: users.usernameKey, emailKey: users.emailKey })
      .from(users)
      .where(and(gt(users.id, from), lte(users.id, to), missing))
      .orderBy(asc(users.id))
    if (!rows.length) return
    const wanted = rows.map((r) => ({ id: r.id, username: r.usernameKey ?? foldKey(r.username), email: r.emailKey ?? foldKey(r.email), row: r }))
    // Keys held before this batch (older rows, earlier batches), then the ones this batch hands out.
    const names = wanted.filter((w) => w.row.usernameKey === null).map((w) => w.username)
    const emails = wanted.filter((w) => w.row.emailKey === null).map((w) => w.email)
    const takenNames = new Set(names.length ? (await tx.select({ k: users.usernameKey }).from(users).where(inArray(users.usernameKey, names))).map((r) => r.k) : [])
    const takenEmails = new Set(emails.length ? (await tx.select({ k: users.emailKey }).from(users).where(inArray(users.emailKey, emails))).map((r) => r.k) : [])
    for (const w of wanted) {
      const usernameKey = w.row.usernameKey ?? claim(takenNames, w.username, w.id)
      const emailKey = w.row.emailKey ?? claim(takenEmails, w.email, w.id)
      await tx.update(users).set({ usernameKey, emailKey }).where(and(eq(users.id, w.id), missing))
    }
  })
}

/** `key` when no row holds it yet (and now this one does), else the collision's unreachable key. */
function claim(taken: Set<string | null>, key: string, id: number): string {
  if (taken.has(key)) return `${key} #${id}`
  taken.add(key)
  return key
}
