// The users feature's schemas, defined once and used for validation, responses
// and the OpenAPI document, and the one mapping from a row to the response. Body integers use TypeBox's own Integer: Elysia's
// t.Integer would coerce "30" to 30 in a JSON body.
import { t } from 'elysia'
import { FormatRegistry, Type, type Static } from '@sinclair/typebox'
import { ValueErrorType } from '@sinclair/typebox/errors'
import { Value } from '@sinclair/typebox/value'
import type { UserRow } from '../../db/schema'

// Python's str.isalnum(): Unicode letters and digits, nothing else.
FormatRegistry.Set('alnum', (v) => /^[\p{L}\p{N}]+$/u.test(v))
FormatRegistry.Set('strong-password', (v) => /\p{Nd}/u.test(v) && /\p{Lu}/u.test(v))

export const Username = t.String({
  minLength: 3,
  maxLength: 50,
  format: 'alnum',
  description: '3 to 50 letters or digits',
  examples: ['alice']
})
export const Email = t.String({
  format: 'email',
  maxLength: 254,
  description: 'Stored and compared case-insensitively',
  examples: ['alice@example.com']
})
export const Password = t.String({
  minLength: 8,
  maxLength: 128,
  format: 'strong-password',
  description: '8 to 128 characters with at least one digit and one uppercase letter',
  examples: ['Secret123']
})
/** One line naming the rule the value breaks, or undefined when it is fine. Never echoes the value. */
export function passwordProblem(password: string): string | undefined {
  const e = Value.Errors(Password, password).First()
  if (!e) return undefined
  switch (e.type) {
    case ValueErrorType.StringMinLength:
      return `password must be at least ${Password.minLength} characters long`
    case ValueErrorType.StringMaxLength:
      return `password must be at most ${Password.maxLength} characters long`
    default:
      return 'password must contain at least one digit and one uppercase letter'
  }
}

export const Age = Type.Union([Type.Integer({ minimum: 0, maximum: 150 }), Type.Null()], {
  description: 'Optional, 0 to 150'
})
export const Role = t.Union([t.Literal('user'), t.Literal('admin')])

export const UserCreate = t.Object(
  {
    username: Username,
    email: Email,
    password: Password,
    age: t.Optional(Age),
    // Honoured only when an admin creates the user; ignored otherwise.
    role: t.Optional(Role),
    is_active: t.Optional(t.Boolean()),
    email_verified: t.Optional(t.Boolean({ description: 'Admins only: create the account with its address already verified' }))
  },
  { description: 'role, is_active and email_verified are applied only when the caller is an admin' }
)
export type UserCreate = Static<typeof UserCreate>

export const UserUpdate = t.Object(
  {
    username: t.Optional(Username),
    email: t.Optional(Email),
    password: t.Optional(Password),
    age: t.Optional(Age),
    role: t.Optional(Role),
    is_active: t.Optional(t.Boolean())
  },
  { description: 'Any subset of the fields; role and is_active only by an admin' }
)
export type UserUpdate = Static<typeof UserUpdate>

export const PasswordChange = t.Object({
  current_password: t.String({ minLength: 1, maxLength: 1024 }),
  new_password: Password
})

export const UserResponse = t.Object(
  {
    id: Type.Integer(),
    username: t.String(),
    email: t.String(),
    age: Type.Union([Type.Integer(), Type.Null()]),
    role: Role,
    is_active: t.Boolean(),
    email_verified: t.Boolean({ description: 'The address was confirmed through its verification link' }),
    mfa_enabled: t.Boolean({ description: 'TOTP second factor is on' }),
    created_at: t.String({ format: 'date-time' })
  },
  { additionalProperties: false }
)
export type UserResponse = Static<typeof UserResponse>

/** What another non-admin may see of a user while USER_DIRECTORY is restricted. */
export const UserPublic = t.Object(
  {
    id: Type.Integer(),
    username: t.String(),
    created_at: t.String({ format: 'date-time' })
  },
  { additionalProperties: false, description: 'Another user, as a non-admin sees them (USER_DIRECTORY=restricted)' }
)
export type UserPublic = Static<typeof UserPublic>

/** A user as some caller may see them: the full row (self, admins, open directory) or UserPublic. */
export const UserView = t.Union([UserResponse, UserPublic])

/** What a listing reads: the response's columns, not the hash. */
export type ListedUser = Pick<UserRow, 'id' | 'username' | 'email' | 'age' | 'role' | 'isActive' | 'emailVerified' | 'mfaEnabled' | 'createdAt'>

export function toUserResponse(u: ListedUser): UserResponse {
  return {
    id: u.id,
    username: u.username,
    email: u.email,
    age: u.age,
    role: u.role,
    is_active: u.isActive,
    email_verified: u.emailVerified,
    mfa_enabled: u.mfaEnabled,
    created_at: u.createdAt
  }
}

// Path values are strings on the wire, so here Elysia's coercing t.Integer is right.
export const UserIdParams = t.Object({
  user_id: t.Integer({ description: 'User id' })
})

export function toUserPublic(u: ListedUser): UserPublic {
  return { id: u.id, username: u.username, created_at: u.createdAt }
}

export type UserDirectory = 'restricted' | 'open'

/**
 * How `viewer` sees `u`: the full row for themself, for admins and in an open
 * directory; otherwise only the public part (no e-mail, age, role or status).
 */
export function viewUser(u: ListedUser, viewer: { id: number; role: string }, directory: UserDirectory): UserResponse | UserPublic {
  return directory === 'open' || viewer.role === 'admin' || viewer.id === u.id ? toUserResponse(u) : toUserPublic(u)
}

export const V1List = t.Object({ version: t.Literal('1.0'), users: t.Array(UserView) })
export const V2List = t.Object({
  version: t.Literal('2.0'),
  users: t.Array(UserView),
  includes_inactive: t.Boolean(),
  next_cursor: Type.Union([t.String(), Type.Null()], {
    description: 'Pass as `after` to get the next page; null on the last page'
  })
})
