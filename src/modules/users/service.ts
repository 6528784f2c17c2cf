// Users: plain functions over the database. No HTTP types here; failures are
// thrown as AppError and mapped to the contract's bodies by the error plugin.
import { and, eq, sql } from 'drizzle-orm'
import { IMMEDIATE, type Db, type Tx } from '../../db/client'
import { users, type Role, type UserRow } from '../../db/schema'
import type { Actor } from '../../lib/actor'
import { AppError, BadRequest, NotFound, RequestValidationError } from '../../lib/errors'
import { hashPassword, verifyPassword } from '../../lib/password'
import { foldKey, mixesScripts } from '../../lib/unicode'
import { trimPage } from '../../lib/page'
import type { ListedUser } from './model'

/**
 * Extension points for other features, called inside the same transaction as
 * the change so that nothing is kept without the other (a welcome e-mail without
 * its user, sessions that outlive a password change).
 */
export interface UserHooks {
  /** A user row was inserted. */
  created: ((tx: Tx, user: UserRow) => void)[]
  /** Every credential issued so far must stop working (password change, deactivation, deletion). */
  credentialsRevoked: ((tx: Tx, userId: number) => void)[]
  /** The user is about to be deleted; may return work to run after the commit (removing files). */
  deleting: ((tx: Tx, userId: number) => (() => void) | void)[]
}

export const newUserHooks = (): UserHooks => ({ created: [], credentialsRevoked: [], deleting: [] })

export interface NewUser {
  username: string
  email: string
  password: string
  age?: number | null
  role?: Role
  is_active?: boolean
}

export type UserChanges = Partial<NewUser>


const normalizeEmail = (email: string) => email.trim().toLowerCase()

/** Refuses a username that mixes scripts the way look-alike impersonations do (UTS #39; see lib/unicode.ts). */
function assertSingleScript(username: string | undefined): void {
  if (username !== undefined && mixesScripts(username)) {
    throw new RequestValidationError([
      { field: 'body.username', message: 'Username must not mix scripts (such as Latin with Cyrillic or Greek)', type: 'value_error' }
    ])
  }
}

export function encodeCursor(id: number): string {
  return Buffer.from(`u:${id}`).toString('base64url')
}

/** Returns the id inside a cursor, or undefined when it is not one of ours. */
export function decodeCursor(cursor: string): number | undefined {
  const m = /^u:(\d{1,15})$/.exec(Buffer.from(cursor, 'base64url').toString('utf8'))
  return m ? Number(m[1]) : undefined
}

// Hot reads (every authenticated request, every listing) go straight to
// bun:sqlite prepared statements: Drizzle's builder and row mapping cost
// noticeably more per lookup, and far more for an unprepared page. Columns are
// aliased to UserRow's names; only is_active needs converting (SQLite has no boolean).
const ROW_COLUMNS = `id, username, email, hashed_password AS hashedPassword, age, role, is_active AS isActive,
  token_version AS tokenVersion, created_at AS createdAt, updated_at AS updatedAt`
const PUBLIC_COLUMNS = 'id, username, email, age, role, is_active AS isActive, created_at AS createdAt'

type Raw<T> = Omit<T, 'isActive'> & { isActive: number | boolean }
function fromRaw<T extends { isActive: boolean }>(row: Raw<T>): T {
  row.isActive = row.isActive === 1 || row.isActive === true
  return row as T
}

export function createUserService(db: Db, hooks: UserHooks = newUserHooks()) {
  const sqlite = db.$client
  const byIdRaw = sqlite.query<Raw<UserRow>, [number]>(`SELECT ${ROW_COLUMNS} FROM users WHERE id = ?`)
  const byId = (id: number): UserRow | undefined => {
    const row = byIdRaw.get(id)
    return row ? fromRaw<UserRow>(row) : undefined
  }
  const listActive = sqlite.query<Raw<ListedUser>, [number, number]>(
    `SELECT ${PUBLIC_COLUMNS} FROM users WHERE is_active = 1 ORDER BY id LIMIT ? OFFSET ?`
  )
  // Keyset pages: `id > after` walks the primary key (or the (is_active, id)
  // index) from the cursor on, so a page costs the same at any depth.
  const pageActive = sqlite.query<Raw<ListedUser>, [number, number, number]>(
    `SELECT ${PUBLIC_COLUMNS} FROM users WHERE is_active = 1 AND id > ? ORDER BY id LIMIT ? OFFSET ?`
  )
  const pageAll = sqlite.query<Raw<ListedUser>, [number, number, number]>(
    `SELECT ${PUBLIC_COLUMNS} FROM users WHERE id > ? ORDER BY id LIMIT ? OFFSET ?`
  )
  // Names and addresses are looked up by their folded key (lib/unicode.ts), never as typed.
  const byUsernameKey = db.select().from(users).where(eq(users.usernameKey, sql.placeholder('key'))).prepare()
  const byEmailKey = db.select().from(users).where(eq(users.emailKey, sql.placeholder('key'))).prepare()
  const byUsername = (username: string) => byUsernameKey.get({ key: foldKey(username) })
  const byEmail = (email: string) => byEmailKey.get({ key: foldKey(email) })
  const activeAdmins = db
    .select({ n: sql<number>`count(*)` })
    .from(users)
    .where(and(eq(users.role, 'admin'), eq(users.isActive, true)))
    .prepare()

  function assertUnique(username: string | undefined, email: string | undefined, exceptId?: number): void {
    if (username !== undefined) {
      const other = byUsername(username)
      if (other && other.id !== exceptId) throw BadRequest('Username already exists')
    }
    if (email !== undefined) {
      const other = byEmail(email)
      if (other && other.id !== exceptId) throw BadRequest('Email already registered')
    }
  }

  /** A UNIQUE violation that slipped past the pre-check (another process wrote first). */
  function mapUniqueViolation(err: unknown): never {
    const msg = err instanceof Error ? err.message : ''
    if (msg.includes('UNIQUE constraint failed')) {
      if (msg.includes('email')) throw BadRequest('Email already registered')
      throw BadRequest('Username already exists')
    }
    throw err
  }

  function revokeCredentials(tx: Tx, userId: number): void {
    tx.update(users)
      .set({ tokenVersion: sql`${users.tokenVersion} + 1` })
      .where(eq(users.id, userId))
      .run()
    for (const h of hooks.credentialsRevoked) h(tx, userId)
  }

  /** Refuses a change that would leave no active admin (nobody could administer Roster). */
  function assertAdminRemains(target: UserRow, next: { role: Role; isActive: boolean } | 'deleted'): void {
    if (target.role !== 'admin' || !target.isActive) return
    const stillAdmin = next !== 'deleted' && next.role === 'admin' && next.isActive
    if (stillAdmin) return
    const n = activeAdmins.get()?.n ?? 0
    if (n <= 1) throw BadRequest('Cannot remove the last active admin')
  }

  return {
    hooks,

    getById(id: number): UserRow | undefined {
      return byId(id)
    },

    /** Login accepts the username or the e-mail address. */
    findForLogin(identifier: string): UserRow | undefined {
      const id = identifier.trim()
      return id.includes('@') ? byEmail(id) : byUsername(id)
    },

    /** Visible to the caller: active users to everyone, inactive ones to admins only. */
    getVisible(id: number, viewer: Actor): UserRow {
      const user = byId(id)
      if (!user || (!user.isActive && viewer.role !== 'admin')) throw NotFound('User not found')
      return user
    },

    list(skip: number, limit: number): ListedUser[] {
      return listActive.all(limit, skip).map(fromRaw<ListedUser>)
    },

    /** Keyset page: cost independent of depth. */
    page(opts: { after?: number; skip: number; limit: number; includeInactive: boolean }): { rows: ListedUser[]; nextCursor: string | null } {
      const stmt = opts.includeInactive ? pageAll : pageActive
      const { rows, next } = trimPage(stmt.all(opts.after ?? 0, opts.limit + 1, opts.skip).map(fromRaw<ListedUser>), opts.limit)
      return { rows, nextCursor: next ? encodeCursor(next.id) : null }
    },

    async create(input: NewUser, actor: Actor | undefined): Promise<UserRow> {
      const email = normalizeEmail(input.email)
      assertSingleScript(input.username)
      // Cheap check before the expensive hash, repeated inside the transaction.
      assertUnique(input.username, email)
      const hashedPassword = await hashPassword(input.password)
      const now = new Date().toISOString()
      const isAdmin = actor?.role === 'admin'
      try {
        return db.transaction((tx) => {
          assertUnique(input.username, email)
          const row = tx
            .insert(users)
            .values({
              username: input.username,
              email,
              usernameKey: foldKey(input.username),
              emailKey: foldKey(email),
              hashedPassword,
              age: input.age ?? null,
              // Mass assignment: only an admin may choose these.
              role: isAdmin ? (input.role ?? 'user') : 'user',
              isActive: isAdmin ? (input.is_active ?? true) : true,
              createdAt: now,
              updatedAt: now
            })
            .returning()
            .get()
          for (const h of hooks.created) h(tx, row)
          return row
        }, IMMEDIATE)
      } catch (err) {
        mapUniqueViolation(err)
      }
    },

    /**
     * PUT (replace: true, every UserCreate field) and PATCH (any subset).
     * Permission to touch this user at all is checked by the caller; here, who
     * may change role and is_active.
     */
    async update(id: number, changes: UserChanges, actor: Actor, replace: boolean): Promise<UserRow> {
      const target = byId(id)
      if (!target) throw NotFound('User not found')
      const isAdmin = actor.role === 'admin'
      const wantsRole = changes.role !== undefined && changes.role !== target.role
      const wantsActive = changes.is_active !== undefined && changes.is_active !== target.isActive
      if ((wantsRole || wantsActive) && !isAdmin) throw new AppError(403, 'Not enough permissions')

      const email = changes.email !== undefined ? normalizeEmail(changes.email) : undefined
      assertSingleScript(changes.username)
      assertUnique(changes.username, email, id)
      const hashedPassword = changes.password !== undefined ? await hashPassword(changes.password) : undefined

      const set: Partial<UserRow> = { updatedAt: new Date().toISOString() }
      if (changes.username !== undefined) {
        set.username = changes.username
        set.usernameKey = foldKey(changes.username)
      }
      if (email !== undefined) {
        set.email = email
        set.emailKey = foldKey(email)
      }
      if (hashedPassword !== undefined) set.hashedPassword = hashedPassword
      if (changes.age !== undefined) set.age = changes.age
      else if (replace) set.age = null
      if (isAdmin && changes.role !== undefined) set.role = changes.role
      if (isAdmin && changes.is_active !== undefined) set.isActive = changes.is_active

      try {
        return db.transaction((tx) => {
          // Re-read inside the transaction: the hash above yielded the event loop.
          const current = tx.select().from(users).where(eq(users.id, id)).get()
          if (!current) throw NotFound('User not found')
          assertUnique(changes.username, email, id)
          assertAdminRemains(current, { role: set.role ?? current.role, isActive: set.isActive ?? current.isActive })
          const row = tx.update(users).set(set).where(eq(users.id, id)).returning().get()
          if (hashedPassword !== undefined || set.isActive === false) revokeCredentials(tx, id)
          return row ?? current
        }, IMMEDIATE)
      } catch (err) {
        mapUniqueViolation(err)
      }
    },

    async changePassword(id: number, current: string, next: string): Promise<void> {
      const user = byId(id)
      if (!user) throw NotFound('User not found')
      if (!(await verifyPassword(current, user.hashedPassword))) throw BadRequest('Incorrect password')
      const hashedPassword = await hashPassword(next)
      db.transaction((tx) => {
        tx.update(users)
          .set({ hashedPassword, updatedAt: new Date().toISOString() })
          .where(eq(users.id, id))
          .run()
        revokeCredentials(tx, id)
      }, IMMEDIATE)
    },

    /**
     * Sets a new password without the old one (reset flow); revokes every credential.
     * Synchronous: it runs inside the caller's bun:sqlite transaction, where an async
     * function's failure would become a rejected promise after the commit.
     */
    setPassword(tx: Tx, id: number, hashedPassword: string): void {
      tx.update(users)
        .set({ hashedPassword, updatedAt: new Date().toISOString() })
        .where(eq(users.id, id))
        .run()
      revokeCredentials(tx, id)
    },

    /** Stores a hash made with the current parameters (after a successful login), unless the password changed meanwhile. */
    rehash(id: number, verifiedHash: string, hashedPassword: string): void {
      db.update(users).set({ hashedPassword }).where(and(eq(users.id, id), eq(users.hashedPassword, verifiedHash))).run()
    },

    delete(id: number): void {
      const after: (() => void)[] = []
      db.transaction((tx) => {
        const target = tx.select().from(users).where(eq(users.id, id)).get()
        if (!target) throw NotFound('User not found')
        assertAdminRemains(target, 'deleted')
        for (const h of hooks.deleting) {
          const done = h(tx, id)
          if (done) after.push(done)
        }
        for (const h of hooks.credentialsRevoked) h(tx, id)
        tx.delete(users).where(eq(users.id, id)).run()
      }, IMMEDIATE)
      for (const fn of after) fn()
    },

    /** Creates the configured admin at start-up when no user has that name or e-mail. */
    async ensureAdmin(admin: { username: string; email: string; password: string }): Promise<'created' | 'exists'> {
      if (byUsername(admin.username) || byEmail(admin.email)) return 'exists'
      await this.create({ ...admin, role: 'admin', is_active: true }, { id: 0, role: 'admin' })
      return 'created'
    }
  }
}

export type UserService = ReturnType<typeof createUserService>
