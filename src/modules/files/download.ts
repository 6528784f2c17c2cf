// The download response: the stored bytes streamed from disk (Bun sends a
// BunFile body without reading it into memory), with conditional requests
// (If-None-Match) and single byte ranges (Range, If-Range).

export interface Downloadable {
  size: number
  sha256: string
  contentType: string
  filename: string
}

export type ByteRange = { start: number; end: number }

/**
 * One `bytes=` range, clamped to the file; `unsatisfiable` for a range that
 * starts past the end; undefined when the header is to be ignored (absent,
 * not bytes, malformed, or several ranges: RFC 9110 lets a server answer those
 * with the whole file).
 */
export function parseRange(header: string | null, size: number): ByteRange | 'unsatisfiable' | undefined {
  if (!header) return undefined
  const m = /^bytes=(\d*)-(\d*)$/.exec(header.trim())
  if (!m) return undefined
  const [, first, last] = m as unknown as [string, string, string]
  if (first === '') {
    if (last === '') return undefined
    const n = Number(last)
    if (n === 0 || size === 0) return 'unsatisfiable'
    return { start: Math.max(0, size - n), end: size - 1 }
  }
  const start = Number(first)
  if (last !== '' && Number(last) < start) return undefined
  if (start >= size) return 'unsatisfiable'
  return { start, end: last === '' ? size - 1 : Math.min(Number(last), size - 1) }
}

/** If-None-Match uses the weak comparison: W/"x" matches "x". */
function noneMatch(header: string, etag: string): boolean {
  if (header.trim() === '*') return true
  return header.split(',').some((tag) => tag.trim().replace(/^W\//, '') === etag)
}

export function downloadResponse(request: Request, file: Downloadable, path: string, contentDisposition: string): Response {
  const etag = `"${file.sha256}"`
  const common: Record<string, string> = {
    etag,
    // Private: each download is authorised; no-cache: revalidate with the ETag.
    'cache-control': 'private, no-cache',
    'x-content-type-options': 'nosniff'
  }

  const inm = request.headers.get('if-none-match')
  if (inm !== null && noneMatch(inm, etag)) return new Response(null, { status: 304, headers: common })

  const headers: Record<string, string> = {
    ...common,
    'content-type': file.contentType,
    'content-disposition': contentDisposition,
    'accept-ranges': 'bytes',
    // Should a browser render it after all, it runs nothing and loads nothing.
    'content-security-policy': "default-src 'none'; sandbox"
  }

  const ifRange = request.headers.get('if-range')
  // If-Range with a date or another tag: the client's copy is stale, send it all.
  const range = ifRange === null || ifRange.trim() === etag ? parseRange(request.headers.get('range'), file.size) : undefined
  if (range === 'unsatisfiable') {
    return new Response(JSON.stringify({ detail: 'Range not satisfiable' }), {
      status: 416,
      headers: { ...common, 'content-type': 'application/json; charset=utf-8', 'content-range': `bytes */${file.size}` }
    })
  }
  const blob = Bun.file(path)
  if (range) {
    return new Response(blob.slice(range.start, range.end + 1), {
      status: 206,
      headers: { ...headers, 'content-range': `bytes ${range.start}-${range.end}/${file.size}`, 'content-length': String(range.end - range.start + 1) }
    })
  }
  return new Response(blob, { status: 200, headers: { ...headers, 'content-length': String(file.size) } })
}
