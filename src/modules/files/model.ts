// The files feature's schemas: the JSON description of a stored file (and the
// one mapping from a row to it), the
// path parameter, and the OpenAPI pieces for the bodies Elysia does not parse
// (the multipart upload) or does not produce (the streamed download).
import { t } from 'elysia'
import { Type, type Static } from '@sinclair/typebox'
import type { FileRow } from '../../db/schema'
import { MAX_FILENAME_BYTES } from './filename'

export const FileResponse = t.Object(
  {
    id: Type.Integer(),
    owner_id: Type.Integer(),
    filename: t.String({ description: `The client's file name, sanitised (no path, control characters or "..", at most ${MAX_FILENAME_BYTES} UTF-8 bytes)` }),
    content_type: t.String({ description: "The part's media type as sent (application/octet-stream when absent or malformed)" }),
    size: Type.Integer({ description: 'Bytes' }),
    sha256: t.String({ description: 'Hex SHA-256 of the content, computed while it was received; also the ETag' }),
    created_at: t.String({ format: 'date-time' })
  },
  { additionalProperties: false }
)
export type FileResponse = Static<typeof FileResponse>

export function toFileResponse(f: FileRow): FileResponse {
  return {
    id: f.id,
    owner_id: f.ownerId,
    filename: f.filename,
    content_type: f.contentType,
    size: f.size,
    sha256: f.sha256,
    created_at: f.createdAt
  }
}

// Path values are strings on the wire, so Elysia's coercing t.Integer is right here.
export const FileIdParams = t.Object({
  file_id: t.Integer({ description: 'File id' })
})

export const TooLargeBody = t.Object(
  { detail: t.String() },
  { description: '"File too large" over MAX_UPLOAD_BYTES, "Upload quota exceeded" over UPLOAD_QUOTA_BYTES' }
)

export const NoSpace = t.Object({ detail: t.String() }, { description: '"Insufficient storage": the disk filled up during the upload; nothing is kept' })

/** The multipart body, documented by hand: the route reads the raw stream itself. */
export const uploadRequestBody = {
  required: true,
  description: 'multipart/form-data with one file part named `file`; other parts are ignored.',
  content: {
    'multipart/form-data': {
      schema: {
        type: 'object',
        required: ['file'],
        properties: { file: { type: 'string', format: 'binary' } }
      }
    }
  }
} as const

const header = (description: string) => ({ description, schema: { type: 'string' } })
const fileHeaders = {
  ETag: header('"<sha256>"'),
  'Content-Disposition': header("attachment; filename=\"...\"; filename*=UTF-8''..."),
  'X-Content-Type-Options': header('nosniff'),
  'Accept-Ranges': header('bytes')
}
const errorJson = (description: string) => ({
  description,
  content: { 'application/json': { schema: { type: 'object', required: ['detail'], properties: { detail: { type: 'string' } } } } }
})

/** The download's responses, written out: the body is the file's bytes, not JSON. */
export const downloadResponses = {
  200: {
    description: 'The file, streamed, with the Content-Type it was uploaded with',
    headers: { ...fileHeaders, 'Content-Length': header('Bytes') },
    content: { '*/*': { schema: { type: 'string', format: 'binary' } } }
  },
  206: {
    description: 'One byte range (`Range: bytes=a-b`, `a-` or `-n`; with `If-Range`, only while the ETag matches)',
    headers: { ...fileHeaders, 'Content-Range': header('bytes a-b/size'), 'Content-Length': header('Bytes') },
    content: { '*/*': { schema: { type: 'string', format: 'binary' } } }
  },
  304: { description: 'If-None-Match matched the ETag', headers: { ETag: header('"<sha256>"') } },
  401: errorJson('Missing, invalid, expired or revoked token'),
  404: errorJson('"File not found": no such file, or not yours'),
  416: { ...errorJson('"Range not satisfiable"'), headers: { 'Content-Range': header('bytes */size') } },
  422: {
    description: 'file_id is not an integer',
    content: {
      'application/json': {
        schema: {
          type: 'object',
          properties: {
            detail: {
              type: 'array',
              items: { type: 'object', properties: { field: { type: 'string' }, message: { type: 'string' }, type: { type: 'string' } } }
            }
          }
        }
      }
    }
  }
} as const
