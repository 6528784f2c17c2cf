// Invitations controller: admins create, list and revoke; the invited person
// accepts with the link's token.
import { Elysia, t } from 'elysia'
import type { AuthPlugin } from '../auth/macro'
import { bodyPlugin } from '../../http/body'
import { errorResponses } from '../../http/schemas'
import type { ClientMeta } from '../sessions/service'
import { toUserResponse, UserResponse } from '../users/model'
import { AcceptInvite, InvitationCreate, InvitationIdParams, InvitationResponse } from './model'
import type { InvitationService } from './service'

interface Deps {
  invitations: InvitationService
  auth: AuthPlugin
  clientMeta: (request: Request) => ClientMeta
}

export function invitationsModule({ invitations, auth, clientMeta }: Deps) {
  return new Elysia({ name: 'roster.invitations' })
    .use(bodyPlugin)
    .use(auth)
    .post(
      '/admin/invitations',
      async ({ body, user, request, set }) => {
        const inv = await invitations.create({ email: body.email, role: body.role ?? 'user' }, { actorId: user.id, ...clientMeta(request) })
        set.status = 201
        return inv
      },
      {
        auth: 'admin',
        accepts: 'json',
        body: InvitationCreate,
        response: { 201: InvitationResponse, ...errorResponses(400, 401, 403, 422) },
        detail: {
          tags: ['admin'],
          summary: 'Invite someone by e-mail',
          description:
            'Mails a link `{PUBLIC_URL}/accept-invite?token=...`, single use, valid 7 days. `role` defaults to `user`. ' +
            'A registered address is 400 `{"detail":"Email already registered"}`; a pending invitation to the same address is replaced (its link stops working).'
        }
      }
    )
    .get('/admin/invitations', () => invitations.listPending(), {
      auth: 'admin',
      response: { 200: t.Array(InvitationResponse), ...errorResponses(401, 403) },
      detail: { tags: ['admin'], summary: 'Pending invitations', description: 'Not accepted, not revoked, not expired; oldest first.' }
    })
    .delete(
      '/admin/invitations/:invitation_id',
      async ({ params, user, request, set }) => {
        await invitations.revoke(params.invitation_id, { actorId: user.id, ...clientMeta(request) })
        set.status = 204
      },
      {
        auth: 'admin',
        params: InvitationIdParams,
        response: { 204: t.Void({ description: 'Revoked: its link no longer works' }), ...errorResponses(401, 403, 404, 422) },
        detail: { tags: ['admin'], summary: 'Revoke a pending invitation', description: 'Unknown, accepted, revoked or expired invitations are 404 `{"detail":"Invitation not found"}`.' }
      }
    )
    .post(
      '/auth/accept-invite',
      async ({ body, request, set }) => {
        const row = await invitations.accept(body, { actorId: null, ...clientMeta(request) })
        set.status = 201
        return toUserResponse(row)
      },
      {
        accepts: 'json',
        body: AcceptInvite,
        response: { 201: UserResponse, ...errorResponses(400, 422) },
        detail: {
          tags: ['auth'],
          summary: 'Accept an invitation: create the invited account',
          description:
            'Creates a verified account with the invited address and role, also when ALLOW_SIGNUP is false. ' +
            '400 `{"detail":"Invalid or expired token"}` for an unknown, used, revoked or expired invitation; 400 `Username already exists` or `Email already registered` leaves the invitation usable.'
        }
      }
    )
}
