// Streams one part of a multipart/form-data body to a temporary file with
// bounded memory, hashing it on the way.
//
// Why not `request.formData()` or Elysia's body parser: both buffer the whole
// body (a 300 MB upload cost ~730 MB RSS). Here the raw body stream is pulled
// chunk by chunk into @fastify/busboy and the file part is written through a Bun
// FileSink, with back-pressure all the way: disk -> part stream -> busboy ->
// body reader. Nothing waits in memory beyond a few high-water marks.
//
// Why @fastify/busboy: of the maintained parsers it is the one that streams a
// part's content; @remix-run/multipart-parser and @mjackson/multipart-parser
// collect each part in memory before yielding it.
import { createHash, randomBytes } from 'node:crypto'
import { open, unlink } from 'node:fs/promises'
import { fsyncPathAsync } from '../../lib/fsync'
import { join } from 'node:path'
import { Busboy, type BusboyFileStream, type BusboyInstance } from '@fastify/busboy'

// Failures the caller maps to a status; the class says which, the message is fixed.
const failure = (name: string, message: string) =>
  class extends Error {
    constructor() {
      super(message)
      this.name = name
    }
  }

/** The file part crossed `maxBytes`, or the body crossed `maxBytes + overheadBytes`. */
export class PartTooLargeError extends failure('PartTooLargeError', 'multipart part too large') {}

/** Not multipart/form-data, or no part with the wanted field name. */
export class NoFilePartError extends failure('NoFilePartError', 'no file part') {}

/** A multipart content type without a usable boundary, or a body that breaks the grammar. */
export class MalformedMultipartError extends failure('MalformedMultipartError', 'malformed multipart body') {}

/** The body broke one of the parser's limits (part count, field size); the message names the limit. */
export class MultipartLimitError extends Error {
  constructor(message: string) {
    super(message)
    this.name = 'MultipartLimitError'
  }
}

/** The body stream failed: the client went away mid-body. */
export class BodyAbortedError extends failure('BodyAbortedError', 'request body aborted') {}

export interface MultipartInput {
  /** The request's Content-Type header. */
  contentType: string | null
  /** The request's Content-Length header, when the client sent one. */
  contentLength: string | null
  body: ReadableStream<Uint8Array> | null
}

export interface StreamPartOptions {
  /** Folder for the temporary file; on the same file system as the final place so rename is atomic. */
  tmpDir: string
  /** Largest accepted part, inclusive. */
  maxBytes: number
  fieldName?: string
  /** Framing and small fields tolerated on top of maxBytes (early Content-Length check, cap on bytes read). */
  overheadBytes: number
  maxParts?: number
  maxFieldBytes?: number
}

export interface StreamedPart {
  /** As the client sent it: sanitise before use. */
  filename: string
  /** As the client sent it (busboy's default is text/plain, per RFC 7578). */
  contentType: string
  size: number
  sha256: string
  /** Written and fsynced; the caller owns it now (rename or unlink). */
  tmpPath: string
}

export const TMP_PREFIX = '.upload-'
export const TMP_SUFFIX = '.part'

/** Flush the FileSink every 256 KiB: bounds its buffer. */
const SINK_FLUSH_BYTES = 256 * 1024

/**
 * Streams the first part named `fieldName` to a new file in `tmpDir`. Other
 * parts are drained and ignored (they count towards the body cap). On any
 * failure the temporary file is gone before the promise rejects.
 */
export async function streamFilePart(input: MultipartInput, opts: StreamPartOptions): Promise<StreamedPart> {
  const fieldName = opts.fieldName ?? 'file'
  const maxBytes = opts.maxBytes
  const maxBodyBytes = maxBytes + opts.overheadBytes

  const contentType = input.contentType ?? ''
  if (!/^multipart\/form-data\s*(;|$)/i.test(contentType)) throw new NoFilePartError()

  // Refuse before reading a byte when the client announces too much.
  if (input.contentLength !== null && /^\d+$/.test(input.contentLength) && Number(input.contentLength) > maxBodyBytes) {
    throw new PartTooLargeError()
  }
  if (input.body === null) throw new NoFilePartError()

  const maxParts = opts.maxParts ?? 20
  const maxFieldBytes = opts.maxFieldBytes ?? 16 * 1024
  let bb: BusboyInstance
  try {
    bb = Busboy({
      headers: { 'content-type': contentType },
      // Explicit buffer sizes (Node's defaults moved between versions): at most
      // this much waits in busboy and in the part stream.
      highWaterMark: 64 * 1024,
      fileHwm: 64 * 1024,
      // The raw client name comes through; it is sanitised by the caller.
      preservePath: true,
      limits: {
        parts: maxParts,
        fieldSize: maxFieldBytes,
        headerPairs: 50,
        headerSize: 16 * 1024,
        // Busboy never hands over more than this; our own counter decides.
        fileSize: maxBytes + 1
      }
    })
  } catch {
    // Busboy throws synchronously on a missing boundary.
    throw new MalformedMultipartError()
  }

  const reader = input.body.getReader()

  // The first failure wins and wakes everything up.
  const failure = new AbortController()
  const fail = (err: unknown): void => {
    if (!failure.signal.aborted) failure.abort(err)
  }
  const failed = new Promise<never>((_, reject) => {
    failure.signal.addEventListener('abort', () => reject(failure.signal.reason), { once: true })
  })
  failed.catch(() => {})

  const state: WriterState = {}
  let fileTask: Promise<{ size: number; sha256: string; tmpPath: string }> | undefined
  let filename = ''
  let partType = ''

  bb.on('file', (name, stream, fname, _encoding, mime) => {
    // Busboy re-emits parser errors on the active part stream: without a
    // listener that would be an uncaught exception. The writer sees it anyway.
    stream.on('error', () => {})
    if (name !== fieldName || fileTask !== undefined || failure.signal.aborted) {
      stream.resume()
      return
    }
    filename = fname
    partType = mime
    state.stream = stream
    // Busboy cuts the part at fileSize and silently discards the rest of it,
    // so waiting for the writer to notice would let the pump read the whole
    // remaining body: stop as soon as the limit is crossed.
    stream.once('limit', () => fail(new PartTooLargeError()))
    fileTask = writePart(stream, opts.tmpDir, maxBytes, state)
    fileTask.catch(fail)
  })
  bb.on('error', () => fail(new MalformedMultipartError()))
  // Busboy skips parts over the count and cuts fields at the size, silently:
  // refuse instead, naming the limit, rather than answer "no file part".
  bb.on('partsLimit', () => fail(new MultipartLimitError(`Too many parts in the multipart body: at most ${maxParts}`)))
  bb.on('field', (_name: string, _value: string, _nameTruncated: boolean, valueTruncated: boolean) => {
    if (valueTruncated) fail(new MultipartLimitError(`A form field in the multipart body is over ${maxFieldBytes} bytes`))
  })
  const finished = new Promise<void>((resolve) => bb.once('finish', () => resolve()))

  // Pull from the web stream, push into busboy, honouring its back-pressure.
  const pump = async (): Promise<void> => {
    let total = 0
    let checked = 0
    for (;;) {
      let chunk: Awaited<ReturnType<typeof reader.read>>
      try {
        chunk = await reader.read()
      } catch {
        throw new BodyAbortedError()
      }
      if (failure.signal.aborted) return
      if (chunk.done) break
      total += chunk.value.byteLength
      if (total > maxBodyBytes) throw new PartTooLargeError()
      if (total - checked >= GC_CHECK_BYTES) {
        checked = total
        releaseConsumedChunks()
      }
      if (!bb.write(chunk.value)) await waitDrain(bb, failure.signal)
    }
    bb.end()
  }

  try {
    await Promise.race([pump().then(() => finished), failed])
    if (fileTask === undefined) throw new NoFilePartError()
    const written = await Promise.race([fileTask, failed])
    return { filename, contentType: partType, ...written }
  } catch (err) {
    fail(err)
    const reason: unknown = failure.signal.reason
    // Stop reading the body (the rest is never read), the parser and the
    // writer, then delete whatever was written.
    reader.cancel().catch(() => {})
    state.stream?.destroy()
    bb.destroy()
    if (fileTask !== undefined) await fileTask.catch(() => {})
    if (state.sink !== undefined) {
      try {
        await state.sink.end()
      } catch {
        // the file is deleted next anyway
      }
    }
    if (state.tmpPath !== undefined) await unlink(state.tmpPath).catch(() => {})
    throw reason
  } finally {
    try {
      reader.releaseLock()
    } catch {
      // already released, or the stream errored
    }
  }
}

interface WriterState {
  tmpPath?: string
  sink?: ReturnType<ReturnType<typeof Bun.file>['writer']>
  stream?: BusboyFileStream
}

async function writePart(
  stream: BusboyFileStream,
  dir: string,
  maxBytes: number,
  state: WriterState
): Promise<{ size: number; sha256: string; tmpPath: string }> {
  // 'wx': never clobbers an existing file or follows a planted symlink; 0600:
  // the content is untrusted.
  const tmpPath = join(dir, `${TMP_PREFIX}${randomBytes(16).toString('hex')}${TMP_SUFFIX}`)
  state.tmpPath = tmpPath
  await (await open(tmpPath, 'wx', 0o600)).close()

  // Bun's FileSink rather than FileHandle.write(): awaiting a FileHandle write
  // per chunk grew RSS by 50-60 MiB on a 200 MiB chunked upload; the sink,
  // flushed every 256 KiB, stayed near Bun's own floor.
  const sink = Bun.file(tmpPath).writer({ highWaterMark: SINK_FLUSH_BYTES })
  state.sink = sink
  const hash = createHash('sha256')
  let size = 0
  let pending = 0
  // One chunk at a time: while a flush is awaited the part stream is not read,
  // busboy pauses and the pump stops pulling from the socket.
  for await (const chunk of stream as AsyncIterable<Buffer>) {
    size += chunk.byteLength
    if (size > maxBytes) throw new PartTooLargeError()
    hash.update(chunk)
    await sink.write(chunk)
    pending += chunk.byteLength
    if (pending >= SINK_FLUSH_BYTES) {
      await sink.flush()
      pending = 0
    }
  }
  // Busboy ends (rather than errors) a stream cut at its fileSize limit.
  if (stream.truncated) throw new PartTooLargeError()
  await sink.end()
  state.sink = undefined
  // On disk before the caller renames it and records it. Linux's fsync flushes
  // the inode's data whichever descriptor wrote it.
  await fsyncPathAsync(tmpPath)
  return { size, sha256: hash.digest('hex'), tmpPath }
}

// Body chunks are ArrayBuffers outside the JS heap. JSC's collector is driven
// by heap growth, so consumed chunks can pile up by tens of MiB during a large
// upload before it runs (test/bench/upload-rss.bench.ts measures it). A full
// collection takes tens of milliseconds, so it runs only when that garbage is
// actually there, and at most ten times a second for the whole process,
// however many uploads are running.
const GC_CHECK_BYTES = 4 * 1024 * 1024
const GC_ARRAY_BUFFER_BYTES = 16 * 1024 * 1024
const GC_MIN_INTERVAL_MS = 100
let lastFullGc = 0

function releaseConsumedChunks(): void {
  if (process.memoryUsage().arrayBuffers < GC_ARRAY_BUFFER_BYTES) return
  const now = performance.now()
  if (now - lastFullGc < GC_MIN_INTERVAL_MS) return
  Bun.gc(true)
  lastFullGc = performance.now()
}

function waitDrain(bb: BusboyInstance, signal: AbortSignal): Promise<void> {
  return new Promise<void>((resolve) => {
    if (signal.aborted) return resolve()
    const done = (): void => {
      bb.off('drain', done)
      signal.removeEventListener('abort', done)
      resolve()
    }
    bb.on('drain', done)
    signal.addEventListener('abort', done, { once: true })
  })
}
