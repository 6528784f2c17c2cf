// The pages e-mailed links open. Loading one spends nothing (mail scanners fetch
// links); the token goes to the API only when the person submits the form.
import { useState } from 'preact/hooks'
import { api, missingRoute, problem } from './api'
import { Button, Field, Heading, Notice } from './ui'

const PASSWORD_HINT = '8 to 128 characters, with at least one digit and one uppercase letter.'
const SPENT = 'This link has already been used or has expired. Links work once, for a limited time.'

function tokenFromUrl(): string | null {
  const t = new URLSearchParams(location.search).get('token')
  return t && t.length <= 256 ? t : null
}

function Shell(props: { title: string; children: preact.ComponentChildren }) {
  return (
    <main class="narrow">
      <p class="brand">Roster</p>
      <Heading>{props.title}</Heading>
      {props.children}
    </main>
  )
}

function NoToken(props: { title: string; what: string }) {
  return (
    <Shell title={props.title}>
      <Notice kind="error">
        This link is incomplete: it has no token. Open the link from the e-mail again, or copy all of it into the address bar. {props.what}
      </Notice>
    </Shell>
  )
}

function SignInLink() {
  return (
    <p>
      <a href="/console/">Go to sign in</a>
    </p>
  )
}

/** Sends the form; a 400 "Invalid or expired token" means the link is spent or expired. */
async function submit(setState: (s: State) => void, call: () => Promise<{ error?: unknown; response: Response }>) {
  setState({ kind: 'busy' })
  try {
    const { error, response } = await call()
    if (response.ok) return setState({ kind: 'done' })
    if (response.status === 400 && (error as { detail?: unknown } | undefined)?.detail === 'Invalid or expired token') return setState({ kind: 'spent' })
    if (missingRoute(response.status, error)) return setState({ kind: 'unavailable' })
    const p = problem(error, response.status)
    // One bad field (the usual weak password): its own message says it all.
    const only = Object.values(p.fields)
    setState({ kind: 'error', message: only.length === 1 ? only[0]! : p.message, fields: p.fields })
  } catch {
    setState({ kind: 'error', ...problem(undefined) })
  }
}

type State = { kind: 'idle' } | { kind: 'unavailable' } | { kind: 'busy' } | { kind: 'done' } | { kind: 'spent' } | { kind: 'error'; message: string; fields: Record<string, string> }

export function ResetPassword() {
  const token = tokenFromUrl()
  const [password, setPassword] = useState('')
  const [confirm, setConfirm] = useState('')
  const [state, setState] = useState<State>({ kind: 'idle' })
  const title = 'Choose a new password'
  if (!token) return <NoToken title={title} what="You can ask for a new reset e-mail from the sign-in page." />
  if (state.kind === 'done')
    return (
      <Shell title="Password changed">
        <Notice kind="success">Your password has been changed. Every session that was open with the old password is signed out.</Notice>
        <SignInLink />
      </Shell>
    )
  if (state.kind === 'spent')
    return (
      <Shell title="This link no longer works">
        <Notice kind="error">{SPENT} Ask for a new reset e-mail from the sign-in page.</Notice>
        <p>
          <a href="/console/?forgot=1">Ask for a new link</a>
        </p>
      </Shell>
    )
  const fields = state.kind === 'error' ? state.fields : {}
  const mismatch = confirm !== '' && confirm !== password ? 'The two passwords differ.' : undefined
  const onSubmit = (e: Event) => {
    e.preventDefault()
    if (password !== confirm) return setState({ kind: 'error', message: 'The two passwords differ.', fields: { confirm: 'The two passwords differ.' } })
    void submit(setState, () => api.POST('/auth/password-reset/confirm', { body: { token, new_password: password } }))
  }
  return (
    <Shell title={title}>
      <p>Enter a new password for your Roster account. Nothing changes until you press the button.</p>
      {state.kind === 'error' && <Notice kind="error">{state.message}</Notice>}
      <form onSubmit={onSubmit} noValidate>
        <Field label="New password" type="password" autoComplete="new-password" value={password} onInput={setPassword} hint={PASSWORD_HINT} error={fields.new_password} required />
        <Field label="Repeat the new password" type="password" autoComplete="new-password" value={confirm} onInput={setConfirm} error={fields.confirm ?? mismatch} required />
        <Button type="submit" busy={state.kind === 'busy'}>
          Change my password
        </Button>
      </form>
    </Shell>
  )
}

export function VerifyEmail() {
  const token = tokenFromUrl()
  const [state, setState] = useState<State>({ kind: 'idle' })
  const title = 'Confirm your e-mail address'
  if (!token) return <NoToken title={title} what="Once signed in, you can ask for a new confirmation e-mail from your profile." />
  if (state.kind === 'done')
    return (
      <Shell title="E-mail address confirmed">
        <Notice kind="success">Thank you: your e-mail address is confirmed.</Notice>
        <SignInLink />
      </Shell>
    )
  if (state.kind === 'spent')
    return (
      <Shell title="This link no longer works">
        <Notice kind="error">{SPENT} Sign in and ask for a new confirmation e-mail from your profile.</Notice>
        <SignInLink />
      </Shell>
    )
  if (state.kind === 'unavailable')
    return (
      <Shell title={title}>
        <Notice kind="error">This Roster server does not confirm e-mail addresses.</Notice>
      </Shell>
    )
  const onSubmit = (e: Event) => {
    e.preventDefault()
    void submit(setState, () => api.POST('/auth/verify-email', { body: { token } }))
  }
  return (
    <Shell title={title}>
      <p>Press the button to confirm that this e-mail address belongs to your Roster account.</p>
      {state.kind === 'error' && <Notice kind="error">{state.message}</Notice>}
      <form onSubmit={onSubmit}>
        <Button type="submit" busy={state.kind === 'busy'}>
          Confirm my e-mail address
        </Button>
      </form>
    </Shell>
  )
}

export function AcceptInvite() {
  const token = tokenFromUrl()
  const [username, setUsername] = useState('')
  const [password, setPassword] = useState('')
  const [age, setAge] = useState('')
  const [state, setState] = useState<State>({ kind: 'idle' })
  const title = 'Accept your invitation'
  if (!token) return <NoToken title={title} what="Ask the person who invited you to send a new invitation." />
  if (state.kind === 'done')
    return (
      <Shell title="Your account is ready">
        <Notice kind="success">Your account has been created. Sign in with the username and password you chose.</Notice>
        <SignInLink />
      </Shell>
    )
  if (state.kind === 'spent')
    return (
      <Shell title="This invitation no longer works">
        <Notice kind="error">{SPENT} Ask the person who invited you to send a new invitation.</Notice>
      </Shell>
    )
  if (state.kind === 'unavailable')
    return (
      <Shell title={title}>
        <Notice kind="error">This Roster server does not take invitations.</Notice>
      </Shell>
    )
  const fields = state.kind === 'error' ? state.fields : {}
  const onSubmit = (e: Event) => {
    e.preventDefault()
    const ageValue = age.trim() === '' ? undefined : Number(age)
    if (ageValue !== undefined && !Number.isInteger(ageValue))
      return setState({ kind: 'error', message: 'Please correct the highlighted fields.', fields: { age: 'Enter a whole number, or leave it empty.' } })
    void submit(setState, () => api.POST('/auth/accept-invite', { body: { token, username, password, ...(ageValue === undefined ? {} : { age: ageValue }) } }))
  }
  return (
    <Shell title={title}>
      <p>You have been invited to Roster. Choose a username and a password to create your account; the invitation is used when you press the button.</p>
      {state.kind === 'error' && <Notice kind="error">{state.message}</Notice>}
      <form onSubmit={onSubmit} noValidate>
        <Field label="Username" autoComplete="username" value={username} onInput={setUsername} hint="3 to 50 letters or digits." error={fields.username} required />
        <Field label="Password" type="password" autoComplete="new-password" value={password} onInput={setPassword} hint={PASSWORD_HINT} error={fields.password} required />
        <Field label="Age (optional)" inputMode="numeric" value={age} onInput={setAge} error={fields.age} />
        <Button type="submit" busy={state.kind === 'busy'}>
          Create my account
        </Button>
      </form>
    </Shell>
  )
}
