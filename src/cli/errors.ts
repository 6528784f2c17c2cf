/** A failure the CLI reports as one line, exit 1. The message holds no path but the user's own argument or setting (DATA_DIR). */
export class CliError extends Error {
  override name = 'CliError'
}

/** A mistake in the command line itself: one line, exit 2. */
export class UsageError extends Error {
  override name = 'UsageError'
}

/** ` (CODE)` for an error with a string code (ENOENT, SQLITE_BUSY...), else ''; never the message, which may hold a path. */
export const codeOf = (err: unknown): string => {
  const code = (err as { code?: unknown })?.code
  return typeof code === 'string' ? ` (${code})` : ''
}
