// A typed Roster client: types generated from the server's own document,
// calls made by openapi-fetch. Generate the types first:
//   npx openapi-typescript http://localhost:3000/openapi.json -o roster-api.d.ts
import createClient, { type Middleware } from 'openapi-fetch'
import type { components, paths } from './roster-api'

type User = paths['/users/me']['get']['responses'][200]['content']['application/json']
type ApiError = components['schemas']['Error']

export async function signUpAndReadMe(baseUrl: string, username: string, password: string): Promise<User> {
  const roster = createClient<paths>({ baseUrl })

  const created = await roster.POST('/users', {
    body: { username, email: `${username}@example.com`, password }
  })
  if (created.error) throw new Error(`signup refused: ${JSON.stringify(created.error.detail)}`)

  const login = await roster.POST('/auth/login', { body: { username, password } })
  if (login.error) throw new Error(`login refused: ${(login.error as ApiError).detail}`)
  // An account with TOTP on answers with an mfa_token: the code goes to /auth/mfa/verify.
  if ('mfa_required' in login.data) throw new Error('this account asks for its TOTP code')
  const token: string = login.data.access_token

  // Every later call carries the access token.
  const bearer: Middleware = {
    onRequest({ request }) {
      request.headers.set('Authorization', `Bearer ${token}`)
      return request
    }
  }
  roster.use(bearer)

  const me = await roster.GET('/users/me')
  if (me.error) throw new Error(me.error.detail)
  const id: number = me.data.id

  // Path parameters are typed too: user_id is a number.
  const same = await roster.GET('/users/{user_id}', { params: { path: { user_id: id } } })
  if (same.error) throw new Error(JSON.stringify(same.error.detail))
  return me.data
}
