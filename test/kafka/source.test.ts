import { spawn } from 'node:child_process'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { afterEach, expect, it } from 'vitest'
import { KafkaSource } from '../../src/sources/kafka.ts'
import type { RawMessage } from '../../src/sources/types.ts'
import { FatalError, RetriableError } from '../../src/util/errors.ts'
import {
  committedOffsets,
  committedTotal,
  createTestTopics,
  describeKafka,
  kafkaBrokers,
  produce,
  testKafkaConfig,
  uniqueName,
  waitFor,
} from '../helpers/kafka.ts'

const here = dirname(fileURLToPath(import.meta.url))
const sources: KafkaSource[] = []
afterEach(async () => {
  await Promise.all(sources.splice(0).map((s) => s.stop()))
})

function source(...args: ConstructorParameters<typeof KafkaSource>): KafkaSource {
  const s = new KafkaSource(args[0], { sessionTimeoutMs: 6000, heartbeatIntervalMs: 500, stopGraceMs: 2000, ...args[1] })
  sources.push(s)
  return s
}

const event = (i: number, agent: string) => JSON.stringify({ eventId: `e${i}`, agent: { id: agent }, i })
const ids = (ms: RawMessage[]) => ms.map((m) => `${m.origin}/${m.partition}/${m.offset}`)
/** What the service does after a checkpoint: everything up to the batch's last message is durable. */
const acknowledge = (s: KafkaSource, ms: RawMessage[]) =>
  s.acknowledge([{ origin: ms[0]!.origin, partition: ms[0]!.partition!, offset: BigInt(ms.at(-1)!.offset!) }])

describeKafka('KafkaSource against a real broker', () => {
  it('delivers every message once with its position, reports ownership, commits only what is acknowledged', async () => {
    const topics = await createTestTopics(3)
    const config = testKafkaConfig(topics)
    const agents = ['agent-a', 'agent-b', 'agent-c', 'agent-d', 'agent-e']
    await produce(topics.signins, Array.from({ length: 20 }, (_, i) => ({ key: agents[i % 5], value: event(i, agents[i % 5]!) })))
    await produce(topics.toolCalls, Array.from({ length: 10 }, (_, i) => ({ key: agents[i % 5], value: event(100 + i, agents[i % 5]!) })))

    const got: RawMessage[] = []
    const assigned: number[][] = []
    const s = source(config)
    await s.start({
      // Processed, not acknowledged: the consumer fetches on but commits nothing.
      onBatch: async (ms) => {
        got.push(...ms)
      },
      onAssigned: async (ps) => {
        assigned.push(ps)
      },
    })
    await waitFor(() => got.length >= 30, 30_000, '30 messages')
    expect(new Set(ids(got)).size).toBe(30)
    expect(assigned).toEqual([[0, 1, 2]])
    for (const m of got) {
      expect(Buffer.isBuffer(m.value)).toBe(true)
      expect(typeof m.partition).toBe('number')
      expect(m.key).toBe(JSON.parse(m.value.toString()).agent.id)
    }
    await new Promise((r) => setTimeout(r, 1000))
    expect(await committedTotal(config.groupId, topics.signins)).toBe(0)
    // A partition it does not own, or a topic it does not read, is ignored.
    await s.acknowledge([{ origin: topics.signins, partition: 7, offset: 3n }, { origin: 'other-topic', partition: 0, offset: 3n }])
    // Acknowledged positions are committed (the next offset), only forward.
    const last = new Map<string, RawMessage[]>()
    for (const m of got) last.set(`${m.origin}/${m.partition}`, [m])
    for (const [, ms] of last) await acknowledge(s, ms)
    await s.acknowledge([{ origin: topics.signins, partition: got[0]!.partition!, offset: 0n }])
    await waitFor(async () => (await committedTotal(config.groupId, topics.signins)) === 20, 10_000, 'signins committed')
    await waitFor(async () => (await committedTotal(config.groupId, topics.toolCalls)) === 10, 10_000, 'tool calls committed')
  })

  it('redelivers a batch whose consumer was killed before onBatch resolved (nothing committed)', async () => {
    const topics = await createTestTopics(1)
    const groupId = uniqueName('kill')
    await produce(topics.signins, Array.from({ length: 5 }, (_, i) => ({ key: 'agent-x', value: event(i, 'agent-x') })))

    const child = spawn(process.execPath, ['--import', 'tsx', join(here, 'fixtures/hold-batch.ts')], {
      env: { ...process.env, KAFKA_BROKERS: kafkaBrokers().join(','), TOPIC: topics.signins, GROUP_ID: groupId, LOG_LEVEL: 'warn' },
      stdio: ['ignore', 'pipe', 'inherit'],
    })
    const firstDelivery = await new Promise<{ offset: string }[]>((resolve, reject) => {
      let buf = ''
      const timer = setTimeout(() => reject(new Error('child got no batch within 30 s')), 30_000)
      child.stdout!.on('data', (chunk: Buffer) => {
        buf += chunk.toString()
        const line = buf.split('\n').find((l) => l.startsWith('BATCH '))
        if (line) {
          clearTimeout(timer)
          resolve(JSON.parse(line.slice(6)))
        }
      })
      child.on('exit', (code) => reject(new Error(`child exited early with ${code}`)))
    })
    expect(firstDelivery.map((m) => m.offset)).toEqual(['0', '1', '2', '3', '4'])
    child.kill('SIGKILL')
    await new Promise((r) => child.once('exit', r))

    // Nothing was committed: onBatch never resolved.
    expect(Number((await committedOffsets(groupId, topics.signins)).get(0))).toBeLessThan(0)

    const got: RawMessage[] = []
    const s = source(testKafkaConfig(topics, groupId), { topics: [topics.signins] })
    await s.start({
      onBatch: async (ms) => {
        got.push(...ms)
        await acknowledge(s, ms)
      },
    })
    // The dead member holds the partition until its 6 s session expires.
    await waitFor(() => got.length >= 5, 40_000, 'redelivery')
    expect(got.map((m) => m.offset)).toEqual(['0', '1', '2', '3', '4'])
    await waitFor(async () => (await committedOffsets(groupId, topics.signins)).get(0) === '5', 10_000, 'commit after redelivery')
  })

  it('does not commit a batch abandoned at stop; the next owner gets it again', async () => {
    const topics = await createTestTopics(1)
    const config = testKafkaConfig(topics)
    await produce(topics.signins, [{ key: 'a', value: event(1, 'a') }, { key: 'a', value: event(2, 'a') }])

    let held = 0
    const first = source(config, { topics: [topics.signins], stopGraceMs: 500 })
    await first.start({
      onBatch: () => {
        held++
        return new Promise<void>(() => {})
      },
    })
    await waitFor(() => held > 0, 30_000, 'first batch')
    await first.stop()
    expect(Number((await committedOffsets(config.groupId, topics.signins)).get(0))).toBeLessThan(0)

    const got: RawMessage[] = []
    const second = source(config, { topics: [topics.signins] })
    await second.start({ onBatch: async (ms) => void got.push(...ms) })
    await waitFor(() => got.length >= 2, 30_000, 'redelivery')
    expect(got.map((m) => m.offset)).toEqual(['0', '1'])
  })

  it('pauses a partition on failure and redelivers with backoff until onBatch succeeds; other partitions flow', async () => {
    const topics = await createTestTopics(2)
    const config = testKafkaConfig(topics)
    // Keys chosen to land on both partitions.
    const keys = Array.from({ length: 12 }, (_, i) => `agent-${i}`)
    await produce(topics.signins, keys.map((k, i) => ({ key: k, value: event(i, k) })))

    const attempts = new Map<string, number>()
    const delivered: RawMessage[] = []
    const timeline: { partition: number; at: number; ok: boolean }[] = []
    const s = source(config, { topics: [topics.signins], backoff: { baseMs: 100, maxMs: 400 } })
    await s.start({
      onBatch: async (ms) => {
        const p = ms[0]!.partition!
        const key = `${p}/${ms[0]!.offset}`
        const n = (attempts.get(key) ?? 0) + 1
        attempts.set(key, n)
        if (p === 0 && n === 1) {
          timeline.push({ partition: p, at: Date.now(), ok: false })
          throw new RetriableError('store busy')
        }
        if (p === 0 && n === 2) {
          timeline.push({ partition: p, at: Date.now(), ok: false })
          throw new FatalError('unexpected')
        }
        timeline.push({ partition: p, at: Date.now(), ok: true })
        delivered.push(...ms)
        await acknowledge(s, ms)
      },
    })
    await waitFor(() => delivered.length >= 12, 30_000, 'all 12 after retries')
    expect(new Set(ids(delivered)).size).toBe(12)
    // Partition 0's first batch was tried three times, starting at the same offset each time.
    const p0 = [...attempts.entries()].filter(([k]) => k.startsWith('0/'))
    expect(p0[0]![1]).toBe(3)
    await waitFor(async () => (await committedTotal(config.groupId, topics.signins)) === 12, 10_000, 'all committed')
  })

  it('gives one instance the same partition numbers on every topic (co-partitioned assignment)', async () => {
    const topics = await createTestTopics(4)
    const config = testKafkaConfig(topics)
    const keys = Array.from({ length: 40 }, (_, i) => `agent-${i}`)
    const seen: { instance: number; m: RawMessage }[] = []
    const a = source(config)
    const b = source(config)
    await a.start({ onBatch: async (ms) => void seen.push(...ms.map((m) => ({ instance: 0, m }))) })
    await b.start({ onBatch: async (ms) => void seen.push(...ms.map((m) => ({ instance: 1, m }))) })
    await waitFor(() => a.assignedPartitions().length === 2 && b.assignedPartitions().length === 2, 30_000, 'a 2/2 split')
    expect([...a.assignedPartitions(), ...b.assignedPartitions()].sort()).toEqual([0, 1, 2, 3])

    await produce(topics.signins, keys.map((k, i) => ({ key: k, value: event(i, k) })))
    await produce(topics.toolCalls, keys.map((k, i) => ({ key: k, value: event(100 + i, k) })))
    await waitFor(() => seen.length >= 80, 30_000, '80 messages')
    // Every partition number, on both topics, was processed by one instance only: an agent's
    // sign-ins and tool calls meet in the same process.
    const owners = new Map<number, Set<number>>()
    for (const { instance, m } of seen) owners.set(m.partition!, (owners.get(m.partition!) ?? new Set()).add(instance))
    expect(owners.size).toBe(4)
    for (const set of owners.values()) expect(set.size).toBe(1)
    const byAgent = new Map<string, Set<number>>()
    for (const { instance, m } of seen) byAgent.set(m.key!, (byAgent.get(m.key!) ?? new Set()).add(instance))
    for (const set of byAgent.values()) expect(set.size).toBe(1)
  })
})
