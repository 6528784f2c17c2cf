// One front end for the console (/console/…) and the hosted pages of e-mailed links.
import { render } from 'preact'
import { Console } from './console/app'
import { AcceptInvite, ResetPassword, VerifyEmail } from './hosted'
import './styles.css'

const pages: Record<string, () => preact.JSX.Element> = {
  '/reset-password': ResetPassword,
  '/verify-email': VerifyEmail,
  '/accept-invite': AcceptInvite
}

const root = document.getElementById('app')!
root.textContent = ''
const Page = pages[location.pathname] ?? Console
render(<Page />, root)
