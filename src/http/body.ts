// Body parsing. JSON bodies are parsed here rather than by Elysia: a body that
// is not a JSON object must be reported as such (Elysia turns `[1,2]` into `{}`
// before validating it), and at most JSON_BODY_LIMIT bytes are read. Other
// content types are left to the route (a multipart upload parses its own body,
// unread here). A route declares what it takes with `accepts`:
//   accepts: 'json'         JSON only; any other Content-Type is 415
//   accepts: 'json+form'    JSON or the OAuth2 password form (the docs page's Authorize button)
// The declaration also names the media types in the OpenAPI document.
import { Elysia } from 'elysia'
import { AppError, RequestValidationError } from '../lib/errors'

/** Largest JSON (or form) body read; larger ones get 413 before being read in full. */
export const JSON_BODY_LIMIT = 1024 * 1024

const tooLarge = () => new AppError(413, 'Request body too large')
const unsupported = () => new AppError(415, 'Unsupported Media Type: send application/json')

/**
 * The body as text, never more than `limit` bytes read: a declared
 * Content-Length over it is refused unread; a chunked body is read until it
 * passes the limit, then dropped.
 */
async function readCapped(request: Request, limit: number): Promise<string> {
  const declared = request.headers.get('content-length')
  if (declared !== null) {
    if (Number(declared) > limit) throw tooLarge()
    // The server's framing stops the read at Content-Length.
    const text = await request.text()
    if (text.length > limit) throw tooLarge()
    return text
  }
  if (!request.body) return ''
  const reader = request.body.getReader()
  const chunks: Uint8Array[] = []
  let total = 0
  for (;;) {
    const { done, value } = await reader.read()
    if (done) break
    total += value.byteLength
    if (total > limit) {
      await reader.cancel().catch(() => {})
      throw tooLarge()
    }
    chunks.push(value)
  }
  return new TextDecoder().decode(Buffer.concat(chunks))
}

/** Every route: a JSON body is read capped and must be an object. */
async function parseJson({ request, contentType }: { request: Request; contentType: string }) {
  if (contentType.toLowerCase() !== 'application/json') return
  const text = await readCapped(request, JSON_BODY_LIMIT)
  let value: unknown
  try {
    value = JSON.parse(text)
  } catch {
    throw new RequestValidationError([{ field: 'body', message: 'Body is not valid JSON', type: 'json_invalid' }])
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new RequestValidationError([{ field: 'body', message: 'Input should be a valid object', type: 'model_attributes_type' }])
  }
  return value
}

// Runs after parseJson, so JSON is already read; no Content-Type is left to
// the body schema (422).
function jsonOnly({ contentType }: { contentType: string }) {
  if (contentType !== '') throw unsupported()
}

async function jsonOrForm({ request, contentType }: { request: Request; contentType: string }) {
  const type = contentType.toLowerCase()
  if (type === '') return
  if (type !== 'application/x-www-form-urlencoded') throw unsupported()
  // Same cap as JSON; Elysia's own parser reads it when its length is declared.
  const declared = request.headers.get('content-length')
  if (declared !== null) {
    if (Number(declared) > JSON_BODY_LIMIT) throw tooLarge()
    return
  }
  return Object.fromEntries(new URLSearchParams(await readCapped(request, JSON_BODY_LIMIT)))
}

export const bodyPlugin = new Elysia({ name: 'roster.body' }).onParse({ as: 'global' }, parseJson).macro({
  accepts(kind: 'json' | 'json+form') {
    // The named parsers after ours only declare the media types for the
    // OpenAPI document: ours has answered (or refused) before they run.
    // Elysia accepts parser names at run time; its macro type lists functions only.
    return { parse: (kind === 'json' ? [jsonOnly, 'json'] : [jsonOrForm, 'urlencoded', 'json']) as never }
  }
})
