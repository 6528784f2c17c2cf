import { t } from 'elysia'

export const VerifyEmailBody = t.Object({
  token: t.String({ minLength: 1, maxLength: 256, description: 'The token from the e-mailed link' })
})
