// Admin pages: people, one person, invitations, the e-mail outbox, the audit log.
import type { ComponentChildren } from 'preact'
import { useEffect, useRef, useState } from 'preact/hooks'
import { api, type User } from '../api'
import { Button, Field, formatTime, Heading, Link, Notice, Select } from '../ui'
import { Loaded, Pager, Table, useAction, useLoad, useSearch } from './common'
import { EventList } from './me'

export function Users() {
  const { form, filters, cursors, setCursors, after, set, apply } = useSearch({ q: '', role: '', status: '', verified: '' })
  const query = {
    limit: 25,
    include_inactive: true,
    ...(after ? { after } : {}),
    ...(filters.q.trim() ? { q: filters.q.trim() } : {}),
    ...(filters.role ? { role: filters.role as 'user' | 'admin' } : {}),
    ...(filters.status ? { status: filters.status as 'active' | 'inactive' } : {}),
    ...(filters.verified ? { email_verified: filters.verified as 'true' | 'false' } : {})
  }
  const [load, reload] = useLoad(() => api.GET('/api/v2/users', { params: { query } }), [JSON.stringify(query)])
  return (
    <>
      <Heading>Users</Heading>
      <form role="search" class="row" onSubmit={apply}>
        <Field label="Username or e-mail starts with" type="search" value={form.q} onInput={set('q')} />
        <Select label="Role" value={form.role} onChange={set('role')} options={[['', 'any'], ['user', 'user'], ['admin', 'admin']]} />
        <Select label="Status" value={form.status} onChange={set('status')} options={[['', 'any'], ['active', 'active'], ['inactive', 'deactivated']]} />
        <Select label="E-mail" value={form.verified} onChange={set('verified')} options={[['', 'any'], ['true', 'confirmed'], ['false', 'not confirmed']]} />
        <div class="field">
          <Button type="submit" busy={load.state === 'loading'}>
            Search
          </Button>
        </div>
      </form>
      <Loaded load={load} what="users" retry={reload}>
        {(page) => (
          <>
            {page.users.length === 0 ? (
              <p class="empty">No user matches.</p>
            ) : (
              <Table caption="Users" columns={[{ label: 'Username' }, { label: 'E-mail' }, { label: 'Role', wide: true }, { label: 'Status' }, { label: 'Created', wide: true }]}>
                    {(page.users as User[]).map((u) => (
                      <tr key={u.id}>
                        <td>
                          <Link href={`/console/users/${u.id}`}>{u.username}</Link>
                        </td>
                        <td>{u.email}</td>
                        <td class="hide-narrow">{u.role}</td>
                        <td>{u.is_active ? <span class="badge on">active</span> : <span class="badge off">deactivated</span>}</td>
                        <td class="hide-narrow">{formatTime(u.created_at)}</td>
                      </tr>
                    ))}
              </Table>
            )}
            <Pager cursors={cursors} setCursors={setCursors} next={page.next_cursor} />
          </>
        )}
      </Loaded>
    </>
  )
}

export function UserDetail(props: { id: number; me: User }) {
  const [load, reload, replace] = useLoad(() => api.GET('/users/{user_id}', { params: { path: { user_id: props.id } } }), [props.id])
  return (
    <>
      <p>
        <Link href="/console/users">← All users</Link>
      </p>
      <Loaded load={load} what="this user" retry={reload}>
        {(u) => <UserPanel user={u as User} me={props.me} onChange={(x) => replace(x as never)} />}
      </Loaded>
    </>
  )
}

function UserPanel(props: { user: User; me: User; onChange: (u: User) => void }) {
  const u = props.user
  const [username, setUsername] = useState(u.username)
  const [email, setEmail] = useState(u.email)
  const [age, setAge] = useState(u.age === null ? '' : String(u.age))
  const [confirmName, setConfirmName] = useState('')
  const [deleted, setDeleted] = useState(false)
  const [confirmSignOut, setConfirmSignOut] = useState(false)
  const act = useAction()
  const self = u.id === props.me.id
  const patch = async (name: string, body: Record<string, unknown>, done: string) => {
    const data = await act.run(name, () => api.PATCH('/users/{user_id}', { params: { path: { user_id: u.id } }, body }), done)
    if (data && typeof data === 'object') props.onChange(data as User)
  }
  const [audit, reloadAudit] = useLoad(() => api.GET('/admin/audit', { params: { query: { target_id: u.id, limit: 20 } } }), [u.id, u])
  if (deleted)
    return (
      <>
        <Heading>User deleted</Heading>
        <Notice kind="success">{u.username} and everything they owned are gone.</Notice>
      </>
    )
  return (
    <>
      <Heading>{u.username}</Heading>
      {act.view}
      <dl class="props">
        <dt>Id</dt>
        <dd>{u.id}</dd>
        <dt>Status</dt>
        <dd>{u.is_active ? <span class="badge on">active</span> : <span class="badge off">deactivated</span>}</dd>
        <dt>Role</dt>
        <dd>{u.role}</dd>
        {u.email_verified !== undefined && (
          <>
            <dt>E-mail</dt>
            <dd>{u.email_verified ? 'confirmed' : 'not confirmed'}</dd>
          </>
        )}
        {u.mfa_enabled !== undefined && (
          <>
            <dt>Two-factor</dt>
            <dd>{u.mfa_enabled ? 'on' : 'off'}</dd>
          </>
        )}
        <dt>Created</dt>
        <dd>{formatTime(u.created_at)}</dd>
      </dl>

      <h2>Access</h2>
      <div class="row">
        {u.is_active ? (
          <Button kind="danger" busy={act.busy === 'active'} disabled={self} onClick={() => patch('active', { is_active: false }, `${u.username} is deactivated and signed out everywhere.`)}>
            Deactivate
          </Button>
        ) : (
          <Button busy={act.busy === 'active'} onClick={() => patch('active', { is_active: true }, `${u.username} is active again.`)}>
            Activate
          </Button>
        )}
        {u.role === 'user' ? (
          <Button kind="plain" busy={act.busy === 'role'} onClick={() => patch('role', { role: 'admin' }, `${u.username} is now an admin.`)}>
            Make admin
          </Button>
        ) : (
          <Button kind="plain" busy={act.busy === 'role'} disabled={self} onClick={() => patch('role', { role: 'user' }, `${u.username} is no longer an admin.`)}>
            Remove admin role
          </Button>
        )}
        {u.mfa_enabled && (
          <Button
            kind="plain"
            busy={act.busy === 'mfa'}
            onClick={async () => {
              if (await act.run('mfa', () => api.DELETE('/users/{user_id}/mfa', { params: { path: { user_id: u.id } } }), `Two-factor sign-in is off for ${u.username}.`))
                props.onChange({ ...u, mfa_enabled: false })
            }}
          >
            Reset two-factor
          </Button>
        )}
        {u.is_active && !confirmSignOut && (
          <Button kind="plain" onClick={() => setConfirmSignOut(true)}>
            Sign out everywhere
          </Button>
        )}
      </div>
      {confirmSignOut && (
        <Confirm
          yes="Yes, sign out everywhere"
          busy={act.busy === 'sessions'}
          onCancel={() => setConfirmSignOut(false)}
          onYes={async () => {
            const done = self ? 'You are signed out everywhere.' : `${u.username} is signed out everywhere.`
            if (await act.run('sessions', () => api.DELETE('/users/{user_id}/sessions', { params: { path: { user_id: u.id } } }), done)) {
              setConfirmSignOut(false)
              reloadAudit()
            }
          }}
        >
          Sign {self ? 'yourself' : u.username} out on every device? Each session ends at once{self ? ', this one included' : ''}. Personal access tokens and the password stay.
        </Confirm>
      )}
      {self && <p class="hint">You cannot deactivate yourself or remove your own admin role here.</p>}
      <p class="hint">
        Signing out everywhere ends every session of the user; they can sign in again with their password. Deactivating also revokes their personal access tokens and keeps them out until they are activated again.
      </p>

      <h2>Edit</h2>
      <form
        noValidate
        onSubmit={(e) => {
          e.preventDefault()
          const ageValue = age.trim() === '' ? null : Number(age)
          void patch('edit', { username, email, age: ageValue }, 'Saved.')
        }}
      >
        <Field label="Username" value={username} onInput={setUsername} error={act.fields.username} />
        <Field label="E-mail address" type="email" value={email} onInput={setEmail} error={act.fields.email} />
        <Field label="Age (optional)" inputMode="numeric" value={age} onInput={setAge} error={act.fields.age} />
        <Button type="submit" busy={act.busy === 'edit'}>
          Save
        </Button>
      </form>

      <h2>Security activity</h2>
      <Loaded load={audit} what="the audit trail" retry={reloadAudit}>
        {(page) => <EventList events={page.events} empty="No events for this user." />}
      </Loaded>

      <h2>Delete</h2>
      <div class="panel">
        <p>Deleting removes the user, their sessions and their files for good. Type the username to confirm.</p>
        <form
          noValidate
          onSubmit={async (e) => {
            e.preventDefault()
            if (confirmName !== u.username) return
            if (await act.run('delete', () => api.DELETE('/users/{user_id}', { params: { path: { user_id: u.id } } }))) setDeleted(true)
          }}
        >
          <Field label={`Type ${u.username} to confirm`} value={confirmName} onInput={setConfirmName} autoComplete="off" />
          <Button kind="danger" type="submit" busy={act.busy === 'delete'} disabled={confirmName !== u.username || self}>
            Delete {u.username}
          </Button>
        </form>
      </div>
    </>
  )
}

/** Asks before an action that cannot be undone; focus moves to the question's first button. */
function Confirm(props: { children: ComponentChildren; yes: string; busy: boolean; onYes: () => void; onCancel: () => void }) {
  const ref = useRef<HTMLDivElement>(null)
  useEffect(() => ref.current?.querySelector('button')?.focus(), [])
  return (
    <div class="panel" role="group" aria-label="Confirm" ref={ref}>
      <p>{props.children}</p>
      <div class="row">
        <Button kind="danger" busy={props.busy} onClick={props.onYes}>
          {props.yes}
        </Button>
        <Button kind="plain" disabled={props.busy} onClick={props.onCancel}>
          Cancel
        </Button>
      </div>
    </div>
  )
}

export function Outbox() {
  const [status, setStatus] = useState('')
  const [afters, setAfters] = useState<number[]>([])
  const after = afters[afters.length - 1]
  const query = { limit: 25, ...(status ? { status: status as 'queued' } : {}), ...(after ? { after } : {}) }
  const [load, reload] = useLoad(() => api.GET('/admin/emails', { params: { query } }), [JSON.stringify(query)])
  const act = useAction()
  return (
    <>
      <Heading>E-mail outbox</Heading>
      <p>Every e-mail Roster sends goes through this queue. Bodies are never shown: a reset e-mail holds a credential.</p>
      {act.view}
      <div class="row">
        <Select
          label="Status"
          value={status}
          onChange={(v) => {
            setAfters([])
            setStatus(v)
          }}
          options={[['', 'all'], ['queued', 'queued'], ['sending', 'sending'], ['sent', 'sent'], ['dead', 'failed (dead)']]}
        />
      </div>
      <Loaded load={load} what="the outbox" retry={reload}>
        {(page) => (
          <>
            <p>
              Queued {page.counts.queued} · sending {page.counts.sending} · sent {page.counts.sent} · failed {page.counts.dead}
            </p>
            {page.emails.length === 0 ? (
              <p class="empty">No e-mail here.</p>
            ) : (
              <Table caption="E-mails" columns={[{ label: 'To' }, { label: 'Subject', wide: true }, { label: 'Status' }, { label: 'Attempts', wide: true }, { label: 'Last error', wide: true }, { label: 'Actions', actions: true }]}>
                    {page.emails.map((m) => (
                      <tr key={m.id}>
                        <td>{m.to}</td>
                        <td class="hide-narrow">{m.subject}</td>
                        <td>{m.status}</td>
                        <td class="hide-narrow">{m.attempts}</td>
                        <td class="hide-narrow">{m.last_error ?? '—'}</td>
                        <td>
                          {(m.status === 'dead' || m.status === 'queued') && m.kind !== 'password_reset' && (
                            <Button
                              kind="plain"
                              class="btn plain small"
                              busy={act.busy === `r${m.id}`}
                              aria-label={`Send again to ${m.to}`}
                              onClick={async () => (await act.run(`r${m.id}`, () => api.POST('/admin/emails/{email_id}/retry', { params: { path: { email_id: m.id } } }), `E-mail to ${m.to} queued again.`)) && reload()}
                            >
                              Retry
                            </Button>
                          )}
                        </td>
                      </tr>
                    ))}
              </Table>
            )}
            <Pager cursors={afters} setCursors={setAfters} next={page.next_after} />
          </>
        )}
      </Loaded>
    </>
  )
}

export function Invitations() {
  const [load, reload] = useLoad(() => api.GET('/admin/invitations'))
  const [email, setEmail] = useState('')
  const [role, setRole] = useState<'user' | 'admin'>('user')
  const act = useAction()
  return (
    <>
      <Heading>Invitations</Heading>
      <p>An invitation e-mails a link with which the person creates their own account. Links work once, for 7 days.</p>
      {act.view}
      <Loaded load={load} what="invitations" retry={reload}>
        {(list) => (
          <>
            {list.length === 0 ? (
              <p class="empty">No pending invitation.</p>
            ) : (
              <Table caption="Pending invitations" columns={[{ label: 'E-mail' }, { label: 'Role' }, { label: 'Expires', wide: true }, { label: 'Actions', actions: true }]}>
                    {list.map((i) => (
                      <tr key={i.id}>
                        <td>{i.email}</td>
                        <td>{i.role}</td>
                        <td class="hide-narrow">{formatTime(i.expires_at)}</td>
                        <td>
                          <Button
                            kind="plain"
                            class="btn plain small"
                            busy={act.busy === `x${i.id}`}
                            aria-label={`Revoke the invitation of ${i.email}`}
                            onClick={async () => (await act.run(`x${i.id}`, () => api.DELETE('/admin/invitations/{invitation_id}', { params: { path: { invitation_id: i.id } } }), 'Invitation revoked.')) && reload()}
                          >
                            Revoke
                          </Button>
                        </td>
                      </tr>
                    ))}
              </Table>
            )}
            <h2>Invite someone</h2>
            <form
              class="row"
              noValidate
              onSubmit={async (e) => {
                e.preventDefault()
                if (await act.run('invite', () => api.POST('/admin/invitations', { body: { email, role } }), `Invitation sent to ${email}.`)) {
                  setEmail('')
                  reload()
                }
              }}
            >
              <Field label="E-mail address" type="email" value={email} onInput={setEmail} error={act.fields.email} />
              <Select label="Role" value={role} onChange={(v) => setRole(v as 'user' | 'admin')} options={[['user', 'user'], ['admin', 'admin']]} />
              <div class="field">
                <Button type="submit" busy={act.busy === 'invite'}>
                  Send invitation
                </Button>
              </div>
            </form>
          </>
        )}
      </Loaded>
    </>
  )
}

export function AuditLog() {
  const { form, filters, cursors, setCursors, after, set, apply } = useSearch({ type: '', actor: '', target: '' })
  const query = {
    limit: 50,
    ...(filters.type ? { type: filters.type } : {}),
    ...(filters.actor ? { actor_id: Number(filters.actor) } : {}),
    ...(filters.target ? { target_id: Number(filters.target) } : {}),
    ...(after ? { after } : {})
  }
  const [load, reload] = useLoad(() => api.GET('/admin/audit', { params: { query } }), [JSON.stringify(query)])
  return (
    <>
      <Heading>Audit log</Heading>
      <form role="search" class="row" onSubmit={apply}>
        <Field label="Event type" value={form.type} onInput={set('type')} hint="e.g. login.failed" />
        <Field label="Actor id" inputMode="numeric" value={form.actor} onInput={set('actor')} />
        <Field label="Target id" inputMode="numeric" value={form.target} onInput={set('target')} />
        <div class="field">
          <Button type="submit">Filter</Button>
        </div>
      </form>
      <Loaded load={load} what="the audit log" retry={reload}>
        {(page) => (
          <>
            <EventList events={page.events} empty="No event matches." />
            <Pager cursors={cursors} setCursors={setCursors} next={page.next_cursor} back="Newer" forward="Older" />
          </>
        )}
      </Loaded>
    </>
  )
}
