// Users: plain functions over the database. No HTTP types here; failures are
// thrown as AppError and mapped to the contract's bodies by the error plugin.
import type { Database } from 'bun:sqlite'
import { and, asc, eq, gt, like, or, sql } from 'drizzle-orm'
import { constraintError, constraintName, type Data, type Tx } from '../../db/data'
import type { Role, UserRow } from '../../db/schema'
import type { Actor } from '../../lib/actor'
import { AppError, BadRequest, NotFound, RequestValidationError } from '../../lib/errors'
import { hashPassword } from '../../lib/password'
import { then, type MaybePromise } from '../../lib/maybe'
import { trimPage } from '../../lib/page'
import { SYSTEM, type Origin } from '../audit/service'
import type { ReentryCheck } from '../auth/reentry'
import { foldKey, mixesScripts } from '../../lib/unicode'
import type { ListedUser } from './model'

/**
 * Extension points for other features, called inside the same transaction as
 * the change so that nothing is kept without the other (a welcome e-mail without
 * its user, sessions that outlive a password change).
 */
export interface UserHooks {
  /** A user row was inserted. */
  created: ((tx: Tx, user: UserRow, origin: Origin, source: CreatedBy) => Promise<void>)[]
  /** PUT/PATCH changed these fields (names only; `password` when one was set). */
  updated: ((tx: Tx, before: UserRow, after: UserRow, fields: string[], origin: Origin) => Promise<void>)[]
  /** The e-mail address changed (the row already holds the new one, unverified). */
  emailChanged: ((tx: Tx, user: UserRow, oldEmail: string, origin: Origin) => Promise<void>)[]
  /** A new password was set by the user or an admin (not by a reset link). */
  passwordChanged: ((tx: Tx, userId: number, origin: Origin) => Promise<void>)[]
  /** Every credential issued so far must stop working (password change, deactivation, deletion). */
  credentialsRevoked: ((tx: Tx, userId: number) => Promise<void>)[]
  /** The user is about to be deleted; may return work to run after the commit (removing files). */
  deleting: ((tx: Tx, userId: number) => Promise<(() => void) | void>)[]
  /** The user row is gone (same transaction). */
  deleted: ((tx: Tx, user: UserRow, origin: Origin) => Promise<void>)[]
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

export interface PageOptions {
  after?: number
  skip: number
  limit: number
  includeInactive: boolean
  /** Username prefix (and e-mail prefix with matchEmail), compared folded (NFKC + case folding, as names are). */
  q?: string
  matchEmail?: boolean
  role?: Role
  /** Only active (true) or only deactivated (false) users; overrides includeInactive. */
  active?: boolean
  /** Only users whose e-mail address is (true) or is not (false) confirmed. */
  verified?: boolean
}

/** A page's filters, the limit counting the one extra row. */
interface Search {
  after: number
  limit: number
  skip: number
  /** Folded prefix (foldKey) and the bound above every key that starts with it. */
  prefix?: { lo: string; hi: string; email: boolean }
  role?: Role
  active?: boolean
  verified?: boolean
}

/** Advisory-lock key of every change that could remove the last active admin. */
const ADMINS_LOCK = 'users:admins'

export const normalizeEmail = (email: string) => email.trim().toLowerCase()

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

// Hot reads (every authenticated request, every listing) on SQLite go straight
// to bun:sqlite prepared statements, synchronously: Drizzle's builder and row
// mapping cost noticeably more per lookup, and far more for an unprepared page.
// Columns are aliased to UserRow's names; only is_active needs converting
// (SQLite has no boolean). PostgreSQL
// runs the same reads as Drizzle prepared statements.
const ROW_COLUMNS = `id, username, email, hashed_password AS hashedPassword, age, role, is_active AS isActive,
  mfa_enabled AS mfaEnabled, token_version AS tokenVersion, email_verified AS emailVerified, created_at AS createdAt, updated_at AS updatedAt`
const PUBLIC_COLUMNS = 'id, username, email, age, role, is_active AS isActive, mfa_enabled AS mfaEnabled, email_verified AS emailVerified, created_at AS createdAt'

type Raw<T> = Omit<T, 'isActive' | 'mfaEnabled' | 'emailVerified'> & { isActive: number | boolean; mfaEnabled: number | boolean; emailVerified: number | boolean }
function fromRaw<T extends { isActive: boolean; mfaEnabled: boolean; emailVerified: boolean }>(row: Raw<T>): T {
  row.isActive = row.isActive === 1 || row.isActive === true
  row.mfaEnabled = row.mfaEnabled === 1 || row.mfaEnabled === true
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

export function createUserService(data: Data, hooks: UserHooks, reenter: ReentryCheck) {
  const { db, t } = data
  const { users } = t
  const hot = data.sqlite ? sqliteHotReads(data.sqlite) : drizzleHotReads(data)

  // Names and addresses are looked up by their folded key (lib/unicode.ts), never as typed.
  const byUsername = (q: Tx, username: string): Promise<UserRow | undefined> =>
    q.select().from(users).where(eq(users.usernameKey, foldKey(username))).limit(1).then((r) => r[0])
  const byEmail = (q: Tx, email: string): Promise<UserRow | undefined> =>
    q.select().from(users).where(eq(users.emailKey, foldKey(email))).limit(1).then((r) => r[0])

  async function assertUnique(q: Tx, username: string | undefined, email: string | undefined, exceptId?: number): Promise<void> {
    if (username !== undefined) {
      const other = await byUsername(q, username)
      if (other && other.id !== exceptId) throw BadRequest('Username already exists')
    }
    if (email !== undefined) {
      const other = await byEmail(q, email)
      if (other && other.id !== exceptId) throw BadRequest('Email already registered')
    }
  }

  /** A UNIQUE violation that slipped past the pre-check (another instance or process wrote first). */
  function mapUniqueViolation(err: unknown): never {
    if (constraintError(err) === 'unique') {
      if (constraintName(err).includes('email')) throw BadRequest('Email already registered')
      throw BadRequest('Username already exists')
    }
    throw err
  }

  async function revokeCredentials(tx: Tx, userId: number): Promise<void> {
    await tx
      .update(users)
      .set({ tokenVersion: sql`${users.tokenVersion} + 1` })
      .where(eq(users.id, userId))
    for (const h of hooks.credentialsRevoked) await h(tx, userId)
  }

  /**
   * Refuses a change that would leave no active admin (nobody could administer
   * Roster). Callers hold ADMINS_LOCK, so two admins demoting each other at
   * once cannot both see the other still standing.
   */
  async function assertAdminRemains(tx: Tx, target: UserRow, next: { role: Role; isActive: boolean } | 'deleted'): Promise<void> {
    if (target.role !== 'admin' || !target.isActive) return
    const stillAdmin = next !== 'deleted' && next.role === 'admin' && next.isActive
    if (stillAdmin) return
    const [row] = await tx
      .select({ n: sql<number>`count(*)`.mapWith(Number) })
      .from(users)
      .where(and(eq(users.role, 'admin'), eq(users.isActive, true)))
    if ((row?.n ?? 0) <= 1) throw BadRequest('Cannot remove the last active admin')
  }

  /** The row, locked until the transaction ends (PostgreSQL); SQLite's writer lock covers it. */
  const lockedById = (tx: Tx, id: number): Promise<UserRow | undefined> =>
    data.forUpdate(tx.select().from(users).where(eq(users.id, id))).then((r) => r[0])

  /**
   * Inserts a user inside the caller's write transaction (signup, invitation
   * acceptance) and fires the created hooks there.
   */
  async function insertUser(tx: Tx, input: NewUser, hashedPassword: string, actor: Actor | undefined, origin: Origin, source: CreatedBy): Promise<UserRow> {
    const email = normalizeEmail(input.email)
    const now = new Date().toISOString()
    const trusted = actor?.role === 'admin' || source === 'invitation'
    await assertUnique(tx, input.username, email)
    const [row] = await tx
      .insert(users)
      .values({
        username: input.username,
        email,
        usernameKey: foldKey(input.username),
        emailKey: foldKey(email),
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
    for (const h of hooks.created) await h(tx, row!, origin, source)
    return row!
  }

  return {
    hooks,

    /** Inside the caller's transaction; a taken name or address is thrown as the contract's 400. */
    async insert(tx: Tx, input: NewUser, hashedPassword: string, actor: Actor | undefined, origin: Origin, source: CreatedBy): Promise<UserRow> {
      try {
        return await insertUser(tx, input, hashedPassword, actor, origin, source)
      } catch (err) {
        mapUniqueViolation(err)
      }
    },

    /** Refuses a username or e-mail already taken (on `q`: inside a transaction, pass it). */
    assertAvailable(username: string | undefined, email: string | undefined, q: Tx = db): Promise<void> {
      // The same rule as signup: an invited person cannot pick a look-alike name either.
      assertSingleScript(username)
      return assertUnique(q, username, email === undefined ? undefined : normalizeEmail(email))
    },

    /** Synchronous on SQLite: the hot path of every authenticated request. */
    getById(id: number): MaybePromise<UserRow | undefined> {
      return hot.byId(id)
    },

    /**
     * SQLite only (undefined on PostgreSQL): the user and, in the same read,
     * the expiry of session `sessionId` when it is theirs and not revoked
     * (null otherwise). One statement is one read transaction: each costs
     * file-lock system calls on a WAL file, and this runs on every
     * authenticated request.
     */
    getWithSession: hot.withSession,

    /** Login accepts the username or the e-mail address. */
    findForLogin(identifier: string): Promise<UserRow | undefined> {
      const id = identifier.trim()
      // No stored name holds NUL (PostgreSQL text cannot), so nobody is found by one.
      if (id.includes('\u0000')) return Promise.resolve(undefined)
      return id.includes('@') ? byEmail(db, id) : byUsername(db, id)
    },

    /** Visible to the caller: active users to everyone, inactive ones to admins only. */
    getVisible(id: number, viewer: Actor): MaybePromise<UserRow> {
      return then(hot.byId(id), (user) => {
        if (!user || (!user.isActive && viewer.role !== 'admin')) throw NotFound('User not found')
        return user
      })
    },

    list(skip: number, limit: number): MaybePromise<ListedUser[]> {
      return hot.list(skip, limit)
    },

    /** Keyset page: cost independent of depth. Filters narrow it (see HotReads.search). */
    page(opts: PageOptions): MaybePromise<{ rows: ListedUser[]; nextCursor: string | null }> {
      const after = opts.after ?? 0
      const filtered = opts.q !== undefined || opts.role !== undefined || opts.active !== undefined || opts.verified !== undefined
      const lo = opts.q === undefined ? undefined : foldKey(opts.q)
      const found = filtered
        ? hot.search({
            after,
            limit: opts.limit + 1,
            skip: opts.skip,
            // Every text starting with `lo` sorts between it and it + the highest code point.
            prefix: lo === undefined ? undefined : { lo, hi: `${lo}\u{10FFFF}`, email: opts.matchEmail === true },
            role: opts.role,
            active: opts.active ?? (opts.includeInactive ? undefined : true),
            verified: opts.verified
          })
        : hot.page(after, opts.limit + 1, opts.skip, opts.includeInactive)
      return then(found, (all) => {
        const { rows, next } = trimPage(all, opts.limit)
        return { rows, nextCursor: next ? encodeCursor(next.id) : null }
      })
    },

    async create(input: NewUser, actor: Actor | undefined, origin: Origin = SYSTEM): Promise<UserRow> {
      const email = normalizeEmail(input.email)
      assertSingleScript(input.username)
      // Cheap check before the expensive hash, repeated inside the transaction.
      await assertUnique(db, input.username, email)
      const hashedPassword = await hashPassword(input.password)
      const source: CreatedBy = actor === undefined ? 'signup' : actor.id === 0 ? 'bootstrap' : 'admin'
      try {
        return await data.transaction((tx) => insertUser(tx, input, hashedPassword, actor, origin, source))
      } catch (err) {
        mapUniqueViolation(err)
      }
    },

    /**
     * PUT (replace: true, every UserCreate field) and PATCH (any subset).
     * Permission to touch this user at all is checked by the caller; here, who
     * may change role and is_active.
     */
    async update(id: number, changes: UserChanges, actor: Actor, replace: boolean, origin: Origin = { ...SYSTEM, actorId: actor.id }): Promise<UserRow> {
      const target = await hot.byId(id)
      if (!target) throw NotFound('User not found')
      const isAdmin = actor.role === 'admin'
      const wantsRole = changes.role !== undefined && changes.role !== target.role
      const wantsActive = changes.is_active !== undefined && changes.is_active !== target.isActive
      if ((wantsRole || wantsActive) && !isAdmin) throw new AppError(403, 'Not enough permissions')

      const email = changes.email !== undefined ? normalizeEmail(changes.email) : undefined
      assertSingleScript(changes.username)
      await assertUnique(db, changes.username, email, id)
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
        return await data.transaction(async (tx) => {
          if (set.role !== undefined || set.isActive !== undefined) await data.lock(tx, ADMINS_LOCK)
          // Re-read inside the transaction: the hash above yielded the event loop.
          const current = await lockedById(tx, id)
          if (!current) throw NotFound('User not found')
          await assertUnique(tx, changes.username, email, id)
          await assertAdminRemains(tx, current, { role: set.role ?? current.role, isActive: set.isActive ?? current.isActive })
          // A new address is unverified until its own link is used.
          const emailChanged = email !== undefined && email !== current.email
          const [updated] = await tx
            .update(users)
            .set(emailChanged ? { ...set, emailVerified: false } : set)
            .where(eq(users.id, id))
            .returning()
          const row = updated ?? current
          if (hashedPassword !== undefined || set.isActive === false) await revokeCredentials(tx, id)
          const fields = changedFields(current, row, hashedPassword !== undefined)
          if (fields.length > 0) for (const h of hooks.updated) await h(tx, current, row, fields, origin)
          if (hashedPassword !== undefined) for (const h of hooks.passwordChanged) await h(tx, id, origin)
          if (emailChanged) for (const h of hooks.emailChanged) await h(tx, row, current.email, origin)
          return row
        })
      } catch (err) {
        mapUniqueViolation(err)
      }
    },

    /** The current password is checked like a login's, in its throttle (auth/reentry.ts); `origin.ip` is the client's. */
    async changePassword(id: number, current: string, next: string, origin: Origin = { ...SYSTEM, actorId: id }): Promise<void> {
      const user = await hot.byId(id)
      if (!user) throw NotFound('User not found')
      const checked = await reenter(user, current, origin.ip)
      // Settled as a login is: with TOTP on, only a correct code clears the counter.
      await (user.mfaEnabled ? checked.release() : checked.succeeded())
      const hashedPassword = await hashPassword(next)
      await data.transaction(async (tx) => {
        await tx.update(users).set({ hashedPassword, updatedAt: new Date().toISOString() }).where(eq(users.id, id))
        await revokeCredentials(tx, id)
        for (const h of hooks.passwordChanged) await h(tx, id, origin)
      })
    },

    /** Sets a new password without the old one (reset flow), inside the caller's transaction; revokes every credential. */
    async setPassword(tx: Tx, id: number, hashedPassword: string): Promise<void> {
      await tx.update(users).set({ hashedPassword, updatedAt: new Date().toISOString() }).where(eq(users.id, id))
      await revokeCredentials(tx, id)
    },

    /** Marks the user's current address verified (its link was used); inside the caller's transaction. */
    async markVerified(tx: Tx, id: number): Promise<void> {
      await tx.update(users).set({ emailVerified: true }).where(eq(users.id, id))
    },

    /** Stores a hash made with the current parameters (after a successful login), unless the password changed meanwhile. */
    async rehash(id: number, verifiedHash: string, hashedPassword: string): Promise<void> {
      await data.transaction((tx) =>
        tx
          .update(users)
          .set({ hashedPassword })
          .where(and(eq(users.id, id), eq(users.hashedPassword, verifiedHash)))
          .then(() => undefined)
      )
    },

    async delete(id: number, origin: Origin = SYSTEM): Promise<void> {
      const after: (() => void)[] = []
      await data.transaction(async (tx) => {
        await data.lock(tx, ADMINS_LOCK)
        const target = await lockedById(tx, id)
        if (!target) throw NotFound('User not found')
        await assertAdminRemains(tx, target, 'deleted')
        for (const h of hooks.deleting) {
          const done = await h(tx, id)
          if (done) after.push(done)
        }
        for (const h of hooks.credentialsRevoked) await h(tx, id)
        await tx.delete(users).where(eq(users.id, id))
        for (const h of hooks.deleted) await h(tx, target, origin)
      })
      for (const fn of after) fn()
    },

    /**
     * Creates the configured admin at start-up when no user has that name or
     * e-mail. Instances starting together race here: the one that loses on the
     * unique index finds the admin there and reports it as existing.
     */
    async ensureAdmin(admin: { username: string; email: string; password: string }): Promise<'created' | 'exists'> {
      const exists = async () => (await byUsername(db, admin.username)) !== undefined || (await byEmail(db, admin.email)) !== undefined
      if (await exists()) return 'exists'
      try {
        await this.create({ ...admin, role: 'admin', is_active: true, email_verified: true }, { id: 0, role: 'admin' })
      } catch (err) {
        if (err instanceof AppError && err.status === 400 && (await exists())) return 'exists'
        throw err
      }
      return 'created'
    }
  }
}

/** A user row with the expiry of the session an access token names (null: not theirs, revoked or missing). */
export type UserWithSession = UserRow & { sessionExpiresAt: number | null }

interface HotReads {
  byId(id: number): MaybePromise<UserRow | undefined>
  withSession: ((id: number, sessionId: string) => UserWithSession | undefined) | undefined
  list(skip: number, limit: number): MaybePromise<ListedUser[]>
  /** Rows with id > after, in id order (limit already includes the one extra row). */
  page(after: number, limit: number, skip: number, includeInactive: boolean): MaybePromise<ListedUser[]>
  /** A filtered keyset page, in id order. */
  search(f: Search): MaybePromise<ListedUser[]>
}

function sqliteHotReads(sqlite: Database): HotReads {
  const byIdRaw = sqlite.query<Raw<UserRow>, [number]>(`SELECT ${ROW_COLUMNS} FROM users WHERE id = ?`)
  // A scalar subquery, not a JOIN: SQLite planned `users LEFT JOIN sessions ON
  // sessions.id = ?` several times slower than the two primary-key lookups.
  const withSessionRaw = sqlite.query<Raw<UserWithSession>, [number, string]>(
    `SELECT ${ROW_COLUMNS},
       (SELECT expires_at FROM sessions WHERE id = ?2 AND user_id = ?1 AND revoked_at IS NULL) AS sessionExpiresAt
     FROM users WHERE id = ?1`
  )
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
  // One prepared statement per combination of filters. A prefix is a range on the
  // unique indexes of the folded keys (username_key, email_key): the other terms get a unary + so that
  // SQLite cannot pick the id or status index instead and scan every user; the
  // matches are then sorted by id. Without a prefix, role and status walk the
  // (is_active, id) index or the ids from the cursor on.
  const searches = new Map<string, ReturnType<typeof sqlite.query<Raw<ListedUser>, (string | number)[]>>>()
  function search(f: Search): ListedUser[] {
    const plain = f.prefix ? '+' : ''
    const where = [`${plain}id > ?`]
    const args: (string | number)[] = [f.after]
    if (f.prefix) {
      const { lo, hi } = f.prefix
      where.push(f.prefix.email ? '((username_key >= ? AND username_key < ?) OR (email_key >= ? AND email_key < ?))' : 'username_key >= ? AND username_key < ?')
      args.push(lo, hi, ...(f.prefix.email ? [lo, hi] : []))
    }
    if (f.role !== undefined) {
      where.push(`${plain}role = ?`)
      args.push(f.role)
    }
    if (f.active !== undefined) where.push(`${plain}is_active = ${f.active ? 1 : 0}`)
    if (f.verified !== undefined) where.push(`${plain}email_verified = ${f.verified ? 1 : 0}`)
    const text = `SELECT ${PUBLIC_COLUMNS} FROM users WHERE ${where.join(' AND ')} ORDER BY id LIMIT ? OFFSET ?`
    let stmt = searches.get(text)
    if (!stmt) searches.set(text, (stmt = sqlite.query(text)))
    return stmt.all(...args, f.limit, f.skip).map(fromRaw<ListedUser>)
  }
  return {
    byId(id) {
      const row = byIdRaw.get(id)
      return row ? fromRaw<UserRow>(row) : undefined
    },
    withSession(id, sessionId) {
      const row = withSessionRaw.get(id, sessionId)
      return row ? fromRaw<UserWithSession>(row) : undefined
    },
    list: (skip, limit) => listActive.all(limit, skip).map(fromRaw<ListedUser>),
    page: (after, limit, skip, includeInactive) => (includeInactive ? pageAll : pageActive).all(after, limit, skip).map(fromRaw<ListedUser>),
    search
  }
}

function drizzleHotReads({ db, t: { users } }: Data): HotReads {
  const publicColumns = {
    id: users.id,
    username: users.username,
    email: users.email,
    age: users.age,
    role: users.role,
    isActive: users.isActive,
    emailVerified: users.emailVerified,
    mfaEnabled: users.mfaEnabled,
    createdAt: users.createdAt
  }
  const byId = db.select().from(users).where(eq(users.id, sql.placeholder('id'))).prepare('users_by_id')
  const page = (includeInactive: boolean, name: string) =>
    db
      .select(publicColumns)
      .from(users)
      .where(includeInactive ? gt(users.id, sql.placeholder('after')) : and(eq(users.isActive, true), gt(users.id, sql.placeholder('after'))))
      .orderBy(asc(users.id))
      .limit(sql.placeholder('limit'))
      .offset(sql.placeholder('skip'))
      .prepare(name)
  const pageActive = page(false, 'users_page_active')
  const pageAll = page(true, 'users_page_all')
  return {
    byId: (id) => byId.execute({ id }).then((r) => r[0]),
    // Two reads in parallel (the macro's Promise.all) cost one round trip here.
    withSession: undefined,
    list: (skip, limit) => pageActive.execute({ after: 0, limit, skip }),
    page: (after, limit, skip, includeInactive) => (includeInactive ? pageAll : pageActive).execute({ after, limit, skip }),
    // PostgreSQL's planner weighs the indexes by its statistics; the prefix is a
    // LIKE on the folded keys (its collation need not sort by code point).
    search(f) {
      const conds = [gt(users.id, f.after)]
      if (f.prefix) {
        const pattern = `${f.prefix.lo.replace(/[\\%_]/g, '\\$&')}%`
        const name = like(users.usernameKey, pattern)
        conds.push(f.prefix.email ? or(name, like(users.emailKey, pattern))! : name)
      }
      if (f.role !== undefined) conds.push(eq(users.role, f.role))
      if (f.active !== undefined) conds.push(eq(users.isActive, f.active))
      if (f.verified !== undefined) conds.push(eq(users.emailVerified, f.verified))
      return db.select(publicColumns).from(users).where(and(...conds)).orderBy(asc(users.id)).limit(f.limit).offset(f.skip).execute()
    }
  }
}

export type UserService = ReturnType<typeof createUserService>
