// The audit log's subscriptions to user changes: every hook runs inside the
// transaction of the change, so an event exists exactly when its change does.
import type { UserHooks } from '../users/service'
import type { AuditService } from './service'

export function auditUserChanges(audit: AuditService, hooks: UserHooks): void {
  hooks.created.push((tx, user, origin, source) =>
    audit.append(tx, {
      type: 'user.created',
      origin,
      targetId: user.id,
      details: { username: user.username, role: user.role, source, email_verified: user.emailVerified }
    })
  )
  hooks.updated.push(async (tx, before, after, fields, origin) => {
    // Names only: a password's value never reaches an event.
    await audit.append(tx, { type: 'user.updated', origin, targetId: after.id, details: { fields } })
    if (before.role !== after.role) {
      await audit.append(tx, { type: 'user.role_changed', origin, targetId: after.id, details: { from: before.role, to: after.role } })
    }
    if (before.isActive !== after.isActive) {
      await audit.append(tx, { type: after.isActive ? 'user.activated' : 'user.deactivated', origin, targetId: after.id })
    }
  })
  hooks.passwordChanged.push((tx, userId, origin) => audit.append(tx, { type: 'password.changed', origin, targetId: userId }))
  hooks.deleted.push((tx, user, origin) =>
    audit.append(tx, { type: 'user.deleted', origin, targetId: user.id, details: { username: user.username } })
  )
}
