/**
 * Helpers for tests against the real broker started by test/setup/kafka.ts.
 *
 *   describeKafka('...', () => { ... })        skipped when there is no broker
 *   const topics = await createTestTopics()    unique topic names per test, created
 *   await produce(topic, [{ key, value }])
 *   const got = await consumeN(topic, 3)       from the beginning, with a timeout
 */
import { randomUUID } from 'node:crypto'
import { Kafka, logLevel, type IHeaders, type KafkaMessage, type Message } from 'kafkajs'
import { describe, inject } from 'vitest'
import type { Config } from '../../schemas/config.ts'

/** Brokers of the test run; empty when Kafka tests must be skipped. */
export function kafkaBrokers(): string[] {
  const raw = inject('kafkaBrokers') || process.env.KAFKA_BROKERS || ''
  return raw.split(',').map((b) => b.trim()).filter(Boolean)
}

export const hasKafka = kafkaBrokers().length > 0

/** `describe` that is skipped, visibly, when no broker is available. */
export const describeKafka = describe.skipIf(!hasKafka)

let client: Kafka | undefined
export function testKafka(): Kafka {
  client ??= new Kafka({ clientId: 'agentwatch-test', brokers: kafkaBrokers(), logLevel: logLevel.NOTHING })
  return client
}

/** A name no other test (or earlier run against the same broker) uses. */
export function uniqueName(prefix: string): string {
  return `${prefix}.${randomUUID().slice(0, 8)}`
}

export async function createTopics(names: string[], numPartitions = 3): Promise<void> {
  const admin = testKafka().admin()
  await admin.connect()
  try {
    await admin.createTopics({ waitForLeaders: true, topics: names.map((topic) => ({ topic, numPartitions, replicationFactor: 1 })) })
  } finally {
    await admin.disconnect()
  }
}

export type KafkaTopics = Config['kafka']['topics']

/** The five AgentWatch topics under unique names, created with `numPartitions` each. */
export async function createTestTopics(numPartitions = 3): Promise<KafkaTopics> {
  const run = randomUUID().slice(0, 8)
  const topics: KafkaTopics = {
    signins: `t${run}.agent.signins`,
    toolCalls: `t${run}.agent.tool-calls`,
    risk: `t${run}.agent.risk`,
    actions: `t${run}.agent.actions`,
    deadLetter: `t${run}.agent.dead-letter`,
  }
  await createTopics(Object.values(topics), numPartitions)
  return topics
}

/** A full `Config['kafka']` for the test broker, with unique topics and group. */
export function testKafkaConfig(topics: KafkaTopics, groupId = uniqueName('agentwatch-test')): Config['kafka'] {
  return { enabled: true, brokers: kafkaBrokers(), clientId: 'agentwatch-test', groupId, topics }
}

export async function produce(topic: string, messages: Message[]): Promise<void> {
  // Idempotent: a send retried after a fresh topic's leader moved must not write a message twice,
  // or tests counting messages would see duplicates that no consumer caused.
  const producer = testKafka().producer({ allowAutoTopicCreation: false, idempotent: true, maxInFlightRequests: 1 })
  await producer.connect()
  try {
    await producer.send({ topic, messages, acks: -1 })
  } finally {
    await producer.disconnect()
  }
}

export interface ConsumedMessage {
  topic: string
  partition: number
  offset: string
  key: string | undefined
  value: Buffer
  headers: Record<string, string>
}

function headerStrings(h: IHeaders | undefined): Record<string, string> {
  const out: Record<string, string> = {}
  for (const [k, v] of Object.entries(h ?? {})) {
    if (v === undefined) continue
    out[k] = Array.isArray(v) ? v.map(String).join(',') : v.toString()
  }
  return out
}

function toConsumed(topic: string, partition: number, m: KafkaMessage): ConsumedMessage {
  return { topic, partition, offset: m.offset, key: m.key?.toString('utf8'), value: m.value ?? Buffer.alloc(0), headers: headerStrings(m.headers) }
}

/**
 * Reads `n` messages of `topic` from the beginning with a fresh group, and rejects if fewer
 * arrive within `timeoutMs` (milliseconds). Extra messages are ignored.
 */
export async function consumeN(topic: string, n: number, timeoutMs = 20_000): Promise<ConsumedMessage[]> {
  const consumer = testKafka().consumer({ groupId: uniqueName('reader'), sessionTimeout: 6000, heartbeatInterval: 500 })
  const got: ConsumedMessage[] = []
  await consumer.connect()
  try {
    await consumer.subscribe({ topics: [topic], fromBeginning: true })
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`consumeN: ${got.length}/${n} messages from ${topic} within ${timeoutMs} ms`)), timeoutMs)
      consumer
        .run({
          eachMessage: async ({ topic: t, partition, message }) => {
            if (got.length >= n) return
            got.push(toConsumed(t, partition, message))
            if (got.length >= n) {
              clearTimeout(timer)
              resolve()
            }
          },
        })
        .catch(reject)
    })
  } finally {
    await consumer.disconnect()
  }
  return got
}

/** Resolves when `pred` is (or resolves to) true, polling every 50 ms; rejects after `timeoutMs` milliseconds. */
export async function waitFor(pred: () => boolean | Promise<boolean>, timeoutMs = 20_000, what = 'condition'): Promise<void> {
  const until = Date.now() + timeoutMs
  while (!(await pred())) {
    if (Date.now() > until) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`)
    await new Promise((r) => setTimeout(r, 50))
  }
}

/** The committed offset (next to read) of `groupId` per partition of `topic`; -1 = none. */
export async function committedOffsets(groupId: string, topic: string): Promise<Map<number, string>> {
  const admin = testKafka().admin()
  await admin.connect()
  try {
    const [res] = await admin.fetchOffsets({ groupId, topics: [topic] })
    return new Map((res?.partitions ?? []).map((p) => [p.partition, p.offset]))
  } finally {
    await admin.disconnect()
  }
}

/** Sum of the committed offsets of `groupId` over all partitions of `topic` (messages acknowledged). */
export async function committedTotal(groupId: string, topic: string): Promise<number> {
  let total = 0
  for (const o of (await committedOffsets(groupId, topic)).values()) if (Number(o) > 0) total += Number(o)
  return total
}
