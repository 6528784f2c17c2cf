import { Elysia, t } from 'elysia'

/** Liveness (/health) and readiness (/ready: the database answers and migrations are applied). */
export function healthModule(isReady: () => Promise<boolean>) {
  return new Elysia({ name: 'roster.health' })
    .get('/health', () => ({ status: 'ok' as const }), {
      response: { 200: t.Object({ status: t.Literal('ok') }) },
      detail: { tags: ['health'], summary: 'Liveness' }
    })
    .get(
      '/ready',
      async ({ set }) => {
        let ready = false
        try {
          ready = await isReady()
        } catch {
          ready = false
        }
        if (!ready) {
          set.status = 503
          return { detail: 'Not ready' }
        }
        return { status: 'ready' }
      },
      {
        response: { 200: t.Object({ status: t.Literal('ready') }), 503: t.Object({ detail: t.String() }) },
        detail: { tags: ['health'], summary: 'Readiness: database reachable and migrations applied' }
      }
    )
}
