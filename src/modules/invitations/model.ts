import { t } from 'elysia'
import { MAX_TOKEN_LENGTH } from '../../lib/token'
import { Type } from '@sinclair/typebox'
import { Age, Email, Password, Role, Username } from '../users/model'

export const InvitationCreate = t.Object({
  email: Email,
  role: t.Optional(Role)
})

export const InvitationResponse = t.Object(
  {
    id: Type.Integer(),
    email: t.String(),
    role: Role,
    created_at: t.String({ format: 'date-time' }),
    expires_at: t.String({ format: 'date-time', description: 'The link stops working then (7 days after creation)' })
  },
  { additionalProperties: false }
)

export const InvitationIdParams = t.Object({ invitation_id: t.Integer({ description: 'Invitation id' }) })

export const AcceptInvite = t.Object({
  token: t.String({ minLength: 1, maxLength: MAX_TOKEN_LENGTH, description: 'The token from the invitation link' }),
  username: Username,
  password: Password,
  age: t.Optional(Age)
})
