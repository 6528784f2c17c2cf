// The live document (as /openapi.json serves it) and Redocly's lint of it.
import { join } from 'node:path'
import { makeApp, req, tempDir } from '../helpers'

export type Doc = Record<string, any>

export async function liveDocument(env: Record<string, string> = {}): Promise<Doc> {
  const res = await req(await makeApp(env), 'GET', '/openapi.json')
  if (res.status !== 200) throw new Error(`/openapi.json answered ${res.status}`)
  return res.json as Doc
}

export interface LintProblem {
  ruleId: string
  severity: 'error' | 'warn'
  message: string
  pointer: string
}

const REDOCLY = join(import.meta.dir, '../../node_modules/.bin/redocly')

/** Redocly CLI's recommended ruleset over `doc`, run under Bun (no Node.js needed), offline. */
export async function lint(doc: Doc): Promise<{ problems: LintProblem[]; output: string }> {
  const file = join(tempDir('roster-openapi-'), 'openapi.json')
  await Bun.write(file, JSON.stringify(doc, null, 2))
  const env = { ...process.env, REDOCLY_TELEMETRY: 'off', REDOCLY_SUPPRESS_UPDATE_NOTICE: 'true', NO_COLOR: '1' }
  const run = (format: string) =>
    Bun.spawn(['bun', '--bun', REDOCLY, 'lint', '--extends=recommended', `--format=${format}`, file], { env, stdout: 'pipe', stderr: 'pipe' })
  const json = run('json')
  const report = JSON.parse(await new Response(json.stdout).text()) as { problems: any[] }
  await json.exited
  const stylish = run('stylish')
  const output = (await new Response(stylish.stdout).text()) + (await new Response(stylish.stderr).text())
  await stylish.exited
  const problems = report.problems.map((p) => ({
    ruleId: p.ruleId,
    severity: p.severity,
    message: p.message,
    pointer: p.location?.[0]?.pointer ?? ''
  }))
  return { problems, output }
}
