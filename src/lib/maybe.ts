// Values that are ready at once on SQLite (bun:sqlite is synchronous) and come
// later on PostgreSQL. The request hot path (token -> user -> session) passes
// them through without an await, so SQLite pays no promise per request.
export type MaybePromise<T> = T | Promise<T>

export function then<T, R>(value: MaybePromise<T>, fn: (v: T) => R): MaybePromise<R> {
  return value instanceof Promise ? value.then(fn) : fn(value)
}
