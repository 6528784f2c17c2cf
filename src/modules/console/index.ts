// The web console (/console/) and the hosted pages that finish e-mailed flows
// (/reset-password, /verify-email, /accept-invite). Both are one front end, served
// as a static HTML shell plus one script and one stylesheet from Roster's own origin;
// the script talks to the public API like any other client. Loading a page spends
// nothing: a token in the URL is only sent when the person submits the form.
import { Elysia } from 'elysia'
import { NotFound } from '../../lib/errors'
import { bundleWeb, type WebAsset } from './bundle'

const ASSETS = '/console/assets/'

/**
 * Scripts and styles from this origin only, no inline code (so an injected
 * `<script>` or `onclick` does not run), API calls to this origin only, never framed.
 * `img-src data:` is for nothing but the browser's own form icons.
 */
export const CSP = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  "connect-src 'self'",
  "base-uri 'none'",
  "form-action 'self'",
  "frame-ancestors 'none'"
].join('; ')

const PAGE_HEADERS = {
  'content-type': 'text/html; charset=utf-8',
  'content-security-policy': CSP,
  // The URL of a hosted page holds a token: no cache keeps it, no Referer carries it.
  'cache-control': 'no-store',
  'referrer-policy': 'no-referrer'
}

const TITLES: Record<string, string> = {
  '/reset-password': 'Choose a new password',
  '/verify-email': 'Confirm your e-mail address',
  '/accept-invite': 'Accept your invitation'
}

interface Loaded {
  byName: Map<string, WebAsset>
  shell: (title: string) => string
}

/** In the compiled binary the bundle is embedded (src/build.ts); from source it is built here. */
async function load(): Promise<Loaded> {
  let assets: WebAsset[]
  if (Bun.isStandaloneExecutable) {
    assets = await Promise.all(
      Bun.embeddedFiles
        .filter((b) => (b as Blob & { name: string }).name.startsWith('web/'))
        .map(async (b) => {
          const name = (b as Blob & { name: string }).name.slice('web/'.length)
          return { name, type: b.type, body: new Uint8Array(await b.arrayBuffer()) }
        })
    )
  } else {
    assets = await bundleWeb()
  }
  const byName = new Map(assets.map((a) => [a.name, a]))
  const script = assets.find((a) => a.name.endsWith('.js'))
  const style = assets.find((a) => a.name.endsWith('.css'))
  if (!script || !style) throw new Error('web bundle incomplete')
  const head = `<link rel="stylesheet" href="${ASSETS}${style.name}"><script type="module" src="${ASSETS}${script.name}"></script>`
  return {
    byName,
    shell: (title) =>
      `<!doctype html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1"><title>${title} · Roster</title>${head}</head>` +
      `<body><div id="app"><noscript>Roster's console needs JavaScript.</noscript></div></body></html>`
  }
}

// Shared by every app in the process: building from source costs a few hundred ms.
let loading: Promise<Loaded> | undefined
const loaded = () => {
  loading ??= load().catch((e) => {
    loading = undefined
    throw e
  })
  return loading
}

const hidden = { detail: { hide: true } }

export function consoleModule() {
  const page = (title: string) => async () => new Response((await loaded()).shell(title), { headers: PAGE_HEADERS })
  const app = new Elysia({ name: 'roster.console' })
    .get('/', ({ redirect }) => redirect('/console/', 302), hidden)
    .get(`${ASSETS}:name`, async ({ params }) => {
      const a = (await loaded()).byName.get(params.name)
      if (!a) throw NotFound('Not Found')
      return new Response(a.body as Uint8Array<ArrayBuffer>, {
        headers: { 'content-type': a.type, 'cache-control': 'public, max-age=31536000, immutable', 'content-security-policy': CSP }
      })
    }, hidden)
    .get('/console/', page('Console'), hidden)
    .get('/console/*', page('Console'), hidden)
  for (const [path, title] of Object.entries(TITLES)) app.get(path, page(title), hidden)
  return app
}
