// What every signed-in person can do with their own account.
import { encode } from 'uqr'
import { useState } from 'preact/hooks'
import { api, forget, type AuditEvent, type User } from '../api'
import { Button, Field, formatTime, Heading, Notice, Select } from '../ui'
import { Loaded, Pager, Table, useAction, useLoad } from './common'

const PASSWORD_HINT = '8 to 128 characters, with at least one digit and one uppercase letter.'

export function Profile(props: { me: User; setMe: (u: User) => void }) {
  const { me } = props
  const [username, setUsername] = useState(me.username)
  const [email, setEmail] = useState(me.email)
  const [age, setAge] = useState(me.age === null ? '' : String(me.age))
  const save = useAction()
  const resend = useAction()
  const submit = async (e: Event) => {
    e.preventDefault()
    const body: { username?: string; email?: string; age?: number | null } = {}
    if (username !== me.username) body.username = username
    if (email !== me.email) body.email = email
    const ageValue = age.trim() === '' ? null : Number(age)
    if (ageValue !== me.age) body.age = ageValue
    if (Object.keys(body).length === 0) return
    const data = await save.run('save', () => api.PATCH('/users/{user_id}', { params: { path: { user_id: me.id } }, body }), 'Your profile is saved.')
    if (data && typeof data === 'object') props.setMe(data as User)
  }
  return (
    <>
      <Heading>Your profile</Heading>
      <dl class="props">
        <dt>Role</dt>
        <dd>{me.role}</dd>
        <dt>Member since</dt>
        <dd>{formatTime(me.created_at)}</dd>
        {me.email_verified !== undefined && (
          <>
            <dt>E-mail</dt>
            <dd>{me.email_verified ? <span class="badge on">confirmed</span> : <span class="badge off">not confirmed</span>}</dd>
          </>
        )}
        {me.mfa_enabled !== undefined && (
          <>
            <dt>Two-factor</dt>
            <dd>{me.mfa_enabled ? 'on' : 'off'}</dd>
          </>
        )}
      </dl>
      {me.email_verified === false && (
        <div class="panel">
          {resend.view}
          <p>Your e-mail address is not confirmed yet.</p>
          <Button kind="plain" busy={resend.busy !== null} onClick={() => resend.run('resend', () => api.POST('/auth/verify-email/resend'), 'A confirmation e-mail is on its way.')}>
            Send a new confirmation e-mail
          </Button>
        </div>
      )}
      <h2>Edit</h2>
      {save.view}
      <form onSubmit={submit} noValidate>
        <Field label="Username" autoComplete="username" value={username} onInput={setUsername} error={save.fields.username} hint="3 to 50 letters or digits." />
        <Field label="E-mail address" type="email" autoComplete="email" value={email} onInput={setEmail} error={save.fields.email} />
        <Field label="Age (optional)" inputMode="numeric" value={age} onInput={setAge} error={save.fields.age} />
        <Button type="submit" busy={save.busy === 'save'}>
          Save
        </Button>
      </form>
    </>
  )
}

export function Password() {
  const [current, setCurrent] = useState('')
  const [next, setNext] = useState('')
  const [repeat, setRepeat] = useState('')
  const act = useAction()
  const mismatch = repeat !== '' && repeat !== next ? 'The two passwords differ.' : undefined
  const submit = async (e: Event) => {
    e.preventDefault()
    if (next !== repeat) return
    const ok = await act.run('change', () => api.PUT('/users/me/password', { body: { current_password: current, new_password: next } }))
    // Every token issued before the change stops working, this console's included.
    if (ok) forget('Your password was changed and every session signed out. Sign in with the new password.')
  }
  return (
    <>
      <Heading>Change your password</Heading>
      <p>Changing it signs you out everywhere, here included.</p>
      {act.view}
      <form onSubmit={submit} noValidate>
        <Field label="Current password" type="password" autoComplete="current-password" value={current} onInput={setCurrent} error={act.fields.current_password} required />
        <Field label="New password" type="password" autoComplete="new-password" value={next} onInput={setNext} hint={PASSWORD_HINT} error={act.fields.new_password} required />
        <Field label="Repeat the new password" type="password" autoComplete="new-password" value={repeat} onInput={setRepeat} error={mismatch} required />
        <Button type="submit" busy={act.busy === 'change'}>
          Change password
        </Button>
      </form>
    </>
  )
}

function device(ua: string | null): string {
  if (!ua) return 'Unknown device'
  const browser = /(Firefox|Edg|Chrome|Safari|curl)\/[\d.]+/.exec(ua)?.[0]?.replace('Edg', 'Edge')
  const os = /(Windows|Mac OS X|Android|iPhone|iPad|Linux)/.exec(ua)?.[0]
  return [browser, os].filter(Boolean).join(' on ') || ua.slice(0, 60)
}

export function Sessions() {
  const [load, reload] = useLoad(() => api.GET('/auth/sessions'))
  const act = useAction()
  const revoke = async (id: string, current: boolean) => {
    const ok = await act.run(id, () => api.DELETE('/auth/sessions/{session_id}', { params: { path: { session_id: id } } }), 'Session revoked.')
    if (ok && current) forget('You revoked this session.')
    else if (ok) reload()
  }
  return (
    <>
      <Heading>Your sessions</Heading>
      <p>Each place where you are signed in. Revoking a session signs that place out at once.</p>
      {act.view}
      <Loaded load={load} what="your sessions" retry={reload}>
        {(list) => (
          <>
            <Table caption="Open sessions" columns={[{ label: 'Device' }, { label: 'IP address', wide: true }, { label: 'Last used' }, { label: 'Expires', wide: true }, { label: 'Actions', actions: true }]}>
                  {list.map((s) => (
                    <tr key={s.id}>
                      <td>
                        {device(s.user_agent)} {s.current && <span class="badge on">this one</span>}
                      </td>
                      <td class="hide-narrow">{s.ip ?? '—'}</td>
                      <td>{formatTime(s.last_used_at)}</td>
                      <td class="hide-narrow">{formatTime(s.expires_at)}</td>
                      <td>
                        <Button kind="plain" class="btn plain small" busy={act.busy === s.id} onClick={() => revoke(s.id, s.current)} aria-label={`Revoke session on ${device(s.user_agent)}${s.current ? ' (this one)' : ''}`}>
                          Revoke
                        </Button>
                      </td>
                    </tr>
                  ))}
            </Table>
            {list.length > 1 && (
              <p>
                <Button kind="danger" busy={act.busy === 'others'} onClick={async () => (await act.run('others', () => api.DELETE('/auth/sessions'), 'Every other session is signed out.')) && reload()}>
                  Sign out everywhere else
                </Button>
              </p>
            )}
          </>
        )}
      </Loaded>
    </>
  )
}

function Qr(props: { text: string }) {
  const { size, data } = encode(props.text, { border: 2 })
  let d = ''
  data.forEach((row, y) => row.forEach((on, x) => on && (d += `M${x} ${y}h1v1h-1z`)))
  return (
    <svg class="qr" viewBox={`0 0 ${size} ${size}`} role="img" aria-label="QR code of the secret for your authenticator app">
      <rect width={size} height={size} fill="#fff" />
      <path d={d} fill="#000" />
    </svg>
  )
}

export function Totp(props: { me: User }) {
  const [enabled, setEnabled] = useState(!!props.me.mfa_enabled)
  const [password, setPassword] = useState('')
  const [code, setCode] = useState('')
  const [setup, setSetup] = useState<{ secret: string; otpauth_url: string } | null>(null)
  const [recovery, setRecovery] = useState<string[] | null>(null)
  const act = useAction()
  if (props.me.mfa_enabled === undefined)
    return (
      <>
        <Heading>Two-factor sign-in</Heading>
        <Notice kind="info">This Roster server does not offer two-factor sign-in yet.</Notice>
      </>
    )
  if (recovery)
    return (
      <>
        <Heading>Two-factor sign-in is on</Heading>
        <Notice kind="success">From now on, signing in asks for a code from your authenticator app.</Notice>
        <h2>Recovery codes</h2>
        <p>Keep these somewhere safe: each one signs you in once if you lose your phone. They are shown only now.</p>
        <ul class="secret">
          {recovery.map((c) => (
            <li key={c}>{c}</li>
          ))}
        </ul>
        <Button kind="plain" onClick={() => void navigator.clipboard?.writeText(recovery.join('\n'))}>
          Copy the codes
        </Button>
      </>
    )
  if (enabled)
    return (
      <>
        <Heading>Two-factor sign-in</Heading>
        <p>Two-factor sign-in is on. To turn it off, enter your password and a current code (or a recovery code).</p>
        {act.view}
        <form
          noValidate
          onSubmit={async (e) => {
            e.preventDefault()
            if (await act.run('off', () => api.POST('/auth/mfa/totp/disable', { body: { password, code: code.trim() } }), 'Two-factor sign-in is off.')) {
              setEnabled(false)
              setPassword('')
              setCode('')
            }
          }}
        >
          <Field label="Password" type="password" autoComplete="current-password" value={password} onInput={setPassword} error={act.fields.password} required />
          <Field label="Code" autoComplete="one-time-code" inputMode="numeric" value={code} onInput={setCode} error={act.fields.code} required />
          <Button kind="danger" type="submit" busy={act.busy === 'off'}>
            Turn off two-factor sign-in
          </Button>
        </form>
      </>
    )
  return (
    <>
      <Heading>Two-factor sign-in</Heading>
      {act.view}
      {!setup ? (
        <form
          noValidate
          onSubmit={async (e) => {
            e.preventDefault()
            const data = await act.run('setup', () => api.POST('/auth/mfa/totp/setup', { body: { password } }))
            if (data && typeof data === 'object') setSetup(data as { secret: string; otpauth_url: string })
          }}
        >
          <p>Protect your account with a code from an authenticator app. Enter your password to begin.</p>
          <Field label="Password" type="password" autoComplete="current-password" value={password} onInput={setPassword} error={act.fields.password} required />
          <Button type="submit" busy={act.busy === 'setup'}>
            Set up two-factor sign-in
          </Button>
        </form>
      ) : (
        <form
          noValidate
          onSubmit={async (e) => {
            e.preventDefault()
            const data = await act.run('enable', () => api.POST('/auth/mfa/totp/enable', { body: { code: code.trim() } }))
            if (data && typeof data === 'object') setRecovery((data as { recovery_codes: string[] }).recovery_codes)
          }}
        >
          <p>Scan this code with your authenticator app, or type the secret into it. Then enter the 6-digit code it shows.</p>
          <Qr text={setup.otpauth_url} />
          <p>
            Secret: <code class="secret">{setup.secret}</code>
          </p>
          <Field label="Code from the app" autoComplete="one-time-code" inputMode="numeric" value={code} onInput={setCode} error={act.fields.code} required />
          <Button type="submit" busy={act.busy === 'enable'}>
            Turn on two-factor sign-in
          </Button>
        </form>
      )}
    </>
  )
}

type Scope = 'users:read' | 'users:write' | 'files:read' | 'files:write' | 'admin'

const SCOPES: [Scope, string][] = [
  ['users:read', 'Read users'],
  ['users:write', 'Change users'],
  ['files:read', 'Read files'],
  ['files:write', 'Upload and delete files'],
  ['admin', 'Administer (admins only)']
]

export function Tokens(props: { me: User }) {
  const [load, reload] = useLoad(() => api.GET('/auth/tokens'))
  const [name, setName] = useState('')
  const [scopes, setScopes] = useState<Scope[]>(['users:read'])
  const [days, setDays] = useState('30')
  const [created, setCreated] = useState<string | null>(null)
  const act = useAction()
  const scopeChoices = SCOPES.filter(([s]) => s !== 'admin' || props.me.role === 'admin')
  const create = async (e: Event) => {
    e.preventDefault()
    const expires = days === 'never' ? {} : { expires_in_days: Number(days) }
    const data = await act.run('create', () => api.POST('/auth/tokens', { body: { name, scopes, ...expires } }))
    if (data && typeof data === 'object') {
      setCreated((data as { token: string }).token)
      setName('')
      reload()
    }
  }
  return (
    <>
      <Heading>Personal access tokens</Heading>
      <p>Tokens let scripts call the API as you, limited to the scopes you choose. They cannot sign in or manage sessions.</p>
      {act.view}
      {created && (
        <div class="panel" role="status">
          <p>
            <strong>Copy your new token now.</strong> It is shown only once.
          </p>
          <p class="secret">{created}</p>
          <div class="row">
            <Button kind="plain" onClick={() => void navigator.clipboard?.writeText(created)}>
              Copy
            </Button>
            <Button kind="plain" onClick={() => setCreated(null)}>
              Done
            </Button>
          </div>
        </div>
      )}
      <Loaded load={load} what="access tokens" retry={reload}>
        {(list) => (
          <>
            {list.length === 0 ? (
              <p class="empty">You have no access tokens.</p>
            ) : (
              <Table caption="Your access tokens" columns={[{ label: 'Name' }, { label: 'Scopes' }, { label: 'Last used', wide: true }, { label: 'Expires', wide: true }, { label: 'Actions', actions: true }]}>
                    {list.map((tk) => (
                      <tr key={tk.id}>
                        <td>{tk.name}</td>
                        <td>{tk.scopes.join(', ')}</td>
                        <td class="hide-narrow">{formatTime(tk.last_used_at)}</td>
                        <td class="hide-narrow">{tk.expires_at ? formatTime(tk.expires_at) : 'never'}</td>
                        <td>
                          <Button
                            kind="plain"
                            class="btn plain small"
                            busy={act.busy === `rm${tk.id}`}
                            aria-label={`Revoke token ${tk.name}`}
                            onClick={async () => (await act.run(`rm${tk.id}`, () => api.DELETE('/auth/tokens/{token_id}', { params: { path: { token_id: tk.id } } }), 'Token revoked.')) && reload()}
                          >
                            Revoke
                          </Button>
                        </td>
                      </tr>
                    ))}
              </Table>
            )}
            <h2>New token</h2>
            <form onSubmit={create} noValidate>
              <Field label="Name" value={name} onInput={setName} error={act.fields.name} hint="What the token is for, e.g. “backup script”." required />
              <fieldset class="field">
                <legend>Scopes</legend>
                {scopeChoices.map(([s, text]) => (
                  <label key={s}>
                    <input
                      type="checkbox"
                      class="check"
                      checked={scopes.includes(s)}
                      onChange={(e) => setScopes((cur) => ((e.target as HTMLInputElement).checked ? [...cur, s] : cur.filter((x) => x !== s)))}
                    />{' '}
                    {text} <code>{s}</code>
                  </label>
                ))}
                {act.fields.scopes && <p class="error-text">{act.fields.scopes}</p>}
              </fieldset>
              <Select label="Expires" value={days} onChange={setDays} options={[['7', 'in 7 days'], ['30', 'in 30 days'], ['90', 'in 90 days'], ['365', 'in a year'], ['never', 'never']]} />
              <Button type="submit" busy={act.busy === 'create'}>
                Create token
              </Button>
            </form>
          </>
        )}
      </Loaded>
    </>
  )
}

export function EventList(props: { events: AuditEvent[]; empty: string }) {
  if (props.events.length === 0) return <p class="empty">{props.empty}</p>
  return (
    <Table caption="Security events" columns={[{ label: 'When' }, { label: 'Event' }, { label: 'Actor', wide: true }, { label: 'Target', wide: true }, { label: 'IP address', wide: true }]}>
          {props.events.map((ev) => (
            <tr key={ev.id}>
              <td>{formatTime(ev.at)}</td>
              <td>
                {ev.type}
                {Object.keys(ev.details ?? {}).length > 0 && <div class="hint">{JSON.stringify(ev.details)}</div>}
              </td>
              <td class="hide-narrow">{ev.actor_id ?? '—'}</td>
              <td class="hide-narrow">{ev.target_id ?? '—'}</td>
              <td class="hide-narrow">{ev.ip ?? '—'}</td>
            </tr>
          ))}
    </Table>
  )
}

export function Activity() {
  const [cursors, setCursors] = useState<string[]>([])
  const after = cursors[cursors.length - 1]
  const [load, reload] = useLoad(() => api.GET('/users/me/audit', { params: { query: { limit: 50, ...(after ? { after } : {}) } } }), [after])
  return (
    <>
      <Heading>Your security activity</Heading>
      <p>Sign-ins, password changes and other security events on your account, newest first.</p>
      <Loaded load={load} what="your activity" retry={reload}>
        {(page) => (
          <>
            <EventList events={page.events} empty="No events yet." />
            <Pager cursors={cursors} setCursors={setCursors} next={page.next_cursor} back="Newer" forward="Older" />
          </>
        )}
      </Loaded>
    </>
  )
}
