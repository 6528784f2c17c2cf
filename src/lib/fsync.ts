// Durability of files and folders. fsync on a file flushes its data (whichever
// descriptor wrote it); on a folder it makes a create, rename or unlink in it
// survive a power loss.
import { closeSync, fsyncSync, openSync } from 'node:fs'
import { open } from 'node:fs/promises'

/** Blocks the thread: for the CLI and start-up, and after-commit clean-ups. */
export function fsyncPath(path: string): void {
  const fd = openSync(path, 'r')
  try {
    fsyncSync(fd)
  } finally {
    closeSync(fd)
  }
}

/** Off the event loop: for request handlers. */
export async function fsyncPathAsync(path: string): Promise<void> {
  const fh = await open(path, 'r')
  try {
    await fh.sync()
  } finally {
    await fh.close()
  }
}
