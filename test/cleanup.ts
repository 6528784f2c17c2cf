/** Work to undo after the current test (temp folders, open databases), last first. */
export const cleanups: (() => void)[] = []

export function runCleanups(): void {
  while (cleanups.length) {
    try {
      cleanups.pop()!()
    } catch {
      // A failed cleanup must not hide the test's own result or skip the rest.
    }
  }
}
