// `roster audit verify`: walks the audit log's hash chain from the retention
// anchor to the head. Intact: prints how many events were checked, exit 0.
// Broken: one line naming the first bad event id, exit 1.
import type { Config } from '../config'
import { createAuditService } from '../modules/audit/service'
import { CliError } from './errors'
import { openData } from './open'

export async function auditVerify(config: Config): Promise<void> {
  const data = await openData(config)
  try {
    const r = await createAuditService(data).verify()
    if (!r.ok) throw new CliError(`audit chain broken at event ${r.badId}: ${r.reason} (${r.checked} events before it are intact)`)
    process.stdout.write(`audit chain intact: ${r.checked} events checked, head ${r.headId} ${r.headHash}\n`)
  } finally {
    await data.close()
  }
}
