import { t } from 'elysia'
import { MAX_TOKEN_LENGTH } from '../../lib/token'
import { Type } from '@sinclair/typebox'

export const LoginBody = t.Object(
  {
    username: t.String({ minLength: 1, maxLength: 254, description: 'Username or e-mail address' }),
    password: t.String({ minLength: 1, maxLength: 1024 })
  },
  { description: 'JSON, or the OAuth2 password form (application/x-www-form-urlencoded)' }
)

export const TokenResponse = t.Object({
  access_token: t.String(),
  token_type: t.Literal('bearer'),
  expires_in: Type.Integer({ description: 'Access token lifetime in seconds' }),
  refresh_token: t.String({ description: 'Opaque; exchange at /auth/refresh' })
})

export const RefreshBody = t.Object({
  refresh_token: t.String({ minLength: 1, maxLength: MAX_TOKEN_LENGTH, description: 'The refresh token from /auth/login or the last /auth/refresh' })
})
