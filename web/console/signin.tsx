// Sign in: password, then the TOTP code when the account has a second factor.
import { useState } from 'preact/hooks'
import { adopt, api, problem } from '../api'
import { Button, Field, Heading, Notice } from '../ui'

type Step = { kind: 'password' } | { kind: 'code'; mfaToken: string } | { kind: 'forgot' } | { kind: 'forgot-sent'; message: string }

export function SignIn(props: { reason?: string }) {
  const [step, setStep] = useState<Step>(new URLSearchParams(location.search).has('forgot') ? { kind: 'forgot' } : { kind: 'password' })
  const [username, setUsername] = useState('')
  const [password, setPassword] = useState('')
  const [code, setCode] = useState('')
  const [email, setEmail] = useState('')
  const [busy, setBusy] = useState(false)
  const [error, setError] = useState<{ message: string; fields: Record<string, string> } | null>(null)

  async function run(fn: () => Promise<void>) {
    setBusy(true)
    setError(null)
    try {
      await fn()
    } catch {
      setError(problem(undefined))
    } finally {
      setBusy(false)
    }
  }

  const signIn = (e: Event) => {
    e.preventDefault()
    void run(async () => {
      const { data, error, response } = await api.POST('/auth/login', { body: { username, password } })
      if (!data) return setError(problem(error, response.status))
      const d = data as typeof data | { mfa_required: true; mfa_token: string }
      if ('mfa_required' in d) {
        setPassword('')
        return setStep({ kind: 'code', mfaToken: d.mfa_token })
      }
      adopt(d)
    })
  }

  const verify = (e: Event) => {
    e.preventDefault()
    if (step.kind !== 'code') return
    void run(async () => {
      const { data, error, response } = await api.POST('/auth/mfa/verify', { body: { mfa_token: step.mfaToken, code: code.trim() } })
      if (data) return adopt(data)
      setCode('')
      setError(problem(error, response.status))
    })
  }

  const forgot = (e: Event) => {
    e.preventDefault()
    void run(async () => {
      const { data, error, response } = await api.POST('/auth/password-reset', { body: { email } })
      if (!response.ok) return setError(problem(error, response.status))
      setStep({ kind: 'forgot-sent', message: (data as { message?: string } | undefined)?.message ?? 'If that address belongs to an account, a reset link is on its way.' })
    })
  }

  return (
    <main class="narrow">
      <p class="brand">Roster</p>
      {props.reason && step.kind === 'password' && <Notice kind="info">{props.reason}</Notice>}
      {error && <Notice kind="error">{error.message}</Notice>}
      {step.kind === 'password' && (
        <>
          <Heading>Sign in</Heading>
          <form onSubmit={signIn} noValidate>
            <Field label="Username or e-mail" autoComplete="username" value={username} onInput={setUsername} error={error?.fields.username} required />
            <Field label="Password" type="password" autoComplete="current-password" value={password} onInput={setPassword} error={error?.fields.password} required />
            <div class="row">
              <Button type="submit" busy={busy}>
                Sign in
              </Button>
              <Button kind="plain" type="button" onClick={() => (setError(null), setStep({ kind: 'forgot' }))}>
                Forgot your password?
              </Button>
            </div>
          </form>
        </>
      )}
      {step.kind === 'code' && (
        <>
          <Heading>Enter your code</Heading>
          <p>Open your authenticator app and enter the 6-digit code for Roster, or one of your recovery codes.</p>
          <form onSubmit={verify} noValidate>
            <Field label="Code" autoComplete="one-time-code" inputMode="numeric" value={code} onInput={setCode} error={error?.fields.code} required />
            <div class="row">
              <Button type="submit" busy={busy}>
                Verify
              </Button>
              <Button kind="plain" type="button" onClick={() => (setError(null), setStep({ kind: 'password' }))}>
                Start over
              </Button>
            </div>
          </form>
        </>
      )}
      {step.kind === 'forgot' && (
        <>
          <Heading>Reset your password</Heading>
          <p>Enter the e-mail address of your account. If it is registered, a link to choose a new password is sent to it.</p>
          <form onSubmit={forgot} noValidate>
            <Field label="E-mail address" type="email" autoComplete="email" value={email} onInput={setEmail} error={error?.fields.email} required />
            <div class="row">
              <Button type="submit" busy={busy}>
                Send the link
              </Button>
              <Button kind="plain" type="button" onClick={() => (setError(null), setStep({ kind: 'password' }))}>
                Back to sign in
              </Button>
            </div>
          </form>
        </>
      )}
      {step.kind === 'forgot-sent' && (
        <>
          <Heading>Check your mail</Heading>
          <Notice kind="success">{step.message}</Notice>
          <Button kind="plain" type="button" onClick={() => setStep({ kind: 'password' })}>
            Back to sign in
          </Button>
        </>
      )}
    </main>
  )
}
