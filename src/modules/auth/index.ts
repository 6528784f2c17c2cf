// Auth controller: login, refresh, logout. Queries live in the services.
import { Elysia, t } from 'elysia'
import { bodyPlugin } from '../../http/body'
import { errorResponses } from '../../http/schemas'
import { Unauthorized } from '../../lib/errors'
import { MfaRequired, MfaVerifyBody } from '../mfa/model'
import { INVALID_MFA_TOKEN, type MfaService } from '../mfa/service'
import type { SessionService } from '../sessions/service'
import { LoginBody, RefreshBody, TokenResponse } from './model'
import { BAD_LOGIN, type AuthService } from './service'
import type { TokenService } from './tokens'

interface Deps {
  auth: AuthService
  tokens: TokenService
  sessions: SessionService
  mfa: MfaService
  clientIp: (request: Request) => string | null
}

const REFRESH_401 = 'Invalid refresh token: unknown, spent, expired or revoked; a spent one revokes its whole session'

export function authModule({ auth, tokens, sessions, mfa, clientIp }: Deps) {
  const meta = (request: Request) => ({ userAgent: request.headers.get('user-agent'), ip: clientIp(request) })
  // Login and refresh answer alike: an access token for the session and its refresh token.
  const tokenResponse = async (user: { id: number; tokenVersion: number }, sessionId: string, refreshToken: string) => ({
    access_token: await tokens.sign(user.id, user.tokenVersion, sessionId),
    token_type: 'bearer' as const,
    expires_in: tokens.expiresIn,
    refresh_token: refreshToken
  })

  return new Elysia({ name: 'roster.auth.routes' })
    .use(bodyPlugin)
    .post(
      '/auth/login',
      async ({ body, request, set }) => {
        const client = meta(request)
        const user = await auth.checkCredentials(body.username, body.password, client)
        set.headers['cache-control'] = 'no-store'
        // Both undefined when a password change, reset, deactivation or deletion
        // landed while the password was being verified: that login never happened.
        if (user.mfaEnabled) {
          const challenge = await mfa.startChallenge(user)
          if (!challenge) throw Unauthorized(BAD_LOGIN)
          return { mfa_required: true as const, ...challenge }
        }
        const session = await sessions.start(user, client)
        if (!session) throw Unauthorized(BAD_LOGIN)
        return tokenResponse(user, session.id, session.refreshToken)
      },
      {
        // JSON, or the OAuth2 password form used by the docs page's Authorize button.
        accepts: 'json+form',
        body: LoginBody,
        response: {
          200: t.Union([TokenResponse, MfaRequired]),
          ...errorResponses(401, 422, 429),
          403: t.Object({ detail: t.String() }, { description: 'REQUIRE_EMAIL_VERIFICATION is on and the address is not verified (`Email not verified`); a fresh link is mailed' })
        },
        detail: {
          tags: ['auth'],
          summary: 'Log in with username (or e-mail) and password',
          description:
            'Accepts JSON or the OAuth2 password form. A password in the query string is never read. Opens a session and returns its refresh token. ' +
            'With REQUIRE_EMAIL_VERIFICATION on, a correct password for an unverified address gets 403 `{"detail":"Email not verified"}`, no session, and a fresh verification link (within the resend cap). ' +
            'After 5 failures in 15 minutes for one account from one client IP, or 50 from one IP, answers 429 `{"detail":"Too many login attempts"}` with Retry-After; a success clears the account counter. ' +
            'For an account with TOTP on, a correct password opens no session: the answer is `{"mfa_required":true,"mfa_token":...,"expires_in":300}`, finished at POST /auth/mfa/verify.'
        }
      }
    )
    .post(
      '/auth/mfa/verify',
      async ({ body, request, set }) => {
        const { user } = await mfa.verifyChallenge(body.mfa_token, body.code, clientIp(request), { actorId: null, ...meta(request) })
        // The user as read with the code: a credential change since then refuses the session.
        const session = await sessions.start(user, meta(request))
        if (!session) throw Unauthorized(INVALID_MFA_TOKEN)
        set.headers['cache-control'] = 'no-store'
        return tokenResponse(user, session.id, session.refreshToken)
      },
      {
        accepts: 'json',
        body: MfaVerifyBody,
        response: {
          200: TokenResponse,
          401: t.Object({ detail: t.String() }, { description: '`Invalid code` (the fifth wrong one kills the mfa_token), or `Invalid or expired MFA token`' }),
          ...errorResponses(422, 429)
        },
        detail: {
          tags: ['auth'],
          summary: 'Second step of a login with TOTP: the mfa_token and a code',
          description:
            'The code is the current 6-digit TOTP code (one 30 s step of clock skew either way is accepted; a code already used is refused) or an unused recovery code (each works once). ' +
            'Every attempt counts in the login throttle (429 with Retry-After). A success spends the mfa_token and opens a session.'
        }
      }
    )
    .post(
      '/auth/refresh',
      async ({ body, request, set }) => {
        // rotate() refuses sessions of missing or inactive users, and reads the
        // token version under its own lock.
        const r = await sessions.rotate(body.refresh_token, meta(request))
        set.headers['cache-control'] = 'no-store'
        return tokenResponse({ id: r.userId, tokenVersion: r.tokenVersion }, r.sessionId, r.refreshToken)
      },
      {
        accepts: 'json',
        body: RefreshBody,
        response: { 200: TokenResponse, 401: t.Object({ detail: t.String() }, { description: REFRESH_401 }), ...errorResponses(422) },
        detail: {
          tags: ['auth'],
          summary: 'Exchange a refresh token for new tokens (rotation)',
          description:
            'The presented refresh token is spent and a new one returned. Presenting a spent token again revokes the whole session, ' +
            'except within 5 seconds of its rotation, when the same new refresh token is returned again (two tabs refreshing at once). ' +
            'The session keeps its original expiry (REFRESH_TOKEN_EXPIRE_DAYS after login).'
        }
      }
    )
    .post(
      '/auth/logout',
      async ({ body, request, set }) => {
        await sessions.revokeByToken(body.refresh_token, meta(request))
        set.status = 204
      },
      {
        accepts: 'json',
        body: RefreshBody,
        response: {
          204: t.Void({ description: "The refresh token's session is revoked, with every access token issued for it" }),
          401: t.Object({ detail: t.String() }, { description: 'Unknown, expired or already revoked refresh token' }),
          ...errorResponses(422)
        },
        detail: { tags: ['auth'], summary: 'Log out: revoke the session of a refresh token' }
      }
    )
}
