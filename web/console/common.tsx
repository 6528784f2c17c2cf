// Loading a page's data, with the states every page shows: loading, failed,
// unavailable (the server lacks the route), loaded.
import type { ComponentChildren } from 'preact'
import { useEffect, useState } from 'preact/hooks'
import { missingRoute, problem } from '../api'
import { Button, Loading, Notice } from '../ui'

type Result<T> = { data?: T; error?: unknown; response: Response }

export type Load<T> =
  | { state: 'loading' }
  | { state: 'failed'; message: string }
  | { state: 'unavailable' }
  | { state: 'ok'; data: T }

export function useLoad<T>(fetcher: () => Promise<Result<T>>, deps: unknown[] = []): [Load<T>, () => void, (t: T) => void] {
  const [load, setLoad] = useState<Load<T>>({ state: 'loading' })
  const [n, setN] = useState(0)
  useEffect(() => {
    let live = true
    setLoad((l) => (l.state === 'ok' ? l : { state: 'loading' }))
    fetcher().then(
      (r) => {
        if (!live) return
        if (r.data !== undefined) setLoad({ state: 'ok', data: r.data })
        else if (missingRoute(r.response.status, r.error)) setLoad({ state: 'unavailable' })
        else setLoad({ state: 'failed', message: problem(r.error, r.response.status).message })
      },
      () => live && setLoad({ state: 'failed', message: problem(undefined).message })
    )
    return () => {
      live = false
    }
  }, [...deps, n])
  return [load, () => setN((x) => x + 1), (data: T) => setLoad({ state: 'ok', data })]
}

/** Renders the loading, failed and unavailable states; the page renders the data. */
export function Loaded<T>(props: { load: Load<T>; what: string; retry: () => void; children: (data: T) => ComponentChildren }) {
  const { load } = props
  if (load.state === 'loading') return <Loading label={`Loading ${props.what}…`} />
  if (load.state === 'unavailable') return <Notice kind="info">This Roster server does not offer {props.what} yet.</Notice>
  if (load.state === 'failed')
    return (
      <>
        <Notice kind="error">
          Could not load {props.what}: {load.message}
        </Notice>
        <Button kind="plain" onClick={props.retry}>
          Try again
        </Button>
      </>
    )
  return <>{props.children(load.data)}</>
}

/** Runs one action at a time, with its busy flag and its outcome message. */
export function useAction() {
  const [busy, setBusy] = useState<string | null>(null)
  const [outcome, setOutcome] = useState<{ kind: 'error' | 'success'; message: string; fields: Record<string, string> } | null>(null)
  async function run(name: string, fn: () => Promise<Result<unknown>>, success?: string | ((data: unknown) => string | void)): Promise<unknown> {
    setBusy(name)
    setOutcome(null)
    try {
      const r = await fn()
      if (r.response.ok) {
        const msg = typeof success === 'function' ? success(r.data) : success
        if (msg) setOutcome({ kind: 'success', message: msg, fields: {} })
        return r.data ?? true
      }
      const p = problem(r.error, r.response.status)
      setOutcome({ kind: 'error', ...p })
    } catch {
      setOutcome({ kind: 'error', ...problem(undefined) })
    } finally {
      setBusy(null)
    }
    return undefined
  }
  const view = outcome && <Notice kind={outcome.kind}>{outcome.message}</Notice>
  return { busy, run, outcome, view, fields: outcome?.fields ?? {}, clear: () => setOutcome(null) }
}

export interface Column {
  label: string
  /** Hidden on narrow screens (390 px), where only the essential columns fit. */
  wide?: boolean
  /** A column of buttons: labelled for screen readers only. */
  actions?: boolean
}

export function Table(props: { caption: string; columns: Column[]; children: ComponentChildren }) {
  return (
    <div class="table-wrap">
      <table>
        <caption class="sr-only">{props.caption}</caption>
        <thead>
          <tr>
            {props.columns.map((c) => (
              <th scope="col" class={c.wide ? 'hide-narrow' : undefined} key={c.label}>
                {c.actions ? <span class="sr-only">{c.label}</span> : c.label}
              </th>
            ))}
          </tr>
        </thead>
        <tbody>{props.children}</tbody>
      </table>
    </div>
  )
}

/** Keyset paging: back through the cursors already followed, forward by the page's own. */
export function Pager<C>(props: { cursors: C[]; setCursors: (f: (c: C[]) => C[]) => void; next: C | null | undefined; back?: string; forward?: string }) {
  const { next } = props
  return (
    <nav class="pager" aria-label="Pages">
      {props.cursors.length > 0 && (
        <Button kind="plain" onClick={() => props.setCursors((c) => c.slice(0, -1))}>
          {props.back ?? 'Previous page'}
        </Button>
      )}
      {next !== null && next !== undefined && (
        <Button kind="plain" onClick={() => props.setCursors((c) => [...c, next])}>
          {props.forward ?? 'Next page'}
        </Button>
      )}
    </nav>
  )
}

/** A search form's fields, the filters last applied, and the keyset cursors followed under them. */
export function useSearch<F extends Record<string, string>>(initial: F) {
  const [form, setForm] = useState<F>(initial)
  const [filters, setFilters] = useState<F>(initial)
  const [cursors, setCursors] = useState<string[]>([])
  return {
    form,
    filters,
    cursors,
    setCursors,
    after: cursors[cursors.length - 1],
    set: (k: keyof F) => (v: string) => setForm((f) => ({ ...f, [k]: v })),
    apply: (e: Event) => {
      e.preventDefault()
      setCursors([])
      setFilters(form)
    }
  }
}
