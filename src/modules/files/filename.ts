// The client's file name is metadata only: files are stored under generated
// names. These turn it into something safe to keep, list and send back in a
// Content-Disposition header.

export const MAX_FILENAME_BYTES = 255
const FALLBACK = 'file'

const encoder = new TextEncoder()
const utf8Length = (s: string): number => encoder.encode(s).byteLength

/**
 * - keeps the last path component only (`/` and `\`: Windows clients send `C:\x\y.txt`)
 * - removes NUL, C0/C1 control characters and bidi overrides and isolates
 *   (U+202A..U+202E, U+2066..U+2069: "gpj.exe" spoofing)
 * - collapses runs of dots (no `..`), drops leading dots and spaces (no hidden
 *   names) and trailing ones (Windows drops them)
 * - NFC (macOS sends NFD), lone surrogates replaced; other Unicode is kept
 * - at most 255 UTF-8 bytes without splitting a code point, keeping a short extension
 * - `file` when nothing is left
 */
export function sanitizeFilename(name: string, maxBytes = MAX_FILENAME_BYTES): string {
  let s = name.toWellFormed().normalize('NFC')
  s = s.slice(Math.max(s.lastIndexOf('/'), s.lastIndexOf('\\')) + 1)
  // eslint-disable-next-line no-control-regex
  s = s.replace(/[\u0000-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]/g, '')
  s = s.replace(/\.{2,}/g, '.')
  s = s.replace(/^[\s.]+/u, '').replace(/[\s.]+$/u, '')
  s = truncateKeepingExtension(s, maxBytes)
  // Truncation can expose a trailing dot or space again.
  s = s.replace(/[\s.]+$/u, '')
  return s === '' ? FALLBACK : s
}

function truncateKeepingExtension(s: string, maxBytes: number): string {
  if (utf8Length(s) <= maxBytes) return s
  const dot = s.lastIndexOf('.')
  const ext = dot > 0 ? s.slice(dot) : ''
  // A 200-byte "extension" is just part of the name.
  const keepExt = ext !== '' && utf8Length(ext) <= 16
  const stem = keepExt ? s.slice(0, dot) : s
  return truncateUtf8(stem, maxBytes - (keepExt ? utf8Length(ext) : 0)) + (keepExt ? ext : '')
}

/** The longest prefix of `s`, by code point, whose UTF-8 form fits in `maxBytes`. */
function truncateUtf8(s: string, maxBytes: number): string {
  let bytes = 0
  let out = ''
  for (const cp of s) {
    const n = utf8Length(cp)
    if (bytes + n > maxBytes) break
    bytes += n
    out += cp
  }
  return out
}

// RFC 5987 attr-char is ALPHA / DIGIT / "!#$&+-.^_`|~"; encodeURIComponent
// leaves ' ( ) * unescaped as well, which attr-char does not allow.
const encodeRfc5987 = (s: string) =>
  encodeURIComponent(s).replace(/['()*]/g, (c) => '%' + c.charCodeAt(0).toString(16).toUpperCase())

/**
 * `attachment` with an RFC 6266 name: an ASCII `filename` every client
 * understands (no quote, backslash or percent sign, which some clients
 * decode) and, when the name is not plain ASCII, the exact UTF-8 name in
 * `filename*`.
 */
export function contentDisposition(name: string): string {
  const ascii = name
    .normalize('NFKD')
    .replace(/[\u0300-\u036f]/g, '')
    .replace(/[^\x20-\x7e]|["\\%]/g, '_')
  const plain = `attachment; filename="${ascii}"`
  return ascii === name ? plain : `${plain}; filename*=UTF-8''${encodeRfc5987(name.toWellFormed())}`
}

// type "/" subtype, RFC 9110 tokens; anything else is stored as octet-stream so
// that a header value can never carry CR/LF or a second header.
const MEDIA_TYPE = /^[a-z0-9!#$&^_.+-]{1,64}\/[a-z0-9!#$&^_.+-]{1,127}$/

/** The part's media type, lower-cased, parameters dropped; octet-stream when absent or odd. */
export function normalizeContentType(type: string): string {
  const essence = type.split(';', 1)[0]!.trim().toLowerCase()
  return MEDIA_TYPE.test(essence) ? essence : 'application/octet-stream'
}
