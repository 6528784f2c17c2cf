// Mail bodies are rendered at enqueue time and stored in the outbox, so a template
// change never alters a mail that is already queued, and the worker needs no user data.
import type { NewEmail } from './outbox'

export const MAIL_KINDS = { welcome: 'welcome', passwordReset: 'password_reset' } as const

/** How long a reset link is valid; the reset-token code must use the same value. */
export const RESET_TOKEN_TTL_MS = 60 * 60_000

export function escapeHtml(value: string): string {
  return value
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;')
    .replace(/'/g, '&#39;')
}

function layout(title: string, bodyHtml: string): string {
  return `<!doctype html>
<html><head><meta charset="utf-8"><title>${escapeHtml(title)}</title></head>
<body style="font-family: sans-serif; line-height: 1.5">
${bodyHtml}
</body></html>`
}

export function welcomeMail(input: { to: string; username: string }): NewEmail {
  const subject = 'Welcome to Roster'
  const text = `Welcome ${input.username}!

Your Roster account is ready. You can sign in with your username or e-mail address.
`
  const html = layout(
    subject,
    `<h1>Welcome ${escapeHtml(input.username)}!</h1>
<p>Your Roster account is ready. You can sign in with your username or e-mail address.</p>`
  )
  return { kind: MAIL_KINDS.welcome, to: input.to, subject, text, html }
}

export function resetLink(publicUrl: string, token: string): string {
  return `${publicUrl.replace(/\/+$/, '')}/reset-password?token=${encodeURIComponent(token)}`
}

// The token travels only inside the body: the outbox row is the one place it is stored
// in clear (the DB keeps only its hash elsewhere), and the log transport never prints bodies.
export function passwordResetMail(input: { to: string; username: string; token: string; publicUrl: string }): NewEmail {
  const subject = 'Reset your Roster password'
  const link = resetLink(input.publicUrl, input.token)
  const text = `Hello ${input.username},

Someone asked to reset the password of your Roster account. To choose a new password, open:

${link}

The link is valid for one hour and can be used once. If you did not ask for it, ignore this mail: your password stays unchanged.
`
  const html = layout(
    subject,
    `<p>Hello ${escapeHtml(input.username)},</p>
<p>Someone asked to reset the password of your Roster account. To choose a new password, open:</p>
<p><a href="${escapeHtml(link)}">${escapeHtml(link)}</a></p>
<p>The link is valid for one hour and can be used once. If you did not ask for it, ignore this mail: your password stays unchanged.</p>`
  )
  return { kind: MAIL_KINDS.passwordReset, to: input.to, subject, text, html }
}
