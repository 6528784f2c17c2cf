// Users: plain functions over the database. No HTTP types here; failures are
// thrown as AppError and mapped to the contract's bodies by the error plugin.
import { and, eq, sql } from 'drizzle-orm'
import type { Db, Tx } from '../../db/client'
import { users, type Role, type UserRow } from '../../db/schema'
import type { Actor } from '../../lib/actor'
import { AppError, BadRequest, NotFound } from '../../lib/errors'
import { hashPassword, verifyPassword } from '../../lib/password'
import { trimPage } from '../../lib/page'
import { SYSTEM, type Origin } from '../audit/service'
import type { PublicUser } from './model'

/**
 * Extension points for other features, called inside the same transaction as
 * the change so that nothing is kept without the other (a welcome e-mail without
 * its user, sessions that outlive a password change).
 */
export interface UserHooks {
  /** A user row was inserted. */
  created: ((tx: Tx, user: UserRow, origin: Origin, source: CreatedBy) => void)[]
  /** PUT/PATCH changed these fields (names only; `password` when one was set). */
  updated: ((tx: Tx, before: UserRow, after: UserRow, fields: string[], origin: Origin) => void)[]
  /** The e-mail address changed (the row already holds the new one, unverified). */
  emailChanged: ((tx: Tx, user: UserRow, oldEmail: string, origin: Origin) => void)[]
  /** A new password was set by the user or an admin (not by a reset link). */
  passwordChanged: ((tx: Tx, userId: number, origin: Origin) => void)[]
  /** Every credential issued so far must stop working (password change, deactivation, deletion). */
  credentialsRevoked: ((tx: Tx, userId: number) => void)[]
  /** The user is about to be deleted; may return work to run after the commit (removing files). */
  deleting: ((tx: Tx, userId: number) => (() => void) | void)[]
  /** The user row is gone (same transaction). */
  deleted: ((tx: Tx, user: UserRow, origin: Origin) => void)[]
}

export const newUserHooks = (): UserHooks => ({
  created: [],
  updated: [],
  emailChanged: [],
  passwordChanged: [],
  credentialsRevoked: [],
  deleting: [],
  deleted: []
})

/** How an account came to be: recorded with user.created. */
export type CreatedBy = 'signup' | 'admin' | 'invitation' | 'bootstrap'

export interface NewUser {
  username: string
  email: string
  password: string
  age?: number | null
  role?: Role
  is_active?: boolean
  /** Honoured only from an admin (and for invited or bootstrapped accounts). */
  email_verified?: boolean
}

export type UserChanges = Omit<Partial<NewUser>, 'email_verified'>

// Transactions that read before they write take the write lock up front. In WAL
// mode a deferred transaction whose snapshot is older than another connection's
// commit (the mail worker, a CLI) cannot upgrade to a writer: SQLite answers
// SQLITE_BUSY at once, without waiting for busy_timeout.
const IMMEDIATE = { behavior: 'immediate' } as const

export const normalizeEmail = (email: string) => email.trim().toLowerCase()

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
  token_version AS tokenVersion, email_verified AS emailVerified, created_at AS createdAt, updated_at AS updatedAt`
const PUBLIC_COLUMNS = 'id, username, email, age, role, is_active AS isActive, email_verified AS emailVerified, created_at AS createdAt'

type Raw<T> = Omit<T, 'isActive' | 'emailVerified'> & { isActive: number | boolean; emailVerified: number | boolean }
function fromRaw<T extends { isActive: boolean; emailVerified: boolean }>(row: Raw<T>): T {
  row.isActive = row.isActive === 1 || row.isActive === true
  row.emailVerified = row.emailVerified === 1 || row.emailVerified === true
  return row as T
}

/** PUT/PATCH fields that differ from the row (password: whenever one is given). */
function changedFields(before: UserRow, after: UserRow, passwordSet: boolean): string[] {
  const fields: string[] = []
  if (before.username !== after.username) fields.push('username')
  if (before.email !== after.email) fields.push('email')
  if (passwordSet) fields.push('password')
  if (before.age !== after.age) fields.push('age')
  if (before.role !== after.role) fields.push('role')
  if (before.isActive !== after.isActive) fields.push('is_active')
  return fields
}

export function createUserService(db: Db, hooks: UserHooks = newUserHooks()) {
  const sqlite = db.$client
  const byIdRaw = sqlite.query<Raw<UserRow>, [number]>(`SELECT ${ROW_COLUMNS} FROM users WHERE id = ?`)
  const byId = (id: number): UserRow | undefined => {
    const row = byIdRaw.get(id)
    return row ? fromRaw<UserRow>(row) : undefined
  }
  const listActive = sqlite.query<Raw<PublicUser>, [number, number]>(
    `SELECT ${PUBLIC_COLUMNS} FROM users WHERE is_active = 1 ORDER BY id LIMIT ? OFFSET ?`
  )
  // Keyset pages: `id > after` walks the primary key (or the (is_active, id)
  // index) from the cursor on, so a page costs the same at any depth.
  const pageActive = sqlite.query<Raw<PublicUser>, [number, number, number]>(
    `SELECT ${PUBLIC_COLUMNS} FROM users WHERE is_active = 1 AND id > ? ORDER BY id LIMIT ? OFFSET ?`
  )
  const pageAll = sqlite.query<Raw<PublicUser>, [number, number, number]>(
    `SELECT ${PUBLIC_COLUMNS} FROM users WHERE id > ? ORDER BY id LIMIT ? OFFSET ?`
  )
  const byUsername = db
    .select()
    .from(users)
    .where(sql`lower(${users.username}) = lower(${sql.placeholder('username')})`)
    .prepare()
  const byEmail = db.select().from(users).where(eq(users.email, sql.placeholder('email'))).prepare()
  const activeAdmins = db
    .select({ n: sql<number>`count(*)` })
    .from(users)
    .where(and(eq(users.role, 'admin'), eq(users.isActive, true)))
    .prepare()

  function assertUnique(username: string | undefined, email: string | undefined, exceptId?: number): void {
    if (username !== undefined) {
      const other = byUsername.get({ username })
      if (other && other.id !== exceptId) throw BadRequest('Username already exists')
    }
    if (email !== undefined) {
      const other = byEmail.get({ email })
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

  /**
   * Inserts a user inside the caller's write transaction (signup, invitation
   * acceptance) and fires the created hooks there. Synchronous: a bun:sqlite
   * transaction must not await.
   */
  function insertUser(tx: Tx, input: NewUser, hashedPassword: string, actor: Actor | undefined, origin: Origin, source: CreatedBy): UserRow {
    const email = normalizeEmail(input.email)
    const now = new Date().toISOString()
    const trusted = actor?.role === 'admin' || source === 'invitation'
    try {
      assertUnique(input.username, email)
      const row = tx
        .insert(users)
        .values({
          username: input.username,
          email,
          hashedPassword,
          age: input.age ?? null,
          // Mass assignment: only an admin (or the admin's invitation) may choose these.
          role: trusted ? (input.role ?? 'user') : 'user',
          isActive: trusted ? (input.is_active ?? true) : true,
          // Admins made at start-up or by `roster create-admin` are verified.
          emailVerified: source === 'bootstrap' || (trusted ? (input.email_verified ?? false) : false),
          createdAt: now,
          updatedAt: now
        })
        .returning()
        .get()
      for (const h of hooks.created) h(tx, row, origin, source)
      return row
    } catch (err) {
      mapUniqueViolation(err)
    }
  }

  return {
    hooks,

    insert: insertUser,

    getById(id: number): UserRow | undefined {
      return byId(id)
    },

    /** Login accepts the username or the e-mail address. */
    findForLogin(identifier: string): UserRow | undefined {
      const id = identifier.trim()
      if (id.includes('@')) return byEmail.get({ email: normalizeEmail(id) })
      return byUsername.get({ username: id })
    },

    /** Visible to the caller: active users to everyone, inactive ones to admins only. */
    getVisible(id: number, viewer: Actor): UserRow {
      const user = byId(id)
      if (!user || (!user.isActive && viewer.role !== 'admin')) throw NotFound('User not found')
      return user
    },

    list(skip: number, limit: number): PublicUser[] {
      return listActive.all(limit, skip).map(fromRaw<PublicUser>)
    },

    /** Keyset page: cost independent of depth. */
    page(opts: { after?: number; skip: number; limit: number; includeInactive: boolean }): { rows: PublicUser[]; nextCursor: string | null } {
      const stmt = opts.includeInactive ? pageAll : pageActive
      const { rows, next } = trimPage(stmt.all(opts.after ?? 0, opts.limit + 1, opts.skip).map(fromRaw<PublicUser>), opts.limit)
      return { rows, nextCursor: next ? encodeCursor(next.id) : null }
    },

    /** Refuses a username or e-mail already taken (before hashing a password). */
    assertAvailable(username: string | undefined, email: string | undefined): void {
      assertUnique(username, email === undefined ? undefined : normalizeEmail(email))
    },

    async create(input: NewUser, actor: Actor | undefined, origin: Origin = SYSTEM): Promise<UserRow> {
      const email = normalizeEmail(input.email)
      // Cheap check before the expensive hash, repeated inside the transaction.
      assertUnique(input.username, email)
      const hashedPassword = await hashPassword(input.password)
      const source: CreatedBy = actor === undefined ? 'signup' : actor.id === 0 ? 'bootstrap' : 'admin'
      return db.transaction((tx) => insertUser(tx, input, hashedPassword, actor, origin, source), IMMEDIATE)
    },

    /**
     * PUT (replace: true, every UserCreate field) and PATCH (any subset).
     * Permission to touch this user at all is checked by the caller; here, who
     * may change role and is_active.
     */
    async update(id: number, changes: UserChanges, actor: Actor, replace: boolean, origin: Origin = { ...SYSTEM, actorId: actor.id }): Promise<UserRow> {
      const target = byId(id)
      if (!target) throw NotFound('User not found')
      const isAdmin = actor.role === 'admin'
      const wantsRole = changes.role !== undefined && changes.role !== target.role
      const wantsActive = changes.is_active !== undefined && changes.is_active !== target.isActive
      if ((wantsRole || wantsActive) && !isAdmin) throw new AppError(403, 'Not enough permissions')

      const email = changes.email !== undefined ? normalizeEmail(changes.email) : undefined
      assertUnique(changes.username, email, id)
      const hashedPassword = changes.password !== undefined ? await hashPassword(changes.password) : undefined

      const set: Partial<UserRow> = { updatedAt: new Date().toISOString() }
      if (changes.username !== undefined) set.username = changes.username
      if (email !== undefined) set.email = email
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
          // A new address is unverified until its own link is used.
          const emailChanged = email !== undefined && email !== current.email
          const row = tx
            .update(users)
            .set(emailChanged ? { ...set, emailVerified: false } : set)
            .where(eq(users.id, id))
            .returning()
            .get()!
          if (hashedPassword !== undefined || set.isActive === false) revokeCredentials(tx, id)
          const fields = changedFields(current, row, hashedPassword !== undefined)
          if (fields.length > 0) for (const h of hooks.updated) h(tx, current, row, fields, origin)
          if (hashedPassword !== undefined) for (const h of hooks.passwordChanged) h(tx, id, origin)
          if (emailChanged) for (const h of hooks.emailChanged) h(tx, row, current.email, origin)
          return row
        }, IMMEDIATE)
      } catch (err) {
        mapUniqueViolation(err)
      }
    },

    async changePassword(id: number, current: string, next: string, origin: Origin = { ...SYSTEM, actorId: id }): Promise<void> {
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
        for (const h of hooks.passwordChanged) h(tx, id, origin)
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

    /** Marks the user's current address verified (its link was used); inside the caller's transaction. */
    markVerified(tx: Tx, id: number): void {
      tx.update(users).set({ emailVerified: true }).where(eq(users.id, id)).run()
    },

    /** Stores a hash made with the current parameters (after a successful login). */
    rehash(id: number, hashedPassword: string): void {
      db.update(users).set({ hashedPassword }).where(eq(users.id, id)).run()
    },

    delete(id: number, origin: Origin = SYSTEM): void {
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
        for (const h of hooks.deleted) h(tx, target, origin)
      }, IMMEDIATE)
      for (const fn of after) fn()
    },

    /** Creates the configured admin at start-up when no user has that name or e-mail. */
    async ensureAdmin(admin: { username: string; email: string; password: string }): Promise<'created' | 'exists'> {
      if (byUsername.get({ username: admin.username }) || byEmail.get({ email: normalizeEmail(admin.email) })) return 'exists'
      await this.create({ ...admin, role: 'admin', is_active: true, email_verified: true }, { id: 0, role: 'admin' })
      return 'created'
    }
  }
}

export type UserService = ReturnType<typeof createUserService>
