/** Deepest offset a listing accepts: `skip` costs O(skip), keyset cursors do not. */
export const MAX_SKIP = 10_000

// Keyset pages are read with `limit + 1` rows: the extra row only says that
// another page follows, and is dropped before the page is returned.

/** Trims `rows` (in place) to the page; `next` is its last row when another page follows. */
export function trimPage<T>(rows: T[], limit: number): { rows: T[]; next: T | null } {
  if (rows.length <= limit) return { rows, next: null }
  rows.length = limit
  return { rows, next: rows[limit - 1] ?? null }
}
