// Auth controller: login. Sessions (refresh, logout) plug in through `sessions`.
import { Elysia } from 'elysia'
import { errorResponses } from '../../http/schemas'
import { LoginBody, TokenResponse } from './model'
import type { AuthService } from './service'
import type { TokenService } from './tokens'

/** Starts a refresh-token session for a freshly authenticated user. */
export type StartSession = (userId: number, meta: { userAgent: string | null; ip: string | null }) => string

interface Deps {
  auth: AuthService
  tokens: TokenService
  startSession: StartSession
  clientIp: (request: Request) => string | null
}

export function authModule({ auth, tokens, startSession, clientIp }: Deps) {
  return new Elysia({ name: 'roster.auth.routes' }).post(
    '/auth/login',
    async ({ body, request, set }) => {
      const user = await auth.checkCredentials(body.username, body.password)
      set.headers['cache-control'] = 'no-store'
      return {
        access_token: await tokens.sign(user.id, user.tokenVersion),
        token_type: 'bearer' as const,
        expires_in: tokens.expiresIn,
        refresh_token: startSession(user.id, { userAgent: request.headers.get('user-agent'), ip: clientIp(request) })
      }
    },
    {
      // JSON, or the OAuth2 password form used by the docs page's Authorize button.
      parse: ['urlencoded', 'json'],
      body: LoginBody,
      response: { 200: TokenResponse, ...errorResponses(401, 422) },
      detail: {
        tags: ['auth'],
        summary: 'Log in with username (or e-mail) and password',
        description: 'Accepts JSON or the OAuth2 password form. A password in the query string is never read.'
      }
    }
  )
}
