// TOTP and the login's second step: schemas defined once for validation, responses and docs.
import { t } from 'elysia'
import { MAX_TOKEN_LENGTH } from '../../lib/token'
import { Type } from '@sinclair/typebox'

const Code = t.String({
  minLength: 1,
  maxLength: 64,
  description: 'The 6-digit code of the authenticator app, or one unused recovery code (where stated)'
})
const PasswordField = t.String({ minLength: 1, maxLength: 1024, description: 'The current password, re-entered' })

export const TotpSetupBody = t.Object({ password: PasswordField })
export const TotpSetupResponse = t.Object(
  {
    secret: t.String({ description: 'Base32 TOTP secret (SHA-1, 6 digits, 30 s); shown only here' }),
    otpauth_url: t.String({ description: 'otpauth://totp/Roster:<username>?secret=...&issuer=Roster, for a QR code' })
  },
  { additionalProperties: false }
)

export const TotpEnableBody = t.Object({ code: t.String({ minLength: 1, maxLength: 64, description: 'A code made from the setup secret' }) })
export const RecoveryCodesResponse = t.Object(
  {
    recovery_codes: t.Array(t.String(), {
      minItems: 10,
      maxItems: 10,
      description: 'Ten single-use codes for when the authenticator is lost; shown only here, stored hashed'
    })
  },
  { additionalProperties: false }
)

export const TotpDisableBody = t.Object({ password: PasswordField, code: Code })

export const MfaRequired = t.Object(
  {
    mfa_required: t.Literal(true),
    mfa_token: t.String({ description: 'Exchange it with a code at POST /auth/mfa/verify; one use, killed by the fifth wrong code' }),
    expires_in: Type.Integer({ description: 'Seconds the mfa_token is valid (300)' })
  },
  { description: 'The password was right and the account has TOTP on: no session yet', additionalProperties: false }
)

export const MfaVerifyBody = t.Object({
  mfa_token: t.String({ minLength: 1, maxLength: MAX_TOKEN_LENGTH }),
  code: Code
})
