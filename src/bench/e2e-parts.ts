/**
 * What each stage of the end-to-end path costs alone on this machine, per event: producing with
 * kcat and with kafkajs (and the broker's CPU meanwhile), consuming with kafkajs as the service's
 * source is configured (the broker's CPU meanwhile), decode + validate + process, encoding the
 * events rows, and inserting them into embedded ClickHouse. The sum of CPU per event bounds what
 * two cores can sustain with everything on them.
 *
 *   npx tsx src/bench/e2e-parts.ts [copies=5]    (KAFKA_BROKERS to use a running broker; its CPU is then not measured)
 */
import { spawn } from 'node:child_process'
import { once } from 'node:events'
import { mkdtempSync, rmSync } from 'node:fs'
import os from 'node:os'
import { join } from 'node:path'
import { Kafka, logLevel } from 'kafkajs'
import { decodeRaw, type AgentEventInput } from '../../schemas/events.ts'
import { validateConfig } from '../config/load.ts'
import { Pipeline } from '../pipeline/pipeline.ts'
import { Store } from '../store/store.ts'
import { eventLine } from '../store/rows.ts'
import { startLocalBroker } from '../util/local-broker.ts'
import { benchFleet, decodeAll, shiftedCopy } from './data.ts'
import { hasKcat, kafkajsProducer } from './load-producer.ts'
import { processCpuMs } from './process-cpu.ts'

/** CPU time of this process's main thread (the event loop) alone. Milliseconds. */
const mainThreadCpuMs = () => processCpuMs(`${process.pid}/task/${process.pid}`) ?? Number.NaN
const ownCpuMs = () => {
  const u = process.cpuUsage()
  return (u.user + u.system) / 1000
}

interface Stage {
  stage: string
  events: number
  wallMs: number
  cpuMs: number
  /** Of cpuMs, on the main thread: the time the event loop could not run anything else. */
  mainCpuMs: number
  brokerCpuMs?: number
}

async function main(): Promise<void> {
  const copies = Number(process.argv[2] ?? 5)
  const given = process.env.KAFKA_BROKERS?.split(',').filter(Boolean)
  const local = given?.length ? undefined : await startLocalBroker('agentwatch-parts-kafka-')
  const brokers = given?.length ? given : local!.brokers
  const brokerCpu = () => (local ? (processCpuMs(local.pid) ?? Number.NaN) : Number.NaN)
  const stages: Stage[] = []
  const measure = async (stage: string, events: number, fn: () => Promise<void> | void, cpu = ownCpuMs) => {
    const b0 = brokerCpu()
    const c0 = cpu()
    const m0 = mainThreadCpuMs()
    const t0 = performance.now()
    await fn()
    stages.push({ stage, events, wallMs: performance.now() - t0, cpuMs: cpu() - c0, mainCpuMs: mainThreadCpuMs() - m0, brokerCpuMs: brokerCpu() - b0 })
  }

  const fleet = benchFleet({ seed: 2, agents: 100, days: 7 })
  let events: AgentEventInput[] = fleet.events
  for (let k = 1; k < copies; k++) events = events.concat(shiftedCopy(fleet.events, 2 * k, `p${k}`))
  const raw = events.map((e) => Buffer.from(JSON.stringify(e), 'utf8'))
  const kafka = new Kafka({ clientId: 'agentwatch-parts', brokers, logLevel: logLevel.NOTHING })
  const admin = kafka.admin()
  await admin.connect()
  const tag = Date.now().toString(36)
  const topicA = `parts-${tag}-kcat`
  const topicB = `parts-${tag}-kafkajs`
  await admin.createTopics({ waitForLeaders: true, topics: [topicA, topicB].map((topic) => ({ topic, numPartitions: 6, replicationFactor: 1 })) })
  const dataDir = mkdtempSync(join(os.tmpdir(), 'agentwatch-parts-'))
  try {
    if (hasKcat()) {
      const body = events.map((e, i) => `${e.agent.id}\t${raw[i]!.toString('utf8')}\n`).join('')
      await measure(
        'produce, kcat (librdkafka), acks=1',
        events.length,
        async () => {
          const child = spawn('kcat', ['-b', brokers.join(','), '-P', '-t', topicA, '-K', '\t', '-X', 'partitioner=murmur2_random', '-X', 'acks=1'], { stdio: ['pipe', 'ignore', 'inherit'] })
          child.stdin.end(body)
          await once(child, 'exit')
        },
        () => processCpuMs('self', { children: true }) ?? Number.NaN,
      )
    }
    const producer = await kafkajsProducer(kafka)
    await measure('produce, kafkajs, acks=1, 5,000 a request', events.length, async () => {
      for (let i = 0; i < events.length; i += 5000) await producer.send(events.slice(i, i + 5000).map((e, j) => ({ topic: topicB, key: e.agent.id, value: raw[i + j]! })))
    })
    await producer.close()

    // The service's source settings (src/sources/kafka.ts): 1 MiB per partition, 6 partitions at once.
    const consumer = kafka.consumer({ groupId: `parts-${tag}`, maxBytesPerPartition: 1024 * 1024, maxWaitTimeInMs: 500 })
    await consumer.connect()
    await consumer.subscribe({ topic: topicB, fromBeginning: true })
    let seen = 0
    let done!: () => void
    const all = new Promise<void>((r) => (done = r))
    await measure('consume, kafkajs (fetch + decode), from the group join', events.length, async () => {
      await consumer.run({
        autoCommit: false,
        partitionsConsumedConcurrently: 6,
        eachBatch: async ({ batch }) => {
          seen += batch.messages.length
          if (seen >= events.length) done()
        },
      })
      await all
    })
    await consumer.disconnect()

    const pipeline = new Pipeline(validateConfig({}))
    // Nothing of an event outlives its processing here, as in the service; holding every decoded
    // event for the stages below made the collector copy them all, and this stage ~20% dearer.
    await measure('decode + validate + process (pipeline)', events.length, () => {
      for (const r of raw) {
        const d = decodeRaw(r)
        if (d.ok) pipeline.process(d.event)
      }
    })
    const decoded = decodeAll(raw)
    const lines: string[] = []
    await measure('events row encode (eventLine)', decoded.length, () => {
      for (const e of decoded) lines.push(eventLine(e, 0, true, '2026-11-22 10:00:00.000'))
    })
    const storeConfig = validateConfig({ store: { dataDir } }).store
    const store = await Store.open(storeConfig)
    // As the service does at full speed: a checkpoint flushes every checkpointEvents events, and
    // events come in batches (~500 from a fetch), with turns of the event loop between them in
    // which inserts start and finish.
    const every = Math.min(storeConfig.checkpointEvents, storeConfig.flushRows)
    await measure(`events insert into chDB, ${every.toLocaleString('en-US')} rows a batch (incl. encode)`, decoded.length, async () => {
      for (let i = 0; i < decoded.length; i++) {
        store.writeEvent(decoded[i]!, 0, true)
        if ((i + 1) % every === 0) void store.flush()
        if ((i + 1) % 500 === 0) await new Promise((resolve) => setImmediate(resolve))
      }
      await store.flush()
    })
    await store.close()
  } finally {
    await admin.deleteTopics({ topics: [topicA, topicB] }).catch(() => undefined)
    await admin.disconnect()
    await local?.stop()
    rmSync(dataDir, { recursive: true, force: true })
  }

  const fmt = (n: number, d = 0) => (Number.isFinite(n) ? n.toLocaleString('en-US', { maximumFractionDigits: d, minimumFractionDigits: d }) : '-')
  process.stdout.write(`${events.length.toLocaleString('en-US')} events (${copies} x the bench fleet), ${os.cpus().length} cores, load average ${os.loadavg().map((x) => x.toFixed(1)).join(' ')}\n`)
  process.stdout.write(`${'stage'.padEnd(62)} ${'events/s'.padStart(9)} ${'cpu us/ev'.padStart(9)} ${'main us/ev'.padStart(10)} ${'broker us/ev'.padStart(12)}\n`)
  for (const s of stages) {
    process.stdout.write(`${s.stage.padEnd(62)} ${fmt((s.events * 1000) / s.wallMs).padStart(9)} ${fmt((s.cpuMs * 1000) / s.events, 1).padStart(9)} ${fmt((s.mainCpuMs * 1000) / s.events, 1).padStart(10)} ${fmt(((s.brokerCpuMs ?? Number.NaN) * 1000) / s.events, 1).padStart(12)}\n`)
  }
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    process.stderr.write(`${(err as Error).stack ?? String(err)}\n`)
    process.exit(1)
  },
)
