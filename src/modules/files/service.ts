// Files: rows in the database, bytes under DATA_DIR/uploads. No HTTP types
// here; failures are AppErrors mapped to {"detail": ...} by the error plugin.
//
// Order of writes, so that a crash at any point leaves nothing half-done that
// start-up cannot repair: temporary file -> fsync -> rename into place -> fsync
// the folder -> insert the row. Deletion: delete the row, then the file.
// sweepUploads() removes temporary files, files without a row and rows without
// a file.
import { randomBytes } from 'node:crypto'
import { mkdirSync, readdirSync, rmSync, statSync, unlinkSync } from 'node:fs'
import { rename, unlink } from 'node:fs/promises'
import { join } from 'node:path'
import { and, asc, eq, inArray, sql } from 'drizzle-orm'
import { constraintError, type Data, type Tx } from '../../db/data'
import type { FileRow } from '../../db/schema'
import { AppError, NotFound, RequestValidationError, Unauthorized } from '../../lib/errors'
import { fsyncPath, fsyncPathAsync } from '../../lib/fsync'
import type { Logger } from '../../lib/log'
import type { Actor } from '../../lib/actor'
import { normalizeContentType, sanitizeFilename } from './filename'
import {
  BodyAbortedError,
  MalformedMultipartError,
  MultipartLimitError,
  NoFilePartError,
  PartTooLargeError,
  streamFilePart,
  type MultipartInput
} from './multipart'

const MiB = 1024 * 1024

/** Multipart framing and small fields tolerated on top of MAX_UPLOAD_BYTES. */
export const UPLOAD_OVERHEAD_BYTES = MiB

export const UPLOADS_DIR = 'uploads'
const TMP_DIR = '.tmp'
/** Generated storage names: 128 random bits, hex. Nothing else in the folder is ours. */
const STORAGE_NAME = /^[0-9a-f]{32}$/

export interface FileServiceOptions {
  /** UPLOAD_DIR: where the bytes live (DATA_DIR/uploads unless set). */
  uploadDir: string
  maxUploadBytes: number
  /** 0: no quota. */
  uploadQuotaBytes: number
  /** Files one user may keep; 0: no limit. */
  uploadMaxFiles: number
  logger?: Logger
}

const fileTooLarge = () => new AppError(413, 'File too large')
const quotaExceeded = () => new AppError(413, 'Upload quota exceeded')
const tooManyFiles = (max: number) => new AppError(413, `Too many files: at most ${max} per user`)

function isCode(err: unknown, code: string): boolean {
  return (err as { code?: unknown } | null)?.code === code
}

function removeStored(dir: string, names: string[], logger?: Logger): void {
  let failed = 0
  for (const name of names) {
    try {
      unlinkSync(join(dir, name))
    } catch (err) {
      // Gone already is fine; anything else is left to the next start-up sweep.
      if (!isCode(err, 'ENOENT')) failed++
    }
  }
  if (failed) logger?.warn('stored files not removed', { count: failed })
  if (names.length > failed) {
    try {
      fsyncPath(dir)
    } catch {
      // not durable yet; the sweep repairs a file that comes back
    }
  }
}

/** How many unlinks a background removal keeps in flight. */
const REMOVE_BATCH = 32

/**
 * The same as removeStored, off the request path: started after the current
 * request has been answered, a batch of asynchronous unlinks at a time (on the
 * thread pool), so a user with thousands of files blocks nobody. A crash
 * midway leaves files without rows, which the start-up sweep removes.
 */
async function removeStoredLater(dir: string, names: string[], logger?: Logger): Promise<void> {
  await new Promise((resolve) => setImmediate(resolve))
  let failed = 0
  for (let i = 0; i < names.length; i += REMOVE_BATCH) {
    const results = await Promise.allSettled(names.slice(i, i + REMOVE_BATCH).map((n) => unlink(join(dir, n))))
    for (const r of results) if (r.status === 'rejected' && !isCode(r.reason, 'ENOENT')) failed++
  }
  if (failed) logger?.warn('stored files not removed', { count: failed })
  if (names.length > failed) await fsyncPathAsync(dir).catch(() => {})
}

export interface SweepResult {
  /** Temporary files of uploads cut short by a crash or restart. */
  tmpFiles: number
  /** Rows whose file is missing, deleted. */
  missingRows: number
  /** Stored files without a row (crash between rename and insert, or between delete and unlink), deleted. */
  orphanFiles: number
}

/**
 * Start-up repair; run it before serving (it assumes no upload is in flight).
 * When the uploads folder is missing altogether while rows exist (a volume
 * that is not mounted, say), rows are kept and a warning is logged instead of
 * emptying the table.
 */
export async function sweepUploads(
  data: Data,
  dir: string,
  logger?: Logger,
  /**
   * Only what is older than this is touched. 0 for one instance at start-up
   * (nothing is in flight); several instances sharing the folder pass a
   * margin, so one never removes another's upload in progress or its row.
   */
  minAgeMs = 0
): Promise<SweepResult> {
  const { files } = data.t
  const tmp = join(dir, TMP_DIR)
  const cutoff = Date.now() - minAgeMs
  const old = (path: string) => {
    if (minAgeMs === 0) return true
    try {
      return statSync(path).mtimeMs < cutoff
    } catch {
      return false
    }
  }
  const result: SweepResult = { tmpFiles: 0, missingRows: 0, orphanFiles: 0 }
  let entries: string[]
  try {
    entries = readdirSync(dir)
  } catch (err) {
    if (!isCode(err, 'ENOENT')) throw err
    const [row] = await data.db.select({ n: sql<number>`count(*)`.mapWith(Number) }).from(files)
    const rows = row?.n ?? 0
    if (rows > 0) logger?.warn('uploads folder missing; file rows kept', { rows })
    mkdirSync(tmp, { recursive: true, mode: 0o700 })
    return result
  }

  mkdirSync(tmp, { recursive: true, mode: 0o700 })
  for (const name of readdirSync(tmp)) {
    if (!old(join(tmp, name))) continue
    rmSync(join(tmp, name), { recursive: true, force: true })
    result.tmpFiles++
  }

  const onDisk = new Set(entries.filter((e) => STORAGE_NAME.test(e)))
  const missing: number[] = []
  for (const row of await data.db.select({ id: files.id, storageName: files.storageName, createdAt: files.createdAt }).from(files)) {
    if (onDisk.has(row.storageName)) onDisk.delete(row.storageName)
    else if (minAgeMs === 0 || Date.parse(row.createdAt) < cutoff) missing.push(row.id)
  }
  for (const name of [...onDisk]) if (!old(join(dir, name))) onDisk.delete(name)
  if (missing.length) {
    await data.transaction(async (tx) => {
      for (let i = 0; i < missing.length; i += 500) await tx.delete(files).where(inArray(files.id, missing.slice(i, i + 500)))
    })
  }
  result.missingRows = missing.length
  removeStored(dir, [...onDisk], logger)
  result.orphanFiles = onDisk.size
  if (result.tmpFiles || result.missingRows || result.orphanFiles) logger?.info('uploads swept', { ...result })
  return result
}

export function createFileService(data: Data, opts: FileServiceOptions) {
  const { db, t } = data
  const { files } = t
  const dir = opts.uploadDir
  const tmpDir = join(dir, TMP_DIR)
  mkdirSync(tmpDir, { recursive: true, mode: 0o700 })
  const { maxUploadBytes, uploadQuotaBytes, uploadMaxFiles, logger } = opts
  // Background removals of deleted users' files, chained (tests and shutdown may wait for them).
  let removals: Promise<void> = Promise.resolve()

  const usedBytes = async (q: Tx, owner: number): Promise<number> => {
    const [row] = await q
      .select({ n: sql<number>`coalesce(sum(${files.size}), 0)`.mapWith(Number) })
      .from(files)
      .where(eq(files.ownerId, owner))
    return row?.n ?? 0
  }
  const fileCount = async (q: Tx, owner: number): Promise<number> => {
    const [row] = await q.select({ n: sql<number>`count(*)`.mapWith(Number) }).from(files).where(eq(files.ownerId, owner))
    return row?.n ?? 0
  }

  /** Owner or admin; anyone else is told it does not exist. */
  async function getVisible(id: number, actor: Actor): Promise<FileRow> {
    const [row] = await db.select().from(files).where(eq(files.id, id))
    if (!row || (row.ownerId !== actor.id && actor.role !== 'admin')) throw NotFound('File not found')
    return row
  }

  async function receive(input: MultipartInput, limit: number, quotaBound: boolean) {
    // Over MAX_UPLOAD_BYTES by the client's own account: refuse unread.
    const declared = input.contentLength !== null && /^\d+$/.test(input.contentLength) ? Number(input.contentLength) : undefined
    if (declared !== undefined && declared > maxUploadBytes + UPLOAD_OVERHEAD_BYTES) throw fileTooLarge()
    try {
      return await streamFilePart(input, { tmpDir, maxBytes: limit, overheadBytes: UPLOAD_OVERHEAD_BYTES })
    } catch (err) {
      if (err instanceof PartTooLargeError) throw quotaBound ? quotaExceeded() : fileTooLarge()
      if (err instanceof NoFilePartError) throw new RequestValidationError([{ field: 'body.file', message: 'Field required', type: 'missing' }])
      if (err instanceof MalformedMultipartError) throw new AppError(400, 'Malformed multipart body')
      if (err instanceof MultipartLimitError) throw new AppError(413, err.message)
      if (err instanceof BodyAbortedError) {
        logger?.info('upload aborted', { reason: 'client_gone' })
        throw new AppError(400, 'Upload aborted')
      }
      if (isCode(err, 'ENOSPC') || isCode(err, 'EDQUOT')) {
        logger?.error('upload failed', { code: (err as { code: string }).code })
        throw new AppError(507, 'Insufficient storage')
      }
      throw err
    }
  }

  return {
    /**
     * Streams the `file` part to disk and records it. Resolves once the bytes
     * and the row are durable; on any failure neither is left behind.
     */
    async upload(ownerId: number, input: MultipartInput): Promise<FileRow> {
      // Refused before a byte is read; checked again with the insert.
      if (uploadMaxFiles > 0 && (await fileCount(db, ownerId)) >= uploadMaxFiles) throw tooManyFiles(uploadMaxFiles)
      let limit = maxUploadBytes
      let quotaBound = false
      if (uploadQuotaBytes > 0) {
        const remaining = Math.max(0, uploadQuotaBytes - (await usedBytes(db, ownerId)))
        if (remaining < limit) {
          limit = remaining
          quotaBound = true
        }
      }
      const part = await receive(input, limit, quotaBound)

      const storageName = randomBytes(16).toString('hex')
      const finalPath = join(dir, storageName)
      try {
        await rename(part.tmpPath, finalPath)
      } catch (err) {
        await unlink(part.tmpPath).catch(() => {})
        throw err
      }
      try {
        await fsyncPathAsync(dir)
        return await data.transaction(async (tx) => {
          // Again inside the transaction, under the owner's lock: other uploads
          // (on any instance) may have finished meanwhile.
          if (uploadQuotaBytes > 0 || uploadMaxFiles > 0) await data.lock(tx, `quota:${ownerId}`)
          if (uploadMaxFiles > 0 && (await fileCount(tx, ownerId)) >= uploadMaxFiles) throw tooManyFiles(uploadMaxFiles)
          if (uploadQuotaBytes > 0 && (await usedBytes(tx, ownerId)) + part.size > uploadQuotaBytes) throw quotaExceeded()
          const [row] = await tx
            .insert(files)
            .values({
              ownerId,
              storageName,
              filename: sanitizeFilename(part.filename),
              contentType: normalizeContentType(part.contentType),
              size: part.size,
              sha256: part.sha256,
              createdAt: new Date().toISOString()
            })
            .returning()
          return row!
        })
      } catch (err) {
        await unlink(finalPath).catch(() => {})
        // The owner was deleted while the upload streamed.
        if (constraintError(err) === 'foreign_key') throw Unauthorized()
        throw err
      }
    },

    list(ownerId: number, skip: number, limit: number): Promise<FileRow[]> {
      return db.select().from(files).where(eq(files.ownerId, ownerId)).orderBy(asc(files.id)).limit(limit).offset(skip)
    },

    /** The row and the path of its bytes, for a download. */
    async open(id: number, actor: Actor): Promise<{ row: FileRow; path: string }> {
      const row = await getVisible(id, actor)
      const path = join(dir, row.storageName)
      try {
        statSync(path)
      } catch {
        logger?.warn('stored file missing', { file_id: row.id })
        throw NotFound('File not found')
      }
      return { row, path }
    },

    async delete(id: number, actor: Actor): Promise<void> {
      const row = await getVisible(id, actor)
      await data.transaction((tx) => tx.delete(files).where(and(eq(files.id, row.id), eq(files.storageName, row.storageName))).then(() => undefined))
      removeStored(dir, [row.storageName], logger)
    },

    /**
     * UserHooks.deleting: the rows go with the user by FK cascade; their files
     * are removed in the background once the deletion has committed (see
     * removeStoredLater), not while the request waits.
     */
    async onUserDeleting(tx: Tx, userId: number): Promise<(() => void) | void> {
      const names = (await tx.select({ name: files.storageName }).from(files).where(eq(files.ownerId, userId))).map((r) => r.name)
      if (names.length) {
        return () => {
          removals = removals.then(() => removeStoredLater(dir, names, logger))
        }
      }
    },

    /** Resolves once every background removal started so far has finished. */
    removalsSettled(): Promise<void> {
      return removals
    }
  }
}

export type FileService = ReturnType<typeof createFileService>
