/** The edge: positions per topic-partition, redeliveries by offset, and dead letters. */
import { expect, it } from 'vitest'
import { toolCall, T0, MINUTE } from '../../detectors/fixtures/kit.ts'
import { validateConfig } from '../../src/config/load.ts'
import { Ingestor, isHigherOffset } from '../../src/pipeline/ingest.ts'
import { Pipeline } from '../../src/pipeline/pipeline.ts'
import type { DeadLetter, Sink } from '../../src/sinks/types.ts'
import type { RawMessage } from '../../src/sources/types.ts'

function collecting<T>(): Sink<T> & { written: T[] } {
  const written: T[] = []
  return { name: 'collect', written, write: (x: T) => void written.push(x), flush: async () => {}, close: async () => {} } as unknown as Sink<T> & { written: T[] }
}

const message = (k: number, origin: string, partition: number, offset: string): RawMessage => ({
  value: JSON.stringify(toolCall(T0 + k * MINUTE, { eventId: `e-${origin}-${partition}-${offset}`, agent: { id: `agent-${partition}` } })),
  origin,
  partition,
  offset,
})

it('offsets compare as numbers, not as text', () => {
  expect(isHigherOffset('10', '9')).toBe(true)
  expect(isHigherOffset('9', '10')).toBe(false)
  expect(isHigherOffset('100', '100')).toBe(false)
  expect(isHigherOffset('18446744073709551615', '9007199254740993')).toBe(true)
})

it('records the highest offset processed per topic-partition, in interleaved and unordered batches', () => {
  const ingestor = new Ingestor({ pipeline: new Pipeline(validateConfig({})), deadLetters: collecting<DeadLetter>(), risk: collecting() })
  ingestor.process([
    message(1, 'calls', 0, '9'),
    message(2, 'calls', 0, '10'),
    message(3, 'calls', 0, '8'),
    message(4, 'calls', 1, '99'),
    message(5, 'signins', 0, '5'),
    message(6, 'calls', 1, '100'),
    message(7, 'calls', 0, '11'),
  ])
  const positions = () => Object.fromEntries(ingestor.processedPositions().map((p) => [`${p.origin}/${p.partition}`, p.offset]))
  expect(positions()).toEqual({ 'calls/0': 11n, 'calls/1': 100n, 'signins/0': 5n })
  // A redelivered older batch moves nothing back.
  ingestor.process([message(1, 'calls', 0, '9'), message(4, 'calls', 1, '99')])
  expect(positions()).toEqual({ 'calls/0': 11n, 'calls/1': 100n, 'signins/0': 5n })
  ingestor.forgetPartitions([1])
  expect(positions()).toEqual({ 'calls/0': 11n, 'signins/0': 5n })
})

it('drops a redelivered message by its offset, and dead-letters a malformed one with its reason and bytes', () => {
  const deadLetters = collecting<DeadLetter>()
  const ingestor = new Ingestor({ pipeline: new Pipeline(validateConfig({})), deadLetters, risk: collecting() })
  const first = ingestor.process([message(1, 'calls', 2, '41'), message(2, 'calls', 2, '42')])
  expect([first.accepted, first.duplicates]).toEqual([2, 0])
  const bad: RawMessage = { value: Buffer.from([0x7b, 0xff, 0x7d]), origin: 'calls', partition: 2, offset: '43' }
  const again = ingestor.process([message(2, 'calls', 2, '42'), bad, message(3, 'calls', 2, '44')])
  expect([again.accepted, again.duplicates, again.rejected]).toEqual([1, 1, 1])
  expect(again.results.map((r) => r.status)).toEqual(['duplicate', 'rejected', 'accepted'])
  expect(deadLetters.written).toHaveLength(1)
  expect(deadLetters.written[0]!.reason).toMatch(/^not valid JSON/)
  expect(Buffer.compare(deadLetters.written[0]!.payload as Buffer, bad.value as Buffer)).toBe(0)
  expect(ingestor.processedPositions()[0]!.offset).toBe(44n)
})
