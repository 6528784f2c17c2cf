// The typed client of docs/api.md: types generated from the live document by
// openapi-typescript, the example compiled by a strict tsc, then run against a
// listening Roster.
import { describe, expect, test } from 'bun:test'
import { copyFileSync, readFileSync, symlinkSync } from 'node:fs'
import { join } from 'node:path'
import { cleanups } from './cleanup'
import { makeApp, tempDir } from './helpers'

const ROOT = join(import.meta.dir, '..')
const EXAMPLE = join(ROOT, 'docs/examples/client.ts')

async function run(cmd: string[], cwd = ROOT) {
  const p = Bun.spawn(cmd, { cwd, stdout: 'pipe', stderr: 'pipe' })
  const [out, err] = [await new Response(p.stdout).text(), await new Response(p.stderr).text()]
  return { code: await p.exited, out: out + err }
}

describe('typed client (openapi-typescript + openapi-fetch)', () => {
  test('generated types: number ids, no unknown bodies; the example compiles under strict tsc and works', async () => {
    const dir = tempDir('roster-client-')
    const types = join(dir, 'roster-api.d.ts')
    const gen = await run(['bun', 'test/openapi/generate-types.ts', types])
    expect(gen.out).toBe('')
    expect(gen.code).toBe(0)

    const text = readFileSync(types, 'utf8')
    for (const id of ['user_id', 'file_id', 'email_id']) expect(text).toContain(`${id}: number;`)
    expect(text).not.toContain('string | number')
    // `unknown` only as the open end of a headers object, never as a body.
    expect(text.split('\n').filter((l) => l.includes('unknown') && !l.includes('[name: string]: unknown') && !l.includes('@description'))).toEqual([])
    expect(text).not.toMatch(/"[a-z*]+\/[a-z*+.-]+": never/)

    copyFileSync(EXAMPLE, join(dir, 'client.ts'))
    symlinkSync(join(ROOT, 'node_modules'), join(dir, 'node_modules'))
    await Bun.write(
      join(dir, 'tsconfig.json'),
      JSON.stringify({
        compilerOptions: {
          strict: true,
          noEmit: true,
          target: 'es2022',
          module: 'esnext',
          moduleResolution: 'bundler',
          lib: ['es2022', 'dom'],
          types: [],
          skipLibCheck: false,
          noUncheckedIndexedAccess: true
        },
        files: ['client.ts', 'roster-api.d.ts']
      })
    )
    const tsc = await run([join(ROOT, 'node_modules/.bin/tsc'), '-p', dir], dir)
    expect(tsc.out).toBe('')
    expect(tsc.code).toBe(0)

    const t = await makeApp()
    t.app.listen({ port: 0, hostname: '127.0.0.1' })
    cleanups.push(async () => {
      await t.app.stop(true)
    })
    const { signUpAndReadMe } = await import(join(dir, 'client.ts'))
    const me = await signUpAndReadMe(`http://127.0.0.1:${t.app.server!.port}`, 'zoe', 'Secret123')
    expect(me).toMatchObject({ username: 'zoe', email: 'zoe@example.com', role: 'user' })
    expect(typeof me.id).toBe('number')
  }, 120_000)

  test('docs/api.md shows the example as compiled here', () => {
    const doc = readFileSync(join(ROOT, 'docs/api.md'), 'utf8')
    expect(doc).toContain(readFileSync(EXAMPLE, 'utf8').trim())
  })
})
