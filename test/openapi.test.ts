// The OpenAPI document as a generated client or a linter reads it.
import { describe, expect, test } from 'bun:test'
import { lint, liveDocument, type Doc } from './openapi/document'

/** Warnings docs/api.md explains; anything else fails the suite. */
const EXPLAINED_WARNINGS = [
  'info-license #/info',
  'operation-4xx-response #/paths/~1health/get/responses',
  'operation-4xx-response #/paths/~1ready/get/responses'
]

function operations(doc: Doc): [string, string, Doc][] {
  const out: [string, string, Doc][] = []
  for (const [path, ops] of Object.entries(doc.paths as Doc)) for (const [method, op] of Object.entries(ops as Doc)) out.push([method, path, op])
  return out
}

describe('OpenAPI document', () => {
  test('Redocly recommended lint: no error; only the warnings docs/api.md explains', async () => {
    const { problems, output } = await lint(await liveDocument())
    const errors = problems.filter((p) => p.severity === 'error')
    if (errors.length) console.log(output)
    expect(errors).toEqual([])
    expect(problems.map((p) => `${p.ruleId} ${p.pointer}`).sort()).toEqual([...EXPLAINED_WARNINGS].sort())
  })

  test('one security scheme, used by every protected operation; public ones say security: []', async () => {
    const doc = await liveDocument()
    expect(Object.keys(doc.components.securitySchemes)).toEqual(['OAuth2PasswordBearer'])
    expect(doc.security).toBeUndefined()
    const used = new Set<string>()
    for (const [method, path, op] of operations(doc)) {
      expect(`${method} ${path} ${Array.isArray(op.security)}`).toBe(`${method} ${path} true`)
      for (const req of op.security) for (const name of Object.keys(req)) used.add(name)
      const protectedOp = op.security.length > 0 && !op.security.some((r: Doc) => Object.keys(r).length === 0)
      if (protectedOp) {
        expect(op.responses['401']?.headers?.['WWW-Authenticate']).toBeDefined()
      }
    }
    expect([...used]).toEqual(['OAuth2PasswordBearer'])
    expect(doc.paths['/users/me'].get.security).toEqual([{ OAuth2PasswordBearer: [] }])
    expect(doc.paths['/health'].get.security).toEqual([])
    expect(doc.paths['/auth/login'].post.security).toEqual([])
    // Signup is open; an admin's token makes it an admin creation.
    expect(doc.paths['/users'].post.security).toEqual([{}, { OAuth2PasswordBearer: [] }])
  })

  test('path ids are plain integers; 204 and 304 have no content; every response names X-Request-ID', async () => {
    const doc = await liveDocument()
    const text = JSON.stringify(doc)
    expect(text).not.toContain('"type":"void"')
    expect(text).not.toContain('"format":"integer"')
    for (const [method, path, op] of operations(doc)) {
      for (const p of op.parameters ?? []) {
        if (p.in === 'path' && p.name.endsWith('_id') && p.name !== 'session_id') expect(`${method} ${path} ${p.name} ${p.schema.type}`).toBe(`${method} ${path} ${p.name} integer`)
      }
      for (const [status, r] of Object.entries(op.responses as Doc)) {
        if (status === '204' || status === '304') expect(r.content).toBeUndefined()
        expect(r.headers['X-Request-ID']).toEqual({ $ref: '#/components/headers/X-Request-ID' })
      }
    }
  })

  test('shared statuses follow what each operation declares', async () => {
    const doc = await liveDocument()
    for (const [method, path, op] of operations(doc)) {
      const codes = Object.keys(op.responses)
      const has = (c: string) => expect(`${method} ${path} ${c} ${codes.includes(c)}`).toBe(`${method} ${path} ${c} true`)
      has('500')
      if (op.requestBody?.content?.['application/json']) ['413', '415', '422'].forEach(has)
      if (op.parameters?.length) has('422')
      if (op.security.length) has('401')
      if (!['/health', '/ready', '/metrics'].includes(path)) {
        has('429')
        expect(op.responses['429'].headers['Retry-After']).toBeDefined()
        expect(op.responses[codes[0]!].headers['RateLimit-Remaining']).toBeDefined()
      }
      for (const c of codes.filter((c) => Number(c) >= 400)) {
        expect(Object.keys(op.responses[c].content)).toEqual(['application/json'])
      }
    }
    for (const [path, method] of [['/admin/emails', 'get'], ['/admin/emails/{email_id}/retry', 'post'], ['/metrics', 'get']] as const) {
      expect(doc.paths[path][method].responses['403']).toBeDefined()
    }
    expect(doc.paths['/auth/login'].post.responses['429'].description).toContain('own limit of 10')
  })

  test('downloads document the stored type, ranges and revalidation', async () => {
    const doc = await liveDocument()
    const get = doc.paths['/files/{file_id}'].get
    expect(Object.keys(get.responses['200'].content)).toEqual(['*/*'])
    expect(Object.keys(get.responses['206'].content)).toEqual(['*/*'])
    expect(get.responses['304'].content).toBeUndefined()
    expect(get.responses['416'].headers['Content-Range']).toBeDefined()
    expect(Object.keys(doc.paths['/metrics'].get.responses['200'].content)).toEqual(['text/plain'])
  })
})
