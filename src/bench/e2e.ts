/**
 * End to end through a real Kafka broker and embedded ClickHouse: the service as `serve` builds it
 * (KafkaSource, Kafka sinks, chDB store) runs in this process with its own topics, consumer group
 * and data folder.
 *
 * 1. Throughput: pre-serialised simulator events are produced as fast as the producer goes, while
 *    the service consumes; sustained rate = events / (first send -> consumer group lag zero, i.e.
 *    every event's effects durable and its offset committed).
 * 2. Latency: fresh traffic (the fleet shifted by whole weeks) at half that rate, with probe events
 *    (a trained agent at risk level none reads a restricted resource it never used, at 03:00) mixed
 *    in; latency = from the start of the probe's send to the risk event it raised (the probe is its
 *    latest triggering event) arriving on the risk topic, read by a consumer in this process.
 * ClickHouse rows written (store.rowsWritten) are sampled during the throughput phase.
 */
import { mkdtempSync, rmSync } from 'node:fs'
import os from 'node:os'
import { join } from 'node:path'
import { Kafka, Partitioners, logLevel, type Message, type Producer } from 'kafkajs'
import type { AgentEventInput } from '../../schemas/events.ts'
import type { RiskEvent } from '../../schemas/risk.ts'
import { validateConfig } from '../config/load.ts'
import { createService } from '../service.ts'
import { createKafkaSinks } from '../sinks/kafka.ts'
import { KafkaSource } from '../sources/kafka.ts'
import { agentsOf, benchFleet, DAY_MS, probeEvent, shiftedCopy, type FleetSize } from './data.ts'
import { percentile, perSecond, sleep } from './stats.ts'

export interface E2eChildOptions {
  brokers: string[]
  fleet: FleetSize
  /** Length of the half-load latency phase. Seconds. */
  latencySeconds: number
  /** Probe events per second during the latency phase. */
  probesPerSecond: number
  /** Partitions of each topic (as scripts/kafka.sh creates them). */
  partitions: number
  tag: string
}

export interface RowsSample {
  /** Since the first send. Milliseconds. */
  atMs: number
  committed: number
  rows: Record<string, number>
}

export interface E2eChildResult {
  events: number
  /** Time to hand every event to the broker (acks from the leader). Milliseconds. */
  produceMs: number
  produceEps: number
  /** First send until every event is committed by the service's group. Milliseconds. */
  drainMs: number
  sustainedEps: number
  /** ClickHouse rows written per table during the throughput phase, per second. */
  rowsPerSecond: Record<string, number>
  samples: RowsSample[]
  latencyRateEps: number
  latencyEventsSent: number
  /** Achieved rate of the latency phase. Events per second. */
  latencyAchievedEps: number
  probesSent: number
  probesMatched: number
  latenciesMs: number[]
  p50Ms: number
  p99Ms: number
  riskEventsRead: number
}

const topicNames = (tag: string) => ({
  signins: `bench-${tag}.signins`,
  toolCalls: `bench-${tag}.tool-calls`,
  risk: `bench-${tag}.risk`,
  actions: `bench-${tag}.actions`,
  deadLetter: `bench-${tag}.dead-letter`,
})

function toMessages(events: readonly AgentEventInput[], topics: { signins: string; toolCalls: string }): { topic: string; message: Message }[] {
  return events.map((e) => ({
    topic: e.kind === 'signin' ? topics.signins : topics.toolCalls,
    message: { key: e.agent.id, value: Buffer.from(JSON.stringify(e), 'utf8') },
  }))
}

/** One sendBatch with the messages grouped by topic, acknowledged by the partition leader. */
async function sendAll(producer: Producer, items: readonly { topic: string; message: Message }[]): Promise<void> {
  if (items.length === 0) return
  const byTopic = new Map<string, Message[]>()
  for (const it of items) {
    let list = byTopic.get(it.topic)
    if (!list) byTopic.set(it.topic, (list = []))
    list.push(it.message)
  }
  await producer.sendBatch({ topicMessages: [...byTopic].map(([topic, messages]) => ({ topic, messages })), acks: 1 })
}

export async function measureE2eInProcess(opts: E2eChildOptions): Promise<E2eChildResult> {
  const topics = topicNames(opts.tag)
  const groupId = `bench-${opts.tag}`
  const dataDir = mkdtempSync(join(os.tmpdir(), 'agentwatch-bench-e2e-'))
  const kafka = new Kafka({ clientId: 'agentwatch-bench', brokers: opts.brokers, logLevel: logLevel.NOTHING })
  const admin = kafka.admin()
  await admin.connect()
  await admin.createTopics({
    waitForLeaders: true,
    topics: Object.values(topics).map((topic) => ({ topic, numPartitions: opts.partitions, replicationFactor: 1 })),
  })

  const fleet = benchFleet(opts.fleet)
  const throughputMessages = toMessages(fleet.events, topics)

  const config = validateConfig({ kafka: { enabled: true, brokers: opts.brokers, groupId, topics }, store: { dataDir } })
  const sinks = createKafkaSinks(config.kafka, { brokers: opts.brokers })
  const source = new KafkaSource(config.kafka, { brokers: opts.brokers })
  const service = await createService(config, { riskSinks: [sinks.risk], actionSinks: [sinks.actions], deadLetterSinks: [sinks.deadLetter], sources: [source] })
  const producer = kafka.producer({ createPartitioner: Partitioners.DefaultPartitioner, allowAutoTopicCreation: false })
  const reader = kafka.consumer({ groupId: `${groupId}-risk-reader`, maxWaitTimeInMs: 100 })
  const cleanup: (() => Promise<unknown>)[] = []
  try {
    await service.start()
    cleanup.push(() => service.stop(), () => sinks.close())
    await producer.connect()
    cleanup.push(() => producer.disconnect())

    // The risk reader: probe ids -> send time; matched on the risk event's contributing event ids.
    const probeSentAt = new Map<string, number>()
    const latenciesMs: number[] = []
    let riskEventsRead = 0
    let readerJoined = false
    reader.on(reader.events.GROUP_JOIN, () => (readerJoined = true))
    await reader.connect()
    cleanup.push(() => reader.disconnect())
    await reader.subscribe({ topic: topics.risk, fromBeginning: true })
    await reader.run({
      eachMessage: async ({ message }) => {
        const at = performance.now()
        riskEventsRead++
        if (probeSentAt.size === 0 || !message.value) return
        const r = JSON.parse(message.value.toString('utf8')) as RiskEvent
        // Only the risk event the probe itself raised: its triggering (latest) event. A later
        // level change also lists the probe among its contributing events, seconds later.
        const id = r.eventIds.at(-1)
        const sent = id === undefined ? undefined : probeSentAt.get(id)
        if (id !== undefined && sent !== undefined) {
          latenciesMs.push(at - sent)
          probeSentAt.delete(id)
        }
      },
    })
    for (let waited = 0; (source.assignedPartitions().length === 0 || !readerJoined) && waited < 60_000; waited += 100) await sleep(100)
    if (source.assignedPartitions().length === 0) throw new Error('the service was not assigned any partition within 60 s')

    // ---- 1. throughput --------------------------------------------------------------------------
    const committedTotal = async (): Promise<number> => {
      const offsets = await admin.fetchOffsets({ groupId, topics: [topics.signins, topics.toolCalls] })
      let n = 0
      for (const t of offsets) for (const p of t.partitions) if (Number(p.offset) > 0) n += Number(p.offset)
      return n
    }
    const samples: RowsSample[] = []
    const t0 = performance.now()
    const rows0 = service.store.rowsWritten
    let produceMs = 0
    const producing = (async () => {
      // Chunks of 5000 messages: large enough for the producer's batching, small enough to interleave with consuming.
      for (let i = 0; i < throughputMessages.length; i += 5000) await sendAll(producer, throughputMessages.slice(i, i + 5000))
      produceMs = performance.now() - t0
    })()
    const limitMs = Math.max(120_000, throughputMessages.length)
    let committed = 0
    while (committed < throughputMessages.length) {
      if (performance.now() - t0 > limitMs) throw new Error(`lag not zero after ${limitMs / 1000} s (${committed} of ${throughputMessages.length} committed)`)
      await sleep(100)
      committed = await committedTotal()
      samples.push({ atMs: Math.round(performance.now() - t0), committed, rows: service.store.rowsWritten })
    }
    const drainMs = performance.now() - t0
    await producing
    const rows1 = service.store.rowsWritten
    const rowsPerSecond = Object.fromEntries(Object.keys(rows1).map((table) => [table, perSecond((rows1[table] ?? 0) - (rows0[table] ?? 0), drainMs)]))
    const sustainedEps = perSecond(throughputMessages.length, drainMs)

    // ---- 2. latency at half load ---------------------------------------------------------------
    const rate = Math.max(50, Math.floor(sustainedEps / 2))
    const needed = Math.ceil(rate * opts.latencySeconds)
    const weeks = Math.ceil((opts.fleet.days + 1) / 7)
    let background: AgentEventInput[] = []
    for (let k = 1; background.length < needed; k++) background = background.concat(shiftedCopy(fleet.events, weeks * k, `lat${k}`))
    background = background.slice(0, needed)
    const backgroundMessages = toMessages(background, topics)
    const candidates = [...agentsOf(fleet.events)]
    let nextCandidate = 0
    const pickProbeAgent = () => {
      while (nextCandidate < candidates.length) {
        const [id, who] = candidates[nextCandidate++]!
        const profile = service.pipeline.baselines.agents.get(id)
        if (profile && profile.learned > 0 && profile.risk.level === 'none') return who
      }
      return undefined
    }
    let sent = 0
    let probesSent = 0
    const t1 = performance.now()
    while (sent < backgroundMessages.length) {
      const elapsedS = (performance.now() - t1) / 1000
      const due = Math.min(backgroundMessages.length, Math.floor(rate * elapsedS))
      const batch = backgroundMessages.slice(sent, due)
      const dayTs = Date.parse(background[Math.max(0, due - 1)]!.time)
      const probes: { topic: string; message: Message }[] = []
      while (probesSent < Math.floor(opts.probesPerSecond * elapsedS)) {
        const who = pickProbeAgent()
        if (!who) break
        const probe = probeEvent(who, dayTs, `probe-${opts.tag}-${probesSent}`)
        probes.push(...toMessages([probe], topics))
        probeSentAt.set(probe.eventId, Number.NaN)
        probesSent++
      }
      const sentAt = performance.now()
      for (const p of probes) probeSentAt.set(JSON.parse(p.message.value!.toString()).eventId as string, sentAt)
      await sendAll(producer, batch.concat(probes))
      sent = due
      // Ticks of 10 ms: the rate is smooth at the scale of the latencies measured.
      await sleep(10)
    }
    const latencyAchievedEps = perSecond(sent, performance.now() - t1)
    for (let waited = 0; probeSentAt.size > 0 && waited < 15_000; waited += 100) await sleep(100)
    await sleep(200)

    return {
      events: throughputMessages.length,
      produceMs,
      produceEps: perSecond(throughputMessages.length, produceMs),
      drainMs,
      sustainedEps,
      rowsPerSecond,
      samples,
      latencyRateEps: rate,
      latencyEventsSent: sent,
      latencyAchievedEps,
      probesSent,
      probesMatched: latenciesMs.length,
      latenciesMs,
      p50Ms: percentile(latenciesMs, 50),
      p99Ms: percentile(latenciesMs, 99),
      riskEventsRead,
    }
  } finally {
    for (const fn of cleanup.reverse()) await fn().catch(() => undefined)
    await admin.deleteTopics({ topics: Object.values(topics) }).catch(() => undefined)
    await admin.disconnect().catch(() => undefined)
    rmSync(dataDir, { recursive: true, force: true })
  }
}
