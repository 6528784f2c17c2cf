// users.username_key and users.email_key (lib/unicode.ts foldKey) for rows
// written before the keys existed. SQL cannot compute them (neither SQLite nor
// PostgreSQL has Unicode case folding with NFKC), so this runs after the
// migrations, at every start, on either engine; with nothing to fill it is one
// indexed lookup.
import { and, asc, eq, isNull, or } from 'drizzle-orm'
import { foldKey } from '../lib/unicode'
import type { Data } from './data'

/**
 * Fills the missing keys in id order, in one transaction (instances starting
 * together take turns on an advisory lock). Two existing users whose names (or
 * addresses) fold to one key (`Straße`/`strasse`, written when only ASCII case
 * was compared): the older one keeps the key; the newer one keeps its row,
 * data and sessions but gets a key no name can fold to (`<key> #<id>`: no username or address holds a space), so
 * it cannot be reached by that name (or address) at login until an admin
 * renames it; its other identifier still works. Returns their ids, for the log.
 */
export async function fillUserKeys(data: Data): Promise<number[]> {
  const { users } = data.t
  const missing = or(isNull(users.usernameKey), isNull(users.emailKey))
  const [any] = await data.db.select({ id: users.id }).from(users).where(missing).limit(1)
  if (!any) return []
  return data.transaction(async (tx) => {
    await data.lock(tx, 'users:keys')
    const rows = await tx
      .select({ id: users.id, username: users.username, email: users.email, usernameKey: users.usernameKey, emailKey: users.emailKey })
      .from(users)
      .where(missing)
      .orderBy(asc(users.id))
    const collisions: number[] = []
    for (const row of rows) {
      let usernameKey = row.usernameKey ?? foldKey(row.username)
      let emailKey = row.emailKey ?? foldKey(row.email)
      let collided = false
      if (row.usernameKey === null && (await tx.select({ id: users.id }).from(users).where(eq(users.usernameKey, usernameKey)).limit(1)).length) {
        usernameKey = `${usernameKey} #${row.id}`
        collided = true
      }
      if (row.emailKey === null && (await tx.select({ id: users.id }).from(users).where(eq(users.emailKey, emailKey)).limit(1)).length) {
        emailKey = `${emailKey} #${row.id}`
        collided = true
      }
      if (collided) collisions.push(row.id)
      await tx.update(users).set({ usernameKey, emailKey }).where(and(eq(users.id, row.id), missing))
    }
    return collisions
  })
}
