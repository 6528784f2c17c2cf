// The batched stdout sink: every line arrives, in order, in few writes.
import { expect, test } from 'bun:test'
import { bufferedStdout, createLogger } from '../src/lib/log'

test('lines go out together a moment later, in order', async () => {
  const chunks: string[] = []
  const sink = bufferedStdout((c) => chunks.push(c))
  const log = createLogger('info', sink)
  log.info('a', { n: 1 })
  log.debug('hidden')
  log.info('b', { n: 2 })
  expect(chunks).toEqual([])
  await new Promise((r) => setImmediate(r))
  log.info('c', { n: 3 })
  expect(chunks).toEqual([])
  // Timers fire in order of their due time: the sink's 10 ms one before this.
  await Bun.sleep(30)
  expect(chunks.length).toBe(1)
  const lines = chunks.join('').split('\n').filter(Boolean).map((l) => JSON.parse(l))
  expect(lines.map((l) => [l.msg, l.n])).toEqual([['a', 1], ['b', 2], ['c', 3]])
  expect(new Date(lines[0].time).toISOString()).toBe(lines[0].time)
})

test('errors flush at once, with what came before them', () => {
  const chunks: string[] = []
  const log = createLogger('info', bufferedStdout((c) => chunks.push(c)))
  log.info('before')
  log.error('boom', { error: 'TypeError' })
  expect(chunks.join('').split('\n').filter(Boolean).map((l) => JSON.parse(l).msg)).toEqual(['before', 'boom'])
})

test('a large burst is written before the delay ends, nothing lost', async () => {
  const chunks: string[] = []
  const log = createLogger('info', bufferedStdout((c) => chunks.push(c)))
  for (let i = 0; i < 2000; i++) log.info('request', { i })
  expect(chunks.length).toBeGreaterThan(0)
  await Bun.sleep(30)
  const lines = chunks.join('').split('\n').filter(Boolean).map((l) => JSON.parse(l).i)
  expect(lines).toEqual(Array.from({ length: 2000 }, (_, i) => i))
})
