// Files controller: routes only. Disk and SQL live in service.ts, the
// multipart stream in multipart.ts, the download response in download.ts.
import { Elysia, t } from 'elysia'
import type { AuthPlugin } from '../auth/macro'
import { Forbidden } from '../../lib/errors'
import { limitParam, querySpec, skipParam } from '../../http/query'
import { MAX_SKIP } from '../../lib/page'
import { errorResponses } from '../../http/schemas'
import { downloadResponse } from './download'
import { contentDisposition } from './filename'
import { downloadResponses, FileIdParams, FileResponse, toFileResponse, TooLargeBody, NoSpace, uploadRequestBody } from './model'
import type { FileService } from './service'

const listQuery = querySpec({
  owner_id: { type: 'integer', min: 1, max: Number.MAX_SAFE_INTEGER, description: "Admins only: list this user's files instead of their own" },
  skip: skipParam(`Rows to skip (at most ${MAX_SKIP})`),
  limit: limitParam(100)
})

interface Deps {
  files: FileService
  auth: AuthPlugin
  maxUploadBytes: number
}

export function filesModule({ files, auth, maxUploadBytes }: Deps) {
  return new Elysia({ name: 'roster.files' })
    .use(auth)
    .post(
      '/upload',
      async ({ request, user, set }) => {
        const row = await files.upload(user.id, {
          contentType: request.headers.get('content-type'),
          contentLength: request.headers.get('content-length'),
          body: request.body
        })
        set.status = 201
        return toFileResponse(row)
      },
      {
        auth: 'files:write',
        // The body is streamed by the handler. A route-level parser that reads
        // nothing keeps Elysia's own multipart parser (which buffers the whole
        // body) from running; `parse: 'none'` answers 400 next to the global
        // JSON parser (http/body.ts).
        parse: () => ({ streamed: true }),
        response: { 201: FileResponse, 413: TooLargeBody, 507: NoSpace, ...errorResponses(400, 401, 422) },
        detail: {
          tags: ['files'],
          summary: 'Upload a file (multipart, field `file`)',
          description:
            `Streamed to disk, never held in memory. At most MAX_UPLOAD_BYTES (now ${maxUploadBytes} bytes): over it the answer is 413 as soon as the limit is crossed, ` +
            'and a Content-Length above it is refused unread. With UPLOAD_QUOTA_BYTES, the caller\'s files together may not exceed it (413 "Upload quota exceeded"); ' +
            'a user keeps at most UPLOAD_MAX_FILES files (default 10,000; 413 "Too many files: at most N per user"). ' +
            '201 means the bytes and the row are on disk. The file name is kept as sanitised metadata; the file is stored under a generated name. ' +
            'No `file` part (or not multipart at all): 422 body.file. Broken multipart: 400. A refused or interrupted upload leaves nothing behind.',
          requestBody: uploadRequestBody as never
        }
      }
    )
    .get(
      '/files',
      async ({ query, actor }) => {
        const q = listQuery.parse(query)
        const owner = q.owner_id ?? actor.id
        if (owner !== actor.id && actor.role !== 'admin') throw Forbidden()
        return (await files.list(owner, q.skip, q.limit)).map(toFileResponse)
      },
      {
        auth: 'files:read',
        response: { 200: t.Array(FileResponse), ...errorResponses(401, 403, 422) },
        detail: {
          tags: ['files'],
          summary: "The caller's files, ordered by id",
          description: 'Admins may pass owner_id to list another user\'s files; anyone else gets 403 for an owner_id other than their own.',
          parameters: listQuery.parameters
        }
      }
    )
    .get(
      '/files/:file_id',
      async ({ params, actor, request, set }) => {
        const { row, path } = await files.open(params.file_id, actor)
        const res = downloadResponse(request, row, path, contentDisposition(row.filename))
        // For the request log: the Response carries its own status.
        set.status = res.status
        return res
      },
      {
        auth: 'files:read',
        params: FileIdParams,
        detail: {
          tags: ['files'],
          summary: 'Download a file (owner or admin)',
          description:
            'Streamed with the stored Content-Type, Content-Length, `Content-Disposition: attachment` (RFC 6266 name), ETag (the sha256), ' +
            '`X-Content-Type-Options: nosniff`. `Range: bytes=...` (one range) gives 206; If-None-Match gives 304; If-Range is honoured. ' +
            'Anyone but the owner or an admin gets 404.',
          responses: downloadResponses as never
        }
      }
    )
    .delete(
      '/files/:file_id',
      async ({ params, actor, set }) => {
        await files.delete(params.file_id, actor)
        set.status = 204
      },
      {
        auth: 'files:write',
        params: FileIdParams,
        response: { 204: t.Void({ description: 'Deleted, row and bytes' }), ...errorResponses(401, 404, 422) },
        detail: { tags: ['files'], summary: 'Delete a file (owner or admin)' }
      }
    )
}
