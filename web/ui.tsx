// Small shared pieces: labelled fields, buttons that show progress on slow actions,
// status messages announced to screen readers, and a tiny router for /console/*.
import type { ComponentChildren, JSX } from 'preact'
import { useEffect, useRef, useState } from 'preact/hooks'

let uid = 0
const useId = (prefix: string) => useRef(`${prefix}-${++uid}`).current

type InputProps = Omit<JSX.InputHTMLAttributes<HTMLInputElement>, 'label' | 'onInput' | 'value'>

export function Field(props: { label: string; value: string; onInput: (v: string) => void; error?: string; hint?: string } & InputProps) {
  const { label, value, onInput, error, hint, ...rest } = props
  const id = useId('f')
  const described = [hint ? `${id}-hint` : '', error ? `${id}-err` : ''].filter(Boolean).join(' ') || undefined
  return (
    <div class="field">
      <label for={id}>{label}</label>
      <input
        id={id}
        value={value}
        onInput={(e) => onInput((e.target as HTMLInputElement).value)}
        aria-invalid={error ? true : undefined}
        aria-describedby={described}
        {...rest}
      />
      {hint && (
        <p class="hint" id={`${id}-hint`}>
          {hint}
        </p>
      )}
      {error && (
        <p class="error-text" id={`${id}-err`}>
          {error}
        </p>
      )}
    </div>
  )
}

export function Select(props: { label: string; value: string; onChange: (v: string) => void; options: [string, string][] }) {
  const id = useId('s')
  return (
    <div class="field">
      <label for={id}>{props.label}</label>
      <select id={id} value={props.value} onChange={(e) => props.onChange((e.target as HTMLSelectElement).value)}>
        {props.options.map(([v, text]) => (
          <option value={v} key={v}>
            {text}
          </option>
        ))}
      </select>
    </div>
  )
}

/** Shows a spinner and "…" once an action has taken longer than 200 ms. */
export function Button(props: { busy?: boolean; children: ComponentChildren; kind?: 'primary' | 'danger' | 'plain' } & Omit<JSX.ButtonHTMLAttributes<HTMLButtonElement>, 'kind'>) {
  const { busy, children, kind = 'primary', ...rest } = props
  const slow = useSlow(!!busy)
  return (
    <button class={`btn ${kind}`} aria-busy={busy ? true : undefined} disabled={busy || rest.disabled} {...rest}>
      {slow && <span class="spinner" aria-hidden="true" />}
      {children}
      {slow && <span class="sr-only"> (working)</span>}
    </button>
  )
}

export function useSlow(active: boolean, ms = 200): boolean {
  const [slow, setSlow] = useState(false)
  useEffect(() => {
    if (!active) return setSlow(false)
    const t = setTimeout(() => setSlow(true), ms)
    return () => clearTimeout(t)
  }, [active])
  return slow
}

export function Notice(props: { kind: 'error' | 'success' | 'info'; children: ComponentChildren }) {
  // Errors interrupt (alert); successes and info are announced politely.
  return (
    <div class={`notice ${props.kind}`} role={props.kind === 'error' ? 'alert' : 'status'}>
      {props.children}
    </div>
  )
}

export function Loading(props: { label?: string }) {
  const slow = useSlow(true)
  return (
    <p class="loading" role="status">
      {slow && <span class="spinner" aria-hidden="true" />}
      {slow ? (props.label ?? 'Loading…') : ''}
    </p>
  )
}

export function formatTime(iso: string | null | undefined): string {
  if (!iso) return '—'
  const d = new Date(iso)
  return Number.isNaN(d.getTime()) ? iso : d.toLocaleString()
}

// Routing inside /console/: history API, one listener.
// Set once the person moved inside the console: a fresh load keeps the browser's own focus order.
let navigated = false
const routeListeners = new Set<() => void>()
addEventListener('popstate', () => {
  navigated = true
  routeListeners.forEach((f) => f())
})

export function navigate(path: string) {
  navigated = true
  history.pushState(null, '', path)
  routeListeners.forEach((f) => f())
  scrollTo(0, 0)
}

export function usePath(): string {
  const [path, setPath] = useState(location.pathname + location.search)
  useEffect(() => {
    const f = () => setPath(location.pathname + location.search)
    routeListeners.add(f)
    return () => void routeListeners.delete(f)
  }, [])
  return path
}

export function Link(props: { href: string; children: ComponentChildren; class?: string; current?: boolean }) {
  return (
    <a
      href={props.href}
      class={props.class}
      aria-current={props.current ? 'page' : undefined}
      onClick={(e) => {
        if (e.ctrlKey || e.metaKey || e.shiftKey || e.button !== 0) return
        e.preventDefault()
        navigate(props.href)
      }}
    >
      {props.children}
    </a>
  )
}

/** Moves focus to the page's heading on navigation, so keyboard and screen-reader users land on the new content. */
export function Heading(props: { children: ComponentChildren }) {
  const ref = useRef<HTMLHeadingElement>(null)
  useEffect(() => {
    if (navigated) ref.current?.focus()
  }, [])
  return (
    <h1 tabIndex={-1} ref={ref}>
      {props.children}
    </h1>
  )
}
