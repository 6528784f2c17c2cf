import { t } from 'elysia'
import { MAX_TOKEN_LENGTH } from '../../lib/token'

export const VerifyEmailBody = t.Object({
  token: t.String({ minLength: 1, maxLength: MAX_TOKEN_LENGTH, description: 'The token from the e-mailed link' })
})

export const ResendAccepted = t.Object(
  { message: t.String() },
  { description: 'A new link is on its way to the current address; nothing is sent when it is already verified' }
)

export const RESEND_ACCEPTED = { message: 'Unless the address is already verified, a new link is on its way' }
