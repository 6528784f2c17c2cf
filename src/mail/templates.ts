// Mail bodies are rendered at enqueue time and stored in the outbox, so a template
// change never alters a mail that is already queued, and the worker needs no user data.
import type { NewEmail } from './outbox'

export const MAIL_KINDS = {
  welcome: 'welcome',
  passwordReset: 'password_reset',
  verifyEmail: 'verify_email',
  emailChanged: 'email_changed',
  invitation: 'invitation'
} as const

/** How long a reset link is valid; the reset-token code must use the same value. */
export const RESET_TOKEN_TTL_MS = 60 * 60_000
/** How long an e-mail verification link is valid. */
export const VERIFY_TOKEN_TTL_MS = 48 * 60 * 60_000
/** How long an invitation link is valid. */
export const INVITE_TOKEN_TTL_MS = 7 * 24 * 60 * 60_000

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

/** A link to one of Roster's hosted pages carrying a one-time token. */
function pageLink(publicUrl: string, page: string, token: string): string {
  return `${publicUrl.replace(/\/+$/, '')}/${page}?token=${encodeURIComponent(token)}`
}

export const resetLink = (publicUrl: string, token: string) => pageLink(publicUrl, 'reset-password', token)
export const verifyLink = (publicUrl: string, token: string) => pageLink(publicUrl, 'verify-email', token)
export const inviteLink = (publicUrl: string, token: string) => pageLink(publicUrl, 'accept-invite', token)

function linkParagraphs(intro: string, link: string, outro: string): { text: string; html: string } {
  return {
    text: `${intro}\n\n${link}\n\n${outro}\n`,
    html: `<p>${escapeHtml(intro)}</p>
<p><a href="${escapeHtml(link)}">${escapeHtml(link)}</a></p>
<p>${escapeHtml(outro)}</p>`
  }
}

const VERIFY_INTRO = 'To confirm that this address is yours, open:'
const VERIFY_OUTRO = 'The link is valid for 48 hours and can be used once.'

/** The signup mail; for an unverified account it also carries the verification link. */
export function welcomeMail(input: { to: string; username: string; verify?: { token: string; publicUrl: string } }): NewEmail {
  const subject = 'Welcome to Roster'
  const ready = 'Your Roster account is ready. You can sign in with your username or e-mail address.'
  let text = `Welcome ${input.username}!\n\n${ready}\n`
  let html = `<h1>Welcome ${escapeHtml(input.username)}!</h1>\n<p>${escapeHtml(ready)}</p>`
  if (input.verify) {
    const p = linkParagraphs(VERIFY_INTRO, verifyLink(input.verify.publicUrl, input.verify.token), VERIFY_OUTRO)
    text += `\n${p.text}`
    html += `\n${p.html}`
  }
  return { kind: MAIL_KINDS.welcome, to: input.to, subject, text, html: layout(subject, html), hasLink: input.verify !== undefined }
}

/** A verification link on its own: a resend, or the new address after an e-mail change. */
export function verifyEmailMail(input: { to: string; username: string; token: string; publicUrl: string }): NewEmail {
  const subject = 'Confirm your e-mail address for Roster'
  const p = linkParagraphs(VERIFY_INTRO, verifyLink(input.publicUrl, input.token), `${VERIFY_OUTRO} If you did not ask for it, ignore this mail.`)
  return {
    kind: MAIL_KINDS.verifyEmail,
    hasLink: true,
    to: input.to,
    subject,
    text: `Hello ${input.username},\n\n${p.text}`,
    html: layout(subject, `<p>Hello ${escapeHtml(input.username)},</p>\n${p.html}`)
  }
}

/** Sent to the old address when the e-mail changes: a notice, no link. */
export function emailChangedMail(input: { to: string; username: string; newEmail: string }): NewEmail {
  const subject = 'Your Roster e-mail address was changed'
  const body = `The e-mail address of your Roster account was changed to ${input.newEmail}. Mail from Roster now goes there.`
  const warn = 'If you did not make this change, contact your Roster administrator at once.'
  return {
    kind: MAIL_KINDS.emailChanged,
    to: input.to,
    subject,
    text: `Hello ${input.username},\n\n${body}\n\n${warn}\n`,
    html: layout(subject, `<p>Hello ${escapeHtml(input.username)},</p>\n<p>${escapeHtml(body)}</p>\n<p>${escapeHtml(warn)}</p>`)
  }
}

export function invitationMail(input: { to: string; role: 'user' | 'admin'; token: string; publicUrl: string }): NewEmail {
  const subject = "You're invited to Roster"
  const intro = `You have been invited to join Roster${input.role === 'admin' ? ' as an administrator' : ''}. To choose your username and password, open:`
  const p = linkParagraphs(intro, inviteLink(input.publicUrl, input.token), 'The invitation is valid for 7 days and can be used once.')
  return { kind: MAIL_KINDS.invitation, hasLink: true, to: input.to, subject, text: `Hello,\n\n${p.text}`, html: layout(subject, `<p>Hello,</p>\n${p.html}`) }
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
  return { kind: MAIL_KINDS.passwordReset, hasLink: true, to: input.to, subject, text, html }
}
