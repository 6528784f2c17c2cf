// The client's address: the socket's peer, or with TRUST_PROXY the address the
// nearest proxy saw (the right-most X-Forwarded-For entry). Never trusted by default.
import type { Server } from 'bun'

export function createClientIp(getServer: () => Server<unknown> | null | undefined, trustProxy: boolean) {
  return function clientIp(request: Request): string | null {
    if (trustProxy) {
      const xff = request.headers.get('x-forwarded-for')
      if (xff) {
        const parts = xff.split(',')
        const last = parts[parts.length - 1]?.trim()
        if (last) return last.slice(0, 64)
      }
    }
    return getServer()?.requestIP(request)?.address ?? null
  }
}
