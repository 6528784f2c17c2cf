// The console's frame: who is signed in, the navigation, and which page shows.
import { useEffect, useState } from 'preact/hooks'
import { api, hasSession, onAuthChange, refresh, signOut, type User } from '../api'
import { Button, Link, Loading, Notice, usePath } from '../ui'
import { AuditLog, Invitations, Outbox, UserDetail, Users } from './admin'
import { Activity, Password, Profile, Sessions, Tokens, Totp } from './me'
import { SignIn } from './signin'

const BASE = '/console'

const mine: [string, string][] = [
  ['/', 'Profile'],
  ['/password', 'Password'],
  ['/sessions', 'Sessions'],
  ['/totp', 'Two-factor'],
  ['/tokens', 'Access tokens'],
  ['/activity', 'Activity']
]
const admin: [string, string][] = [
  ['/users', 'Users'],
  ['/invitations', 'Invitations'],
  ['/outbox', 'Outbox'],
  ['/audit', 'Audit log']
]

export function Console() {
  const [state, setState] = useState<'starting' | 'out' | 'in'>(hasSession() ? 'starting' : 'out')
  const [reason, setReason] = useState<string>()
  const [me, setMe] = useState<User | null>(null)

  useEffect(
    () =>
      onAuthChange((signedIn, why) => {
        if (!signedIn) {
          setMe(null)
          setReason(why)
          setState('out')
        } else setState('in')
      }),
    []
  )
  // A reload keeps the session: the refresh token in sessionStorage buys a new access token.
  useEffect(() => {
    if (state === 'starting') void refresh().then((ok) => !ok && setState('out'))
  }, [])
  useEffect(() => {
    if (state !== 'in') return
    void api.GET('/users/me').then(({ data }) => data && setMe(data))
  }, [state])

  if (state === 'starting' || (state === 'in' && !me))
    return (
      <main>
        <Loading />
      </main>
    )
  if (state === 'out' || !me) return <SignIn reason={reason} />
  return <SignedIn me={me} setMe={setMe} />
}

function SignedIn(props: { me: User; setMe: (u: User) => void }) {
  const { me } = props
  const path = usePath()
  const [leaving, setLeaving] = useState(false)
  const route = path.replace(/\?.*$/, '').slice(BASE.length).replace(/\/$/, '') || '/'
  const isAdmin = me.role === 'admin'
  const links = isAdmin ? [...mine, ...admin] : mine
  let page
  const userMatch = /^\/users\/(\d+)$/.exec(route)
  if (route === '/') page = <Profile me={me} setMe={props.setMe} />
  else if (route === '/password') page = <Password />
  else if (route === '/sessions') page = <Sessions />
  else if (route === '/totp') page = <Totp me={me} />
  else if (route === '/tokens') page = <Tokens me={me} />
  else if (route === '/activity') page = <Activity />
  else if (isAdmin && route === '/users') page = <Users />
  else if (isAdmin && userMatch) page = <UserDetail id={Number(userMatch[1])} me={me} key={userMatch[1]} />
  else if (isAdmin && route === '/invitations') page = <Invitations />
  else if (isAdmin && route === '/outbox') page = <Outbox />
  else if (isAdmin && route === '/audit') page = <AuditLog />
  else
    page = (
      <>
        <h1>Page not found</h1>
        <Notice kind="error">There is no such page in the console.</Notice>
        <Link href={`${BASE}/`}>Back to your profile</Link>
      </>
    )
  return (
    <>
      <a class="skip" href="#content">
        Skip to content
      </a>
      <header class="top">
        <p class="brand">Roster</p>
        <nav aria-label="Console">
          <ul>
            {links.map(([href, text]) => (
              <li key={href}>
                <Link href={`${BASE}${href === '/' ? '/' : href}`} current={route === href || (href === '/users' && !!userMatch)}>
                  {text}
                </Link>
              </li>
            ))}
          </ul>
        </nav>
        <div class="who">
          <span>
            Signed in as <strong>{me.username}</strong>
          </span>
          <Button
            kind="plain"
            class="btn plain small"
            busy={leaving}
            onClick={async () => {
              setLeaving(true)
              // The next person to sign in here starts on their profile, not on this page.
              history.replaceState(null, '', `${BASE}/`)
              await signOut()
            }}
          >
            Sign out
          </Button>
        </div>
      </header>
      <main id="content">{page}</main>
    </>
  )
}
