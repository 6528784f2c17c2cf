import { t } from 'elysia'
import { MAX_TOKEN_LENGTH } from '../../lib/token'
import { Email, Password } from '../users/model'

export const ResetRequest = t.Object({ email: Email })

export const ResetConfirm = t.Object({
  token: t.String({ minLength: 1, maxLength: MAX_TOKEN_LENGTH, description: 'The token from the e-mailed link' }),
  new_password: Password
})

export const ResetAccepted = t.Object(
  { message: t.String() },
  { description: 'Always the same, whether or not the address is registered' }
)

export const RESET_ACCEPTED = { message: 'If that address belongs to an account, a reset link is on its way' }
