/**
 * Helpers for tests against the real broker started by test/setup/kafka.ts.
 *
 *   describeKafka('...', () => { ... })        skipped when there is no broker
 *   const topics = await createTestTopics()    unique topic names per test, created
 *   await produce(topic, [{ key, value }])
 *   const got = await consumeN(topic, 3)       from the beginning, with a timeout
 */
import { spawn } from 'node:child_process'
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
    // On a broker that just started, waiting for leaders can fail while the metadata settles;
    // the topics are then created and only their leaders are awaited again.
    for (let attempt = 0; ; attempt++) {
      try {
        const existing = new Set(await admin.listTopics())
        const missing = names.filter((n) => !existing.has(n))
        if (missing.length) await admin.createTopics({ waitForLeaders: true, topics: missing.map((topic) => ({ topic, numPartitions, replicationFactor: 1 })) })
        else await admin.fetchTopicMetadata({ topics: names })
        return
      } catch (err) {
        if (attempt >= 20 || (err as { retriable?: boolean }).retriable === false) throw err
        await new Promise((r) => setTimeout(r, 250))
      }
    }
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
    // A group's coordinator may still be loading or moving right after the group appears.
    for (let attempt = 0; ; attempt++) {
      try {
        const [res] = await admin.fetchOffsets({ groupId, topics: [topic] })
        return new Map((res?.partitions ?? []).map((p) => [p.partition, p.offset]))
      } catch (err) {
        if (attempt >= 120 || (err as { retriable?: boolean }).retriable !== true) throw err
        await new Promise((r) => setTimeout(r, 250))
      }
    }
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

/** High-water mark (next offset to be written) per partition of `topic`. */
export async function endOffsets(topic: string): Promise<Map<number, number>> {
  const admin = testKafka().admin()
  await admin.connect()
  try {
    return new Map((await admin.fetchTopicOffsets(topic)).map((p) => [p.partition, Number(p.high)]))
  } finally {
    await admin.disconnect()
  }
}

/**
 * Every message `topic` holds now, read from the beginning with a fresh group up to the end
 * offsets at the time of the call; rejects if they do not all arrive within `timeoutMs`.
 */
export async function readTopic(topic: string, timeoutMs = 30_000): Promise<ConsumedMessage[]> {
  const ends = await endOffsets(topic)
  const want = [...ends.values()].reduce((a, b) => a + b, 0)
  if (want === 0) return []
  const got = await consumeN(topic, want, timeoutMs)
  return got.sort((a, b) => a.partition - b.partition || Number(a.offset) - Number(b.offset))
}

/** Sends many messages in requests of `chunk` (a request must stay under the broker's size limit). */
export async function produceMany(topic: string, messages: Message[], chunk = 500): Promise<void> {
  const producer = testKafka().producer({ allowAutoTopicCreation: false, idempotent: true, maxInFlightRequests: 1 })
  await producer.connect()
  try {
    for (let i = 0; i < messages.length; i += chunk) await producer.send({ topic, messages: messages.slice(i, i + chunk), acks: -1 })
  } finally {
    await producer.disconnect()
  }
}

/** A line-protocol child process running service instances (test/kafka/fixtures/instances.ts). */
export interface InstancesProcess {
  /** Every JSON line it printed so far. */
  readonly lines: Record<string, unknown>[]
  send(cmd: Record<string, unknown>): void
  /** Resolves with the first printed line (from the start) that `pred` accepts. */
  until(pred: (line: Record<string, unknown>) => boolean, timeoutMs?: number, what?: string): Promise<Record<string, unknown>>
  /** Events whose batches were durable, as counted from the batch reports (of the first `upTo` lines). */
  durableCount(upTo?: number): number
  /** Throws if the process has exited. */
  check(): void
  kill(): void
  readonly exited: Promise<number | null>
}

export interface InstancesConfig {
  groupId: string
  topics: KafkaTopics
  inputTopics: string[]
  dataDir: string
  risk?: Record<string, unknown>
  maxBytesPerPartition?: number
}

export function spawnInstances(script: string, cfg: InstancesConfig): InstancesProcess {
  const child = spawn(process.execPath, ['--import', 'tsx', script], {
    env: { ...process.env, LOG_LEVEL: process.env.CHILD_LOG_LEVEL ?? 'error', INSTANCES_CONFIG: JSON.stringify({ brokers: kafkaBrokers(), ...cfg }) },
    // Commands go over the IPC channel: stdin stays closed, since chDB takes a piped stdin for
    // external insert data.
    stdio: ['ignore', 'pipe', 'inherit', 'ipc'],
  })
  const lines: Record<string, unknown>[] = []
  const waiters = new Set<() => void>()
  let buf = ''
  child.stdout!.on('data', (chunk: Buffer) => {
    buf += chunk.toString('utf8')
    let nl: number
    while ((nl = buf.indexOf('\n')) >= 0) {
      const line = buf.slice(0, nl)
      buf = buf.slice(nl + 1)
      if (!line.startsWith('{')) continue
      lines.push(JSON.parse(line) as Record<string, unknown>)
    }
    for (const w of waiters) w()
  })
  let code: number | null | undefined
  const exited = new Promise<number | null>((resolve) =>
    child.on('exit', (c) => {
      code = c
      for (const w of waiters) w()
      resolve(c)
    }),
  )
  const ready = new Promise<void>((resolve, reject) => {
    const check = () => {
      if (lines.some((l) => l.ready)) {
        waiters.delete(check)
        resolve()
      } else if (code !== undefined) {
        waiters.delete(check)
        reject(new Error(`instances process exited (${code}) before it was ready`))
      }
    }
    waiters.add(check)
  })
  return {
    lines,
    exited,
    send: (cmd) => {
      // Commands wait until the process listens for them.
      void ready.then(() => child.send(cmd)).catch(() => undefined)
    },
    check: () => {
      if (code !== undefined) throw new Error(`instances process exited (${code})`)
    },
    until: (pred, timeoutMs = 60_000, what = 'a line') =>
      new Promise((resolve, reject) => {
        const check = () => {
          const hit = lines.find(pred)
          if (hit) done(() => resolve(hit))
          else if (code !== undefined) done(() => reject(new Error(`instances process exited (${code}) before ${what}`)))
        }
        const timer = setTimeout(() => done(() => reject(new Error(`no ${what} within ${timeoutMs} ms`))), timeoutMs)
        const done = (fn: () => void) => {
          clearTimeout(timer)
          waiters.delete(check)
          fn()
        }
        waiters.add(check)
        check()
      }),
    durableCount: (upTo = lines.length) => lines.slice(0, upTo).reduce((n, l) => n + (l.batch ? (l.batch as { count: number }).count : 0), 0),
    kill: () => child.kill('SIGKILL'),
  }
}
