// Structured JSON logging, one object per line. Callers pass fields, never
// free-form error messages: those can carry SQL, paths or secrets.
import type { LogLevel } from '../config'

const RANK: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40, silent: 100 }

export type LogFields = Record<string, string | number | boolean | null | undefined>

export interface Logger {
  debug(msg: string, fields?: LogFields): void
  info(msg: string, fields?: LogFields): void
  warn(msg: string, fields?: LogFields): void
  error(msg: string, fields?: LogFields): void
  enabled(level: LogLevel): boolean
}

export type Sink = ((line: string) => void) & { flush?: () => void }

const MAX_BUFFER = 64 * 1024

/**
 * Standard output, batched: lines go out in one write at most `delayMs` after
 * the first of them, or at once past 64 KiB, and at exit. Warnings and errors
 * flush at once (see createLogger). A write per event-loop turn was still 12%
 * of the CPU profile of an authenticated GET under load (a turn handles only a
 * few requests); a write per 10 ms is a few dozen lines each. The price: on
 * kill -9, up to 10 ms of info lines are lost; a graceful stop keeps them all.
 */
export function bufferedStdout(write: (chunk: string) => void = (c) => void process.stdout.write(c), delayMs = 10): Sink {
  let buffer = ''
  let timer: ReturnType<typeof setTimeout> | undefined
  const flush = () => {
    if (timer !== undefined) clearTimeout(timer)
    timer = undefined
    if (buffer === '') return
    const chunk = buffer
    buffer = ''
    write(chunk)
  }
  process.on('exit', flush)
  const sink: Sink = (line) => {
    buffer += line + '\n'
    if (buffer.length >= MAX_BUFFER) flush()
    else if (timer === undefined) timer = setTimeout(flush, delayMs)
  }
  sink.flush = flush
  return sink
}

let stdoutSink: Sink | undefined

// toISOString per line showed in profiles; lines within one millisecond share it.
let lastMs = 0
let lastIso = ''
function isoNow(): string {
  const ms = Date.now()
  if (ms !== lastMs) {
    lastMs = ms
    lastIso = new Date(ms).toISOString()
  }
  return lastIso
}

export function createLogger(level: LogLevel, sink: Sink = (stdoutSink ??= bufferedStdout())): Logger {
  const min = RANK[level]
  const write = (lvl: Exclude<LogLevel, 'silent'>, msg: string, fields?: LogFields) => {
    if (RANK[lvl] < min) return
    sink(JSON.stringify({ time: isoNow(), level: lvl, msg, ...fields }))
    // Warnings and errors are not held back: they may precede a crash.
    if (RANK[lvl] >= RANK.warn) sink.flush?.()
  }
  return {
    debug: (m, f) => write('debug', m, f),
    info: (m, f) => write('info', m, f),
    warn: (m, f) => write('warn', m, f),
    error: (m, f) => write('error', m, f),
    enabled: (l) => RANK[l] >= min
  }
}
