import { t } from 'elysia'

export const VerifyEmailBody = t.Object({
  token: t.String({ minLength: 1, maxLength: 256, description: 'The token from the e-mailed link' })
})

export const ResendAccepted = t.Object(
  { message: t.String() },
  { description: 'A new link is on its way to the current address; nothing is sent when it is already verified' }
)

export const RESEND_ACCEPTED = { message: 'Unless the address is already verified, a new link is on its way' }
