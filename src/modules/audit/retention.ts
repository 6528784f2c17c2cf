// AUDIT_RETENTION_DAYS: the oldest events are pruned at start and then hourly,
// beside the server. A failed run is logged and retried at the next tick.
import type { Logger } from '../../lib/log'
import type { AuditService } from './service'

const HOUR_MS = 3_600_000

export function startAuditRetention(audit: AuditService, retentionDays: number, logger: Logger, everyMs = HOUR_MS) {
  const run = () =>
    audit.prune(retentionDays).then(
      (pruned) => {
        if (pruned > 0) logger.info('audit retention', { pruned, retention_days: retentionDays })
      },
      (err: unknown) => logger.error('audit retention failed', { error: err instanceof Error ? err.name : typeof err })
    )
  if (retentionDays <= 0) return { name: 'audit retention', stop: () => {} }
  void run()
  const timer = setInterval(() => void run(), everyMs)
  timer.unref()
  return { name: 'audit retention', stop: () => clearInterval(timer) }
}
