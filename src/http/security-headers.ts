// Headers every response carries. Static, so they are set through Elysia's
// `headers()` (copied into each context, no per-request work). A route that
// returns its own Response with a Cache-Control (the docs assets) keeps it:
// a Response's own headers win over these defaults.
import { Elysia } from 'elysia'

export function securityHeadersPlugin(opts: { publicUrl: string }) {
  const headers: Record<string, string> = {
    'x-content-type-options': 'nosniff',
    'referrer-policy': 'no-referrer',
    'x-frame-options': 'DENY',
    // Responses carry tokens and personal data: no cache may keep them.
    'cache-control': 'no-store'
  }
  // HSTS only means something over https; sent over plain http it would be
  // ignored at best, so only when the public URL says https.
  if (opts.publicUrl.startsWith('https:')) headers['strict-transport-security'] = 'max-age=31536000'
  return new Elysia({ name: 'roster.security-headers' }).headers(headers)
}
