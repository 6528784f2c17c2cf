/** Milliseconds since the epoch as the contract's date-time string. */
export const iso = (ms: number): string => new Date(ms).toISOString()
