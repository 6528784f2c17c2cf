// The whole data model. Every table the features need is declared here so that
// migrations stay one linear history (drizzle-kit generates them into ../../drizzle).
//
// Times: users keep RFC 3339 text (returned to clients as is, no conversion on the
// hot path); machine-only times (expiry, retry schedules) are integer milliseconds
// since the epoch, which compare and index cheaply.
import {
  index,
  integer,
  sqliteTable,
  text,
  uniqueIndex
} from 'drizzle-orm/sqlite-core'

export const users = sqliteTable(
  'users',
  {
    id: integer('id').primaryKey({ autoIncrement: true }),
    username: text('username').notNull(),
    // Stored lower-cased (ASCII and Unicode): e-mail addresses are compared case-insensitively.
    email: text('email').notNull(),
    // The comparison keys (lib/unicode.ts foldKey: NFKC + case folding); SQLite's
    // lower() folds ASCII only. Null only between the migration that added them
    // and the start-up step that fills them (db/migrate.ts).
    usernameKey: text('username_key'),
    emailKey: text('email_key'),
    hashedPassword: text('hashed_password').notNull(),
    age: integer('age'),
    role: text('role', { enum: ['user', 'admin'] })
      .notNull()
      .default('user'),
    isActive: integer('is_active', { mode: 'boolean' }).notNull().default(true),
    // Bumped on password change, deactivation and reset: every access token carries
    // the version it was issued under, so one UPDATE revokes them all.
    tokenVersion: integer('token_version').notNull().default(0),
    emailVerified: integer('email_verified', { mode: 'boolean' }).notNull().default(false),
    // TOTP is on (set with the secret's confirmation in totp_secrets, in one
    // transaction). Kept on the row so login and UserResponse read no other table.
    mfaEnabled: integer('mfa_enabled', { mode: 'boolean' }).notNull().default(false),
    createdAt: text('created_at').notNull(),
    updatedAt: text('updated_at').notNull()
  },
  (t) => [
    // So that "Alice", "ＡＬＩＣＥ" and "alice" are one name, and one address.
    uniqueIndex('users_username_key_uq').on(t.usernameKey),
    uniqueIndex('users_email_key_uq').on(t.emailKey),
    // Listing active users ordered by id (v1, /users, v2 keyset pages).
    index('users_active_id_idx').on(t.isActive, t.id)
  ]
)

export const sessions = sqliteTable(
  'sessions',
  {
    // Random, public identifier (shown in GET /auth/sessions); not a secret.
    id: text('id').primaryKey(),
    userId: integer('user_id')
      .notNull()
      .references(() => users.id, { onDelete: 'cascade' }),
    // sha256 of the current refresh token; the token itself is never stored.
    tokenHash: text('token_hash').notNull(),
    // The token that was rotated away last, accepted for a short grace window so
    // that two tabs refreshing at once do not trip reuse detection.
    previousTokenHash: text('previous_token_hash'),
    rotatedAt: integer('rotated_at'),
    // The current refresh token, encrypted with a key derived from the secret,
    // kept only to hand the same successor to a second tab (on any instance)
    // that refreshes with the previous token within the grace window.
    successor: text('successor'),
    createdAt: integer('created_at').notNull(),
    lastUsedAt: integer('last_used_at').notNull(),
    expiresAt: integer('expires_at').notNull(),
    userAgent: text('user_agent'),
    ip: text('ip'),
    revokedAt: integer('revoked_at')
  },
  (t) => [
    uniqueIndex('sessions_token_hash_uq').on(t.tokenHash),
    index('sessions_previous_token_hash_idx').on(t.previousTokenHash),
    index('sessions_user_idx').on(t.userId)
  ]
)

export const passwordResetTokens = sqliteTable(
  'password_reset_tokens',
  {
    id: integer('id').primaryKey({ autoIncrement: true }),
    userId: integer('user_id')
      .notNull()
      .references(() => users.id, { onDelete: 'cascade' }),
    tokenHash: text('token_hash').notNull(),
    createdAt: integer('created_at').notNull(),
    expiresAt: integer('expires_at').notNull(),
    usedAt: integer('used_at')
  },
  (t) => [
    uniqueIndex('password_reset_tokens_hash_uq').on(t.tokenHash),
    index('password_reset_tokens_user_idx').on(t.userId, t.createdAt)
  ]
)

// One TOTP secret per user, AES-GCM encrypted under a key derived from
// SECRET_KEY (lib/secretbox.ts). Written by setup (users.mfa_enabled still
// false), confirmed by enable. last_step is the time step of the last accepted
// code: a code is accepted only by raising it, so one code works once.
export const totpSecrets = sqliteTable(
  'totp_secrets',
  {
    userId: integer('user_id')
      .notNull()
      .references(() => users.id, { onDelete: 'cascade' }),
    secret: text('secret').notNull(),
    lastStep: integer('last_step'),
    createdAt: integer('created_at').notNull()
  },
  (t) => [uniqueIndex('totp_secrets_user_uq').on(t.userId)]
)

// Single-use recovery codes: sha256 of codes with 80 random bits each (too
// many to guess offline, so no slow hash is needed); used_at spends one.
export const recoveryCodes = sqliteTable(
  'recovery_codes',
  {
    id: integer('id').primaryKey({ autoIncrement: true }),
    userId: integer('user_id')
      .notNull()
      .references(() => users.id, { onDelete: 'cascade' }),
    codeHash: text('code_hash').notNull(),
    usedAt: integer('used_at')
  },
  (t) => [uniqueIndex('recovery_codes_user_hash_uq').on(t.userId, t.codeHash)]
)

// The second half of a login with TOTP: the password was right, the code is
// awaited. In the database (not in memory) so that any instance can finish it.
export const mfaChallenges = sqliteTable(
  'mfa_challenges',
  {
    id: integer('id').primaryKey({ autoIncrement: true }),
    userId: integer('user_id')
      .notNull()
      .references(() => users.id, { onDelete: 'cascade' }),
    tokenHash: text('token_hash').notNull(),
    failures: integer('failures').notNull().default(0),
    expiresAt: integer('expires_at').notNull()
  },
  (t) => [uniqueIndex('mfa_challenges_hash_uq').on(t.tokenHash), index('mfa_challenges_user_idx').on(t.userId)]
)

// Personal access tokens (rst_...): only the sha256 is stored. scopes is a
// space-separated list; last_used_at is kept to the minute.
export const accessTokens = sqliteTable(
  'access_tokens',
  {
    id: integer('id').primaryKey({ autoIncrement: true }),
    userId: integer('user_id')
      .notNull()
      .references(() => users.id, { onDelete: 'cascade' }),
    name: text('name').notNull(),
    tokenHash: text('token_hash').notNull(),
    scopes: text('scopes').notNull(),
    createdAt: integer('created_at').notNull(),
    expiresAt: integer('expires_at'),
    lastUsedAt: integer('last_used_at')
  },
  (t) => [uniqueIndex('access_tokens_hash_uq').on(t.tokenHash), index('access_tokens_user_idx').on(t.userId, t.id)]
)

// Durable e-mail outbox: rows are written in the same transaction as the change
// that causes them and delivered by the mail worker.
export const emailOutbox = sqliteTable(
  'email_outbox',
  {
    id: integer('id').primaryKey({ autoIncrement: true }),
    kind: text('kind').notNull(),
    toAddress: text('to_address').notNull(),
    subject: text('subject').notNull(),
    textBody: text('text_body').notNull(),
    htmlBody: text('html_body').notNull(),
    // The body holds a one-time link (a bearer credential): blanked once sent or
    // dead, never resent by an admin.
    hasLink: integer('has_link', { mode: 'boolean' }).notNull().default(false),
    status: text('status', { enum: ['queued', 'sending', 'sent', 'dead'] })
      .notNull()
      .default('queued'),
    attempts: integer('attempts').notNull().default(0),
    nextAttemptAt: integer('next_attempt_at').notNull(),
    // Set when a worker claims the row; a claim older than the lease returns the
    // row to the queue (the worker died mid-send).
    claimedAt: integer('claimed_at'),
    lastError: text('last_error'),
    createdAt: integer('created_at').notNull(),
    sentAt: integer('sent_at')
  },
  (t) => [
    index('email_outbox_due_idx').on(t.status, t.nextAttemptAt),
    index('email_outbox_sent_idx').on(t.status, t.sentAt)
  ]
)

export const files = sqliteTable(
  'files',
  {
    id: integer('id').primaryKey({ autoIncrement: true }),
    ownerId: integer('owner_id')
      .notNull()
      .references(() => users.id, { onDelete: 'cascade' }),
    // Generated name under DATA_DIR/uploads; the client's name is metadata only.
    storageName: text('storage_name').notNull(),
    filename: text('filename').notNull(),
    contentType: text('content_type').notNull(),
    size: integer('size').notNull(),
    sha256: text('sha256').notNull(),
    createdAt: text('created_at').notNull()
  },
  (t) => [
    uniqueIndex('files_storage_name_uq').on(t.storageName),
    index('files_owner_idx').on(t.ownerId, t.id)
  ]
)

// Shared counters in fixed windows: failed-login throttle and the strict
// per-client buckets of /auth/*, so that every instance on one database counts
// the same attempts. (PostgreSQL keeps them in an UNLOGGED table.)
export const counters = sqliteTable('counters', {
  key: text('key').primaryKey(),
  count: integer('count').notNull(),
  resetAt: integer('reset_at').notNull()
})

// E-mail verification links: single use, stored as the token's sha256. `email` is
// the address the link was sent to: a link for an address the user has since
// changed verifies nothing.
export const emailVerificationTokens = sqliteTable(
  'email_verification_tokens',
  {
    id: integer('id').primaryKey({ autoIncrement: true }),
    userId: integer('user_id')
      .notNull()
      .references(() => users.id, { onDelete: 'cascade' }),
    email: text('email').notNull(),
    tokenHash: text('token_hash').notNull(),
    // signup | resend | email_change: resends are counted for the hourly cap.
    reason: text('reason').notNull(),
    createdAt: integer('created_at').notNull(),
    expiresAt: integer('expires_at').notNull(),
    usedAt: integer('used_at')
  },
  (t) => [
    uniqueIndex('email_verification_tokens_hash_uq').on(t.tokenHash),
    index('email_verification_tokens_user_idx').on(t.userId, t.createdAt)
  ]
)

// Invitations made by admins. Pending = not accepted, not revoked, not expired.
export const invitations = sqliteTable(
  'invitations',
  {
    id: integer('id').primaryKey({ autoIncrement: true }),
    // Stored lower-cased, like users.email.
    email: text('email').notNull(),
    role: text('role', { enum: ['user', 'admin'] }).notNull(),
    tokenHash: text('token_hash').notNull(),
    // No foreign key: the invitation's history outlives the admin who made it.
    invitedBy: integer('invited_by'),
    createdAt: integer('created_at').notNull(),
    expiresAt: integer('expires_at').notNull(),
    acceptedAt: integer('accepted_at'),
    acceptedUserId: integer('accepted_user_id'),
    revokedAt: integer('revoked_at')
  },
  (t) => [
    uniqueIndex('invitations_token_hash_uq').on(t.tokenHash),
    index('invitations_email_idx').on(t.email),
    index('invitations_pending_idx').on(t.acceptedAt, t.revokedAt, t.id)
  ]
)

// The audit log. Append-only and hash-chained: each row stores
// sha256(prev_hash || canonical row), ids are assigned by the append itself
// (last id + 1, under the write lock), so an edited row breaks its own hash and
// a removed one leaves a gap. actor_id and target_id carry no foreign key on
// purpose: events must outlive the users they name.
export const auditEvents = sqliteTable(
  'audit_events',
  {
    id: integer('id').primaryKey(),
    at: text('at').notNull(),
    type: text('type').notNull(),
    actorId: integer('actor_id'),
    targetId: integer('target_id'),
    ip: text('ip'),
    userAgent: text('user_agent'),
    // JSON object, stored as the exact text that was hashed.
    details: text('details').notNull(),
    prevHash: text('prev_hash').notNull(),
    hash: text('hash').notNull()
  },
  (t) => [
    index('audit_events_type_idx').on(t.type, t.id),
    index('audit_events_actor_idx').on(t.actorId, t.id),
    index('audit_events_target_idx').on(t.targetId, t.id),
    index('audit_events_at_idx').on(t.at)
  ]
)

// One row (id 1): the head of the chain (last id and hash; the append's
// serialisation point) and the retention anchor (the last pruned event's id and
// hash, from which verification starts once the oldest events are gone).
export const auditChain = sqliteTable('audit_chain', {
  id: integer('id').primaryKey(),
  lastId: integer('last_id').notNull(),
  lastHash: text('last_hash').notNull(),
  prunedThroughId: integer('pruned_through_id').notNull(),
  prunedThroughHash: text('pruned_through_hash').notNull()
})

export type UserRow = typeof users.$inferSelect
export type Role = UserRow['role']
export type FileRow = typeof files.$inferSelect
export type SessionRow = typeof sessions.$inferSelect
export type EmailRow = typeof emailOutbox.$inferSelect
export type AccessTokenRow = typeof accessTokens.$inferSelect
export type InvitationRow = typeof invitations.$inferSelect
export type AuditEventRow = typeof auditEvents.$inferSelect
