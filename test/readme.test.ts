// The README's quick-start walkthrough, run as written against a real server
// (only the port differs), so the README cannot drift from the truth; and the
// checks that keep README.md and docs/ honest: every documented variable exists,
// every variable is documented, every link lands, no history in the text.
import { describe, expect, test } from 'bun:test'
import { existsSync, readdirSync, readFileSync } from 'node:fs'
import { dirname, join, resolve } from 'node:path'
import { tempDir } from './helpers'
import { SOURCE, startServer } from './server'

function walkthrough(): string {
  const readme = readFileSync(join(import.meta.dir, '..', 'README.md'), 'utf8')
  const m = /Then try it[^\n]*\n+```sh\n([\s\S]*?)```/.exec(readme)
  if (!m) throw new Error('README walkthrough block not found')
  return m[1]!
}

test('the README curl examples work exactly as written', async () => {
  const script = walkthrough()
  expect(script).toContain('http://127.0.0.1:3000')
  const { proc, url } = await startServer(SOURCE, { env: { ...(process.env as Record<string, string>), DATA_DIR: tempDir(), PORT: '0', LOG_LEVEL: 'info' } })
  const port = new URL(url).port
  try {
    const run = Bun.spawn(['bash', '-euo', 'pipefail', '-c', script.replaceAll('127.0.0.1:3000', `127.0.0.1:${port}`)], { stdout: 'pipe', stderr: 'pipe' })
    const out = await new Response(run.stdout).text()
    expect(await run.exited).toBe(0)
    // Three JSON documents: the created user, /users/me, and the list.
    const created = JSON.parse(out.slice(0, out.indexOf('}') + 1))
    expect(created).toMatchObject({ username: 'alice', email: 'alice@example.com', role: 'user' })
    expect(out.match(/"username":"alice"/g)?.length).toBe(3)
    expect(out).not.toContain('Could not validate credentials')
  } finally {
    proc.kill()
    await proc.exited
  }
})

const ROOT = join(import.meta.dir, '..')
const DOCS = join(ROOT, 'docs')
const read = (file: string) => readFileSync(file, 'utf8')
const pages = (): string[] => [join(ROOT, 'README.md'), ...readdirSync(DOCS).filter((f) => f.endsWith('.md')).map((f) => join(DOCS, f))]
const withoutCode = (md: string) => md.replace(/^```[\s\S]*?^```/gm, '')

/** GitHub's heading anchors: lower case, punctuation dropped, spaces to hyphens, repeats numbered. */
function anchors(md: string): Set<string> {
  const seen = new Map<string, number>()
  const out = new Set<string>()
  for (const m of withoutCode(md).matchAll(/^#{1,6} +(.+?) *$/gm)) {
    const base = m[1]!
      .replace(/`/g, '')
      .toLowerCase()
      .replace(/[^\p{L}\p{N} _-]/gu, '')
      .replace(/ /g, '-')
    const n = seen.get(base) ?? 0
    seen.set(base, n + 1)
    out.add(n === 0 ? base : `${base}-${n}`)
  }
  return out
}

/** Names of the variables src/config.ts (the only reader of the environment) reads. */
function configVariables(): Set<string> {
  const src = read(join(ROOT, 'src', 'config.ts'))
  const names = new Set<string>()
  for (const m of src.matchAll(/['"]([A-Z][A-Z0-9]*(?:_[A-Z0-9]+)*)['"]|\benv\.([A-Z][A-Z0-9_]*)/g)) names.add((m[1] ?? m[2])!)
  return names
}

/** Variables named in the first column of the README's configuration table. */
function readmeTableVariables(): Set<string> {
  const readme = read(join(ROOT, 'README.md'))
  const section = /^## Configuration\n([\s\S]*?)^## /m.exec(readme)?.[1]
  if (!section) throw new Error('README has no Configuration section')
  const names = new Set<string>()
  for (const row of section.matchAll(/^\| *([^|]+?) *\|/gm)) {
    for (const m of row[1]!.matchAll(/`([A-Z][A-Z0-9_]*)`/g)) names.add(m[1]!)
  }
  return names
}

describe('README.md and docs/', () => {
  test('README.md stays a product page of at most 250 lines', () => {
    expect(read(join(ROOT, 'README.md')).split('\n').length).toBeLessThanOrEqual(250)
  })

  test('the configuration table lists exactly the variables src/config.ts reads', () => {
    const documented = [...readmeTableVariables()].sort()
    expect(documented).toEqual([...configVariables()].sort())
  })

  test('every variable named anywhere in the docs exists', () => {
    const known = configVariables()
    const unknown: string[] = []
    for (const file of pages()) {
      for (const m of read(file).matchAll(/`([A-Z][A-Z0-9]*(?:_[A-Z0-9]+)+)(?:=[^`]*)?`/g)) {
        if (!known.has(m[1]!)) unknown.push(`${file.slice(ROOT.length + 1)}: ${m[1]}`)
      }
    }
    expect(unknown).toEqual([])
  })

  test('every relative link leads to an existing file and heading', () => {
    const broken: string[] = []
    for (const file of pages()) {
      for (const m of withoutCode(read(file)).matchAll(/\]\(([^)\s]+)\)/g)) {
        const href = m[1]!
        if (/^[a-z]+:/i.test(href)) continue
        const [path, anchor] = href.split('#') as [string, string | undefined]
        const target = path === '' ? file : resolve(dirname(file), path)
        if (!existsSync(target)) broken.push(`${file.slice(ROOT.length + 1)}: ${href}`)
        else if (anchor && target.endsWith('.md') && !anchors(read(target)).has(anchor)) broken.push(`${file.slice(ROOT.length + 1)}: ${href}`)
      }
    }
    expect(broken).toEqual([])
  })

  test('every docs page is linked from README.md', () => {
    const readme = read(join(ROOT, 'README.md'))
    const unlinked = readdirSync(DOCS).filter((f) => f.endsWith('.md') && !readme.includes(`](docs/${f}`))
    expect(unlinked).toEqual([])
  })

  test('the docs describe the product as it is: no issue numbers, branches or history', () => {
    const found: string[] = []
    for (const file of pages()) {
      for (const m of read(file).matchAll(/issue [0-9]+|issue #|'s branch|this release|for the record/gi)) found.push(`${file.slice(ROOT.length + 1)}: ${m[0]}`)
    }
    expect(found).toEqual([])
  })
})
