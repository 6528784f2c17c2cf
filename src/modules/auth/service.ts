// Login: the credential check. Timing is the same for an unknown user and a
// wrong password, and so is the error.
import type { UserRow } from '../../db/schema'
import { Unauthorized } from '../../http/errors'
import { dummyHash, hashPassword, needsRehash, verifyPassword } from '../../lib/password'
import type { UserService } from '../users/service'

export const BAD_LOGIN = 'Incorrect username or password'

export function createAuthService(users: UserService) {
  return {
    async checkCredentials(identifier: string, password: string): Promise<UserRow> {
      const user = users.findForLogin(identifier)
      // Verify against a dummy hash when there is no such user, so unknown
      // users take as long as wrong passwords.
      const ok = await verifyPassword(password, user?.hashedPassword ?? (await dummyHash()))
      if (!user || !ok || !user.isActive) throw Unauthorized(BAD_LOGIN)
      if (needsRehash(user.hashedPassword)) users.rehash(user.id, await hashPassword(password))
      return user
    }
  }
}

export type AuthService = ReturnType<typeof createAuthService>
