// AUDIT_RETENTION_DAYS: the oldest events are pruned at start and then hourly,
// beside the server. A failed run is logged and retried at the next tick.
import type { Logger } from '../../lib/log'
import type { AuditService } from './service'

const HOUR_MS = 3_600_000

export function startAuditRetention(audit: AuditService, retentionDays: number, logger: Logger, everyMs = HOUR_MS) {
  const run = () => {
    try {
      const pruned = audit.prune(retentionDays)
      if (pruned > 0) logger.info('audit retention', { pruned, retention_days: retentionDays })
    } catch (err) {
      logger.error('audit retention failed', { error: err instanceof Error ? err.name : typeof err })
    }
  }
  if (retentionDays <= 0) return { name: 'audit retention', stop: () => {} }
  run()
  const timer = setInterval(run, everyMs)
  timer.unref()
  return { name: 'audit retention', stop: () => clearInterval(timer) }
}
