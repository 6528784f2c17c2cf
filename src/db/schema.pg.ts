// The PostgreSQL twin of schema.ts: the same tables, columns and indexes, with
// row types identical to SQLite's (test/schema-parity.test.ts fails when they
// drift), so every feature is written once against either. drizzle-kit
// generates its migrations into ../../drizzle-pg.
//
// Differences that are the engines', not the model's: ids are identity columns
// (inserting explicit ids stays possible, for `roster copy-db`), millisecond
// times are bigint (past 2^31) read back as JavaScript numbers, booleans are
// real booleans.
import { bigint, boolean, index, integer, pgTable, text, uniqueIndex } from 'drizzle-orm/pg-core'

// Millisecond times and byte counts outgrow integer (2^31); read back as numbers.
const int64 = (name: string) => bigint(name, { mode: 'number' })

export const users = pgTable(
  'users',
  {
    id: integer('id').primaryKey().generatedByDefaultAsIdentity(),
    username: text('username').notNull(),
    email: text('email').notNull(),
    usernameKey: text('username_key'),
    emailKey: text('email_key'),
    hashedPassword: text('hashed_password').notNull(),
    age: integer('age'),
    role: text('role', { enum: ['user', 'admin'] })
      .notNull()
      .default('user'),
    isActive: boolean('is_active').notNull().default(true),
    tokenVersion: integer('token_version').notNull().default(0),
    emailVerified: boolean('email_verified').notNull().default(false),
    mfaEnabled: boolean('mfa_enabled').notNull().default(false),
    createdAt: text('created_at').notNull(),
    updatedAt: text('updated_at').notNull()
  },
  (t) => [
    uniqueIndex('users_username_key_uq').on(t.usernameKey),
    uniqueIndex('users_email_key_uq').on(t.emailKey),
    index('users_active_id_idx').on(t.isActive, t.id)
  ]
)

export const sessions = pgTable(
  'sessions',
  {
    id: text('id').primaryKey(),
    userId: integer('user_id')
      .notNull()
      .references(() => users.id, { onDelete: 'cascade' }),
    tokenHash: text('token_hash').notNull(),
    previousTokenHash: text('previous_token_hash'),
    rotatedAt: int64('rotated_at'),
    successor: text('successor'),
    createdAt: int64('created_at').notNull(),
    lastUsedAt: int64('last_used_at').notNull(),
    expiresAt: int64('expires_at').notNull(),
    userAgent: text('user_agent'),
    ip: text('ip'),
    revokedAt: int64('revoked_at')
  },
  (t) => [
    uniqueIndex('sessions_token_hash_uq').on(t.tokenHash),
    index('sessions_previous_token_hash_idx').on(t.previousTokenHash),
    index('sessions_user_idx').on(t.userId)
  ]
)

export const passwordResetTokens = pgTable(
  'password_reset_tokens',
  {
    id: integer('id').primaryKey().generatedByDefaultAsIdentity(),
    userId: integer('user_id')
      .notNull()
      .references(() => users.id, { onDelete: 'cascade' }),
    tokenHash: text('token_hash').notNull(),
    createdAt: int64('created_at').notNull(),
    expiresAt: int64('expires_at').notNull(),
    usedAt: int64('used_at')
  },
  (t) => [
    uniqueIndex('password_reset_tokens_hash_uq').on(t.tokenHash),
    index('password_reset_tokens_user_idx').on(t.userId, t.createdAt)
  ]
)

export const emailOutbox = pgTable(
  'email_outbox',
  {
    id: integer('id').primaryKey().generatedByDefaultAsIdentity(),
    kind: text('kind').notNull(),
    toAddress: text('to_address').notNull(),
    subject: text('subject').notNull(),
    textBody: text('text_body').notNull(),
    htmlBody: text('html_body').notNull(),
    hasLink: boolean('has_link').notNull().default(false),
    status: text('status', { enum: ['queued', 'sending', 'sent', 'dead'] })
      .notNull()
      .default('queued'),
    attempts: integer('attempts').notNull().default(0),
    nextAttemptAt: int64('next_attempt_at').notNull(),
    claimedAt: int64('claimed_at'),
    lastError: text('last_error'),
    createdAt: int64('created_at').notNull(),
    sentAt: int64('sent_at')
  },
  (t) => [
    index('email_outbox_due_idx').on(t.status, t.nextAttemptAt),
    index('email_outbox_sent_idx').on(t.status, t.sentAt)
  ]
)

export const files = pgTable(
  'files',
  {
    id: integer('id').primaryKey().generatedByDefaultAsIdentity(),
    ownerId: integer('owner_id')
      .notNull()
      .references(() => users.id, { onDelete: 'cascade' }),
    storageName: text('storage_name').notNull(),
    filename: text('filename').notNull(),
    contentType: text('content_type').notNull(),
    size: int64('size').notNull(),
    sha256: text('sha256').notNull(),
    createdAt: text('created_at').notNull()
  },
  (t) => [
    uniqueIndex('files_storage_name_uq').on(t.storageName),
    index('files_owner_idx').on(t.ownerId, t.id)
  ]
)

export const totpSecrets = pgTable(
  'totp_secrets',
  {
    userId: integer('user_id')
      .notNull()
      .references(() => users.id, { onDelete: 'cascade' }),
    secret: text('secret').notNull(),
    lastStep: int64('last_step'),
    createdAt: int64('created_at').notNull()
  },
  (t) => [uniqueIndex('totp_secrets_user_uq').on(t.userId)]
)

export const recoveryCodes = pgTable(
  'recovery_codes',
  {
    id: integer('id').primaryKey().generatedByDefaultAsIdentity(),
    userId: integer('user_id')
      .notNull()
      .references(() => users.id, { onDelete: 'cascade' }),
    codeHash: text('code_hash').notNull(),
    usedAt: int64('used_at')
  },
  (t) => [uniqueIndex('recovery_codes_user_hash_uq').on(t.userId, t.codeHash)]
)

export const mfaChallenges = pgTable(
  'mfa_challenges',
  {
    id: integer('id').primaryKey().generatedByDefaultAsIdentity(),
    userId: integer('user_id')
      .notNull()
      .references(() => users.id, { onDelete: 'cascade' }),
    tokenHash: text('token_hash').notNull(),
    failures: integer('failures').notNull().default(0),
    expiresAt: int64('expires_at').notNull()
  },
  (t) => [uniqueIndex('mfa_challenges_hash_uq').on(t.tokenHash), index('mfa_challenges_user_idx').on(t.userId)]
)

export const accessTokens = pgTable(
  'access_tokens',
  {
    id: integer('id').primaryKey().generatedByDefaultAsIdentity(),
    userId: integer('user_id')
      .notNull()
      .references(() => users.id, { onDelete: 'cascade' }),
    name: text('name').notNull(),
    tokenHash: text('token_hash').notNull(),
    scopes: text('scopes').notNull(),
    createdAt: int64('created_at').notNull(),
    expiresAt: int64('expires_at'),
    lastUsedAt: int64('last_used_at')
  },
  (t) => [uniqueIndex('access_tokens_hash_uq').on(t.tokenHash), index('access_tokens_user_idx').on(t.userId, t.id)]
)

// UNLOGGED (set in its migration): counters are worth no WAL; a crash resets them.
export const counters = pgTable('counters', {
  key: text('key').primaryKey(),
  count: integer('count').notNull(),
  resetAt: int64('reset_at').notNull()
})

export const emailVerificationTokens = pgTable(
  'email_verification_tokens',
  {
    id: integer('id').primaryKey().generatedByDefaultAsIdentity(),
    userId: integer('user_id')
      .notNull()
      .references(() => users.id, { onDelete: 'cascade' }),
    email: text('email').notNull(),
    tokenHash: text('token_hash').notNull(),
    reason: text('reason').notNull(),
    createdAt: int64('created_at').notNull(),
    expiresAt: int64('expires_at').notNull(),
    usedAt: int64('used_at')
  },
  (t) => [
    uniqueIndex('email_verification_tokens_hash_uq').on(t.tokenHash),
    index('email_verification_tokens_user_idx').on(t.userId, t.createdAt)
  ]
)

export const invitations = pgTable(
  'invitations',
  {
    id: integer('id').primaryKey().generatedByDefaultAsIdentity(),
    email: text('email').notNull(),
    role: text('role', { enum: ['user', 'admin'] }).notNull(),
    tokenHash: text('token_hash').notNull(),
    invitedBy: integer('invited_by'),
    createdAt: int64('created_at').notNull(),
    expiresAt: int64('expires_at').notNull(),
    acceptedAt: int64('accepted_at'),
    acceptedUserId: integer('accepted_user_id'),
    revokedAt: int64('revoked_at')
  },
  (t) => [
    uniqueIndex('invitations_token_hash_uq').on(t.tokenHash),
    index('invitations_email_idx').on(t.email),
    index('invitations_pending_idx').on(t.acceptedAt, t.revokedAt, t.id)
  ]
)

// Ids are given out by the append (last id + 1 under the chain row's lock); the
// identity is there for the row types to match SQLite's and is never drawn from.
export const auditEvents = pgTable(
  'audit_events',
  {
    id: integer('id').primaryKey().generatedByDefaultAsIdentity(),
    at: text('at').notNull(),
    type: text('type').notNull(),
    actorId: integer('actor_id'),
    targetId: integer('target_id'),
    ip: text('ip'),
    userAgent: text('user_agent'),
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

export const auditChain = pgTable('audit_chain', {
  id: integer('id').primaryKey().generatedByDefaultAsIdentity(),
  lastId: integer('last_id').notNull(),
  lastHash: text('last_hash').notNull(),
  prunedThroughId: integer('pruned_through_id').notNull(),
  prunedThroughHash: text('pruned_through_hash').notNull()
})
