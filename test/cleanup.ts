/** Work to undo after the current test (temp folders, open databases, browsers), last first. */
export const cleanups: (() => void | Promise<void>)[] = []

export async function runCleanups(): Promise<void> {
  while (cleanups.length) {
    try {
      // Awaited one by one: a browser must have exited before its profile folder goes.
      await cleanups.pop()!()
    } catch {
      // A failed cleanup must not hide the test's own result or skip the rest.
    }
  }
}
