// No Docker engine here: check the Dockerfile's essentials as text.
import { describe, expect, test } from 'bun:test'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import pkg from '../package.json' with { type: 'json' }

const root = join(import.meta.dir, '..')
// Joined continuation lines, comments dropped.
const lines = readFileSync(join(root, 'Dockerfile'), 'utf8')
  .replace(/\\\n/g, ' ')
  .split('\n')
  .map((l) => l.trim())
  .filter((l) => l && !l.startsWith('#'))
const stages: string[][] = []
for (const l of lines) {
  if (/^FROM\s/i.test(l)) stages.push([])
  stages[stages.length - 1]?.push(l)
}
const final = stages[stages.length - 1] ?? []
const instr = (name: string, stage = final) => stage.filter((l) => l.toUpperCase().startsWith(name + ' ')).map((l) => l.slice(name.length + 1).trim())

describe('Dockerfile', () => {
  test('is multi-stage: a Bun stage of the pinned version builds the binary', () => {
    expect(stages.length).toBeGreaterThanOrEqual(2)
    const build = stages[0]!
    expect(build[0]).toMatch(new RegExp(`^FROM oven/bun:${pkg.packageManager.replace('bun@', '').replace(/\./g, '\\.')}\\b.* AS build$`, 'i'))
    expect(instr('RUN', build).join(' ')).toContain('bun install --frozen-lockfile')
    expect(instr('RUN', build).join(' ')).toContain('bun run build')
  })

  test('runs the binary alone on a small base image as a non-root user', () => {
    expect(final[0]).toMatch(/^FROM (gcr\.io\/distroless\/|debian:\S+-slim|alpine)/)
    expect(final.join('\n')).not.toMatch(/node_modules|bun install/)
    expect(instr('COPY').some((c) => c.startsWith('--from=build') && c.includes('roster'))).toBe(true)
    const user = instr('USER')
    expect(user).toHaveLength(1)
    expect(user[0]).not.toMatch(/^(root|0)(:|$)/)
    expect(instr('ENTRYPOINT')[0]).toMatch(/roster"\]$/)
  })

  test('listens on all interfaces, exposes the port, keeps data in a volume owned by the user', () => {
    const env = instr('ENV').join(' ')
    expect(env).toMatch(/\bHOST=0\.0\.0\.0\b/)
    const port = /\bPORT=(\d+)/.exec(env)?.[1] ?? '3000'
    expect(instr('EXPOSE')).toContain(port)
    const dataDir = /\bDATA_DIR=(\S+)/.exec(env)?.[1]
    expect(dataDir).toBeDefined()
    expect(instr('VOLUME').join(' ')).toContain(`"${dataDir}"`)
    const uid = instr('USER')[0]!.split(':')[0]
    expect(instr('COPY').some((c) => c.includes(`--chown=${uid}`) && c.endsWith(` ${dataDir}`))).toBe(true)
  })

  test('has a HEALTHCHECK on /health that needs no shell or curl', () => {
    const hc = instr('HEALTHCHECK')
    expect(hc).toHaveLength(1)
    expect(hc[0]).toMatch(/CMD \["\/usr\/local\/bin\/roster", "healthcheck"\]/)
    expect(readFileSync(join(root, 'src/cli/healthcheck.ts'), 'utf8')).toContain('/health')
  })

  test('.dockerignore keeps dependencies, build output, data and secrets out of the context', () => {
    const ignore = readFileSync(join(root, '.dockerignore'), 'utf8').split('\n').map((l) => l.trim())
    for (const p of ['node_modules', 'dist', 'data', '.env', '.git', '*.db']) expect(ignore).toContain(p)
  })
})
