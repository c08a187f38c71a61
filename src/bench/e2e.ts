/**
 * End to end through a real Kafka broker and embedded ClickHouse: the service as `serve` builds it
 * (KafkaSource, Kafka sinks, chDB store) runs in a process of its own (e2e-service.ts) with its own
 * topics, consumer group and data folder; this process generates the load (load-producer.ts) and
 * measures, as the producers and subscribers of a deployment would, without taking the service's
 * event loop.
 *
 * 1. Throughput: pre-serialised simulator events (the fleet, then copies shifted by whole weeks)
 *    are produced as fast as the producer goes, while the service consumes; sustained rate =
 *    events / (first send -> consumer group lag zero, i.e. every event's effects durable and its
 *    offset committed). The steady rate between 10% and 90% of the events committed is reported
 *    too: it leaves out the start and the last checkpoint interval.
 * 2. Latency: fresh traffic (shifted further) at half that rate, with probe events (a trained agent
 *    at risk level none uses a tool and reads a restricted resource it never used, dated at the
 *    stream's current event time) mixed in; latency = from the probe's send to the risk event it
 *    raised (the probe is its latest triggering event) arriving on the risk topic, read by a
 *    consumer in this process. Then the same at other shares of the rate (`otherLoadShares`), for
 *    latency against load.
 * ClickHouse rows written (the service's store.rowsWritten) are sampled during the throughput phase.
 */
import { fork, type ChildProcess } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import os from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { Kafka, logLevel } from 'kafkajs'
import type { AgentEventInput } from '../../schemas/events.ts'
import type { RiskEvent } from '../../schemas/risk.ts'
import type { E2eServiceOptions, ThreadTimes } from './e2e-service.ts'
import { hasKcat, kafkajsProducer, kcatProducer, type LoadMessage, type LoadProducer } from './load-producer.ts'
import { agentsOf, benchFleet, probeEvent, shiftedCopy, type FleetSize } from './data.ts'
import { processCpuMs } from './process-cpu.ts'
import { percentile, perSecond, sleep } from './stats.ts'

const SERVICE = fileURLToPath(new URL('./e2e-service.ts', import.meta.url))

export interface E2eChildOptions {
  brokers: string[]
  fleet: FleetSize
  /** The throughput phase produces the fleet this many times (copies shifted by whole weeks). */
  throughputCopies: number
  /** Length of the half-load latency phase. Seconds. */
  latencySeconds: number
  /** Shares of the sustained rate of further latency phases, after the one at half of it. */
  otherLoadShares: number[]
  /** Probe events per second during the latency phase. */
  probesPerSecond: number
  /** Partitions of each topic (as scripts/kafka.sh creates them). */
  partitions: number
  /** The broker's process, when the bench started it: its CPU is reported per phase. */
  brokerPid?: number
  tag: string
}

export interface RowsSample {
  /** Since the first send. Milliseconds. */
  atMs: number
  committed: number
  /** Events the service's pipeline has processed (committed trails it by up to a checkpoint). */
  processed: number
  /** CPU time the service's process has used (all its threads: chDB's too). Milliseconds. */
  serviceCpuMs: number
  rows: Record<string, number>
}

export interface Dormancy {
  frozen: number
  thawed: number
  dormant: number
}

export interface E2eChildResult extends LatencyPhase {
  /** kcat or kafkajs. */
  producer: string
  events: number
  /** Time to hand every event to the broker (acks from the leader). Milliseconds. */
  produceMs: number
  produceEps: number
  /** First send until every event is committed by the service's group. Milliseconds. */
  drainMs: number
  sustainedEps: number
  /** Rate between 10% and 90% of the events committed. Events per second. */
  steadyEps: number
  /** ClickHouse rows written per table during the throughput phase, per second. */
  rowsPerSecond: Record<string, number>
  samples: RowsSample[]
  riskEventsRead: number
  /** Over the whole run (its replayed weeks make agents idle over their nights), read at its end. */
  dormancy: Dormancy
  /** Latency phases at `otherLoadShares` of the sustained rate. The fields above are the half-load phase's. */
  otherLoads: LatencyPhase[]
}

/** A paced phase of load at a share of the sustained rate, with probes. */
export interface LatencyPhase {
  /** Share of the sustained rate the phase was paced at. */
  loadShare: number
  latencyRateEps: number
  latencyEventsSent: number
  /** Achieved rate of the latency phase. Events per second. */
  latencyAchievedEps: number
  probesSent: number
  probesMatched: number
  latenciesMs: number[]
  p50Ms: number
  p99Ms: number
  /** Produce -> the service decided (risk event's detectedAt), wall clock, ms. */
  inboundP50Ms: number
  inboundP99Ms: number
  /** Decided -> read from the risk topic, wall clock, ms. */
  outboundP50Ms: number
  outboundP99Ms: number
  /**
   * The service's main thread over the phase: share of the phase on a core, and runnable
   * but waiting for one (the scheduler's accounting; NaN off Linux). Percent.
   */
  mainOnCorePct: number
  mainWaitingPct: number
  /**
   * The service's other threads on a core over the phase: Node's (V8's collector and compiler
   * helpers, libuv's pool) and chDB's. Percent of a core; NaN off Linux.
   */
  nodeThreadsPct: number
  chdbThreadsPct: number
  /** The service's main thread in garbage collection pauses over the phase. Percent. */
  gcPct: number
  /** The service's event-loop delay over the phase (5 ms timer resolution). Milliseconds. */
  loopDelayP99Ms: number
  loopDelayMaxMs: number
  /** The broker's CPU over the phase, all its threads. Percent of a core; NaN when not started by the bench. */
  brokerCpuPct: number
  /** The load generator's: the paced kcat processes and this bench process (pacing, probes, the risk reader). Percent of a core. */
  loadCpuPct: number
}

const topicNames = (tag: string) => ({
  signins: `bench-${tag}.signins`,
  toolCalls: `bench-${tag}.tool-calls`,
  risk: `bench-${tag}.risk`,
  actions: `bench-${tag}.actions`,
  deadLetter: `bench-${tag}.dead-letter`,
})

function toMessages(events: readonly AgentEventInput[], topics: { signins: string; toolCalls: string }): LoadMessage[] {
  return events.map((e) => ({ topic: e.kind === 'signin' ? topics.signins : topics.toolCalls, key: e.agent.id, value: Buffer.from(JSON.stringify(e), 'utf8') }))
}

/** The service's threads, GC pauses and event-loop delay (see e2e-service.ts). Milliseconds. */
interface ThreadReport {
  threads?: ThreadTimes
  gcMs: number
  loop: { p99: number; max: number }
}

/** The service process and its IPC requests, answered in order. */
class ServiceProcess {
  private readonly waiting: ((m: Record<string, unknown>) => void)[] = []
  private constructor(private readonly child: ChildProcess) {
    child.on('message', (m: Record<string, unknown>) => this.waiting.shift()?.(m))
  }

  static async start(opts: E2eServiceOptions): Promise<ServiceProcess> {
    // e.g. AGENTWATCH_BENCH_SERVICE_FLAGS='--cpu-prof --cpu-prof-dir=bench-results/profile' to profile the service.
    const flags = process.env.AGENTWATCH_BENCH_SERVICE_FLAGS?.split(' ').filter(Boolean) ?? []
    const child = fork(SERVICE, [JSON.stringify(opts)], { execArgv: ['--import', 'tsx', ...flags], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] })
    const first = await new Promise<Record<string, unknown>>((resolve, reject) => {
      child.once('message', resolve)
      child.once('exit', (code) => reject(new Error(`the service process exited with ${code} before it was ready`)))
    })
    if (!first.ready) throw new Error(`the service process failed: ${String(first.error)}`)
    child.removeAllListeners('exit')
    return new ServiceProcess(child)
  }

  private ask(m: Record<string, unknown>): Promise<Record<string, unknown>> {
    return new Promise((resolve) => {
      this.waiting.push(resolve)
      this.child.send(m)
    })
  }

  /** ClickHouse rows written per table, events processed, and the process's CPU time. */
  async progress(): Promise<{ rows: Record<string, number>; processed: number; serviceCpuMs: number }> {
    const reply = await this.ask({ cmd: 'rows' })
    return { rows: reply.rows as Record<string, number>, processed: reply.processed as number, serviceCpuMs: reply.cpuMs as number }
  }

  /** Agents the service froze and thawed since it started, and those dormant now. */
  async dormancy(): Promise<Dormancy> {
    return (await this.ask({ cmd: 'rows' })).dormancy as Dormancy
  }

  /** The threads' times, GC pauses, and the event loop's delay since the last call with `reset`. */
  async threads(reset: boolean): Promise<ThreadReport> {
    return (await this.ask({ cmd: 'threads', reset })) as unknown as ThreadReport
  }

  /** Which of these agents the service holds trained and at risk level none. */
  async quiet(ids: string[]): Promise<string[]> {
    return (await this.ask({ cmd: 'quiet', ids })).ids as string[]
  }

  async stop(): Promise<void> {
    const exited = new Promise((r) => this.child.once('exit', r))
    const timer = setTimeout(() => this.child.kill('SIGKILL'), 60_000)
    if (this.child.connected) this.child.send({ cmd: 'stop' })
    await exited
    clearTimeout(timer)
  }
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
  // Copies and the latency traffic are shifted by whole weeks beyond the fleet's span.
  const weeks = Math.ceil((opts.fleet.days + 1) / 7)
  let throughputEvents: AgentEventInput[] = fleet.events
  for (let k = 1; k < opts.throughputCopies; k++) throughputEvents = throughputEvents.concat(shiftedCopy(fleet.events, weeks * k, `tp${k}`))
  const throughputMessages = toMessages(throughputEvents, topics)
  const useKcat = hasKcat()
  const newProducer = (lingerMs: number): Promise<LoadProducer> => (useKcat ? Promise.resolve(kcatProducer(opts.brokers, { lingerMs })) : kafkajsProducer(kafka))

  const reader = kafka.consumer({ groupId: `${groupId}-risk-reader`, maxWaitTimeInMs: 100 })
  const cleanup: (() => Promise<unknown>)[] = []
  try {
    const service = await ServiceProcess.start({ brokers: opts.brokers, groupId, topics, dataDir })
    cleanup.push(() => service.stop())

    // The risk reader: probe ids -> send time; matched on the risk event's triggering event id.
    const probeSentAt = new Map<string, number>()
    const probeSentWallMs = new Map<string, number>()
    let latenciesMs: number[] = []
    // The same probes split at the service's decision (the risk event's detectedAt; both processes
    // read one wall clock): produce -> decided, and decided -> read from the risk topic.
    let inboundMs: number[] = []
    let outboundMs: number[] = []
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
          const decided = Date.parse(r.detectedAt)
          inboundMs.push(decided - probeSentWallMs.get(id)!)
          outboundMs.push(Date.now() - decided)
          probeSentAt.delete(id)
        }
      },
    })
    for (let waited = 0; !readerJoined && waited < 60_000; waited += 100) await sleep(100)

    // ---- 1. throughput --------------------------------------------------------------------------
    const committedTotal = async (): Promise<number> => {
      const offsets = await admin.fetchOffsets({ groupId, topics: [topics.signins, topics.toolCalls] })
      let n = 0
      for (const t of offsets) for (const p of t.partitions) if (Number(p.offset) > 0) n += Number(p.offset)
      return n
    }
    const samples: RowsSample[] = []
    const rows0 = (await service.progress()).rows
    const load = await newProducer(5)
    const t0 = performance.now()
    let produceMs = 0
    const producing = (async () => {
      // Chunks of 5000 messages: large enough for the producer's batching, small enough to interleave with consuming.
      for (let i = 0; i < throughputMessages.length; i += 5000) await load.send(throughputMessages.slice(i, i + 5000))
      await load.close()
      produceMs = performance.now() - t0
    })()
    const limitMs = Math.max(120_000, throughputMessages.length)
    let committed = 0
    while (committed < throughputMessages.length) {
      if (performance.now() - t0 > limitMs) throw new Error(`lag not zero after ${limitMs / 1000} s (${committed} of ${throughputMessages.length} committed)`)
      await sleep(100)
      committed = await committedTotal()
      samples.push({ atMs: Math.round(performance.now() - t0), committed, ...(await service.progress()) })
    }
    const drainMs = performance.now() - t0
    await producing
    const rows1 = (await service.progress()).rows
    const rowsPerSecond = Object.fromEntries(Object.keys(rows1).map((table) => [table, perSecond((rows1[table] ?? 0) - (rows0[table] ?? 0), drainMs)]))
    const sustainedEps = perSecond(throughputMessages.length, drainMs)
    const at = (share: number) => samples.find((x) => x.committed >= share * throughputMessages.length)!
    // NaN when the run is too short for two distinct samples (quick runs).
    const steadyEps = at(0.9).atMs > at(0.1).atMs ? perSecond(at(0.9).committed - at(0.1).committed, at(0.9).atMs - at(0.1).atMs) : Number.NaN

    // ---- 2. latency at half load, then at the other shares ------------------------------------
    const candidates = [...agentsOf(fleet.events)]
    let nextCopy = opts.throughputCopies
    const latencyPhase = async (loadShare: number, phase: number): Promise<LatencyPhase> => {
      latenciesMs = []
      inboundMs = []
      outboundMs = []
      const rate = Math.max(50, Math.floor(sustainedEps * loadShare))
      const needed = Math.ceil(rate * opts.latencySeconds)
      let background: AgentEventInput[] = []
      while (background.length < needed) background = background.concat(shiftedCopy(fleet.events, weeks * nextCopy, `lat${nextCopy++}`))
      background = background.slice(0, needed)
      const backgroundMessages = toMessages(background, topics)
      // Each phase goes through the agents again: by then a probed agent's risk has decayed over
      // the weeks replayed since, and a quiet one takes a probe again.
      let nextCandidate = 0
      const pickProbeAgent = async () => {
        while (nextCandidate < candidates.length) {
          const batch = candidates.slice(nextCandidate, nextCandidate + 10)
          const quiet = new Set(await service.quiet(batch.map(([id]) => id)))
          for (const [id, who] of batch) {
            nextCandidate++
            if (quiet.has(id)) return who
          }
        }
        return undefined
      }
      // The background load batches as the fleet's producers would with librdkafka's default
      // (linger.ms 5): with 0, each kcat sent a request for every few lines it read, and the broker
      // took ~52% of a core at half load instead of ~40% (docs/benchmarks.md, eleventh round).
      // Probes leave at once, on a kafkajs producer of their own (acks=1), sent and acknowledged one
      // tick at a time: kcat produces a line of its input only once it has read the next one, so a
      // probe written last in a tick waited for the next tick (10 ms) before it even left the bench.
      const paced = await newProducer(5)
      const probeProducer = await kafkajsProducer(kafka)
      let sent = 0
      let probesSent = 0
      const threadBefore = await service.threads(true)
      const brokerBefore = opts.brokerPid === undefined ? undefined : processCpuMs(opts.brokerPid)
      const benchBefore = process.cpuUsage()
      const t1 = performance.now()
      while (sent < backgroundMessages.length) {
        const elapsedS = (performance.now() - t1) / 1000
        const due = Math.min(backgroundMessages.length, Math.floor(rate * elapsedS))
        const batch = backgroundMessages.slice(sent, due)
        // Probes are dated at the stream's current event time: the latest background event sent.
        const nowTs = Date.parse(background[Math.max(0, due - 1)]!.time)
        const probes: AgentEventInput[] = []
        while (probesSent < Math.floor(opts.probesPerSecond * elapsedS)) {
          const who = await pickProbeAgent()
          if (!who) break
          probes.push(probeEvent(who, nowTs, `probe-${opts.tag}-${phase}-${probesSent}`))
          probesSent++
        }
        const sentAt = performance.now()
        const sentWall = Date.now()
        for (const p of probes) {
          probeSentAt.set(p.eventId, sentAt)
          probeSentWallMs.set(p.eventId, sentWall)
        }
        await Promise.all([probes.length ? probeProducer.send(toMessages(probes, topics)) : undefined, paced.send(batch)])
        sent = due
        // Ticks of 10 ms: the rate is smooth at the scale of the latencies measured.
        await sleep(10)
      }
      const phaseMs = performance.now() - t1
      const brokerAfter = opts.brokerPid === undefined ? undefined : processCpuMs(opts.brokerPid)
      const bench = process.cpuUsage(benchBefore)
      // The paced producer's processes were started by this phase: their whole CPU time is its.
      const loadMs = paced.pids().reduce((ms, pid) => ms + (processCpuMs(pid) ?? 0), (bench.user + bench.system) / 1000)
      const threadAfter = await service.threads(false)
      // Share of the phase: percent (of a core, for time on one).
      const share = (key: keyof ThreadTimes) =>
        threadBefore.threads && threadAfter.threads ? (100 * (threadAfter.threads[key] - threadBefore.threads[key])) / phaseMs : Number.NaN
      await Promise.all([paced.close(), probeProducer.close()])
      for (let waited = 0; probeSentAt.size > 0 && waited < 15_000; waited += 100) await sleep(100)
      // Probes never answered are not carried into the next phase.
      probeSentAt.clear()
      probeSentWallMs.clear()
      await sleep(200)
      return {
        loadShare,
        latencyRateEps: rate,
        latencyEventsSent: sent,
        latencyAchievedEps: perSecond(sent, phaseMs),
        probesSent,
        probesMatched: latenciesMs.length,
        latenciesMs,
        p50Ms: percentile(latenciesMs, 50),
        p99Ms: percentile(latenciesMs, 99),
        inboundP50Ms: percentile(inboundMs, 50),
        inboundP99Ms: percentile(inboundMs, 99),
        outboundP50Ms: percentile(outboundMs, 50),
        outboundP99Ms: percentile(outboundMs, 99),
        mainOnCorePct: share('mainRunMs'),
        mainWaitingPct: share('mainWaitMs'),
        nodeThreadsPct: share('nodeMs'),
        chdbThreadsPct: share('chdbMs'),
        gcPct: (100 * (threadAfter.gcMs - threadBefore.gcMs)) / phaseMs,
        loopDelayP99Ms: threadAfter.loop.p99,
        loopDelayMaxMs: threadAfter.loop.max,
        brokerCpuPct: brokerBefore !== undefined && brokerAfter !== undefined ? (100 * (brokerAfter - brokerBefore)) / phaseMs : Number.NaN,
        loadCpuPct: (100 * loadMs) / phaseMs,
      }
    }
    const halfLoad = await latencyPhase(0.5, 0)
    const otherLoads: LatencyPhase[] = []
    for (const [i, loadShare] of opts.otherLoadShares.entries()) otherLoads.push(await latencyPhase(loadShare, i + 1))
    const dormancy = await service.dormancy()

    return {
      producer: load.name,
      events: throughputMessages.length,
      produceMs,
      produceEps: perSecond(throughputMessages.length, produceMs),
      drainMs,
      sustainedEps,
      steadyEps,
      rowsPerSecond,
      samples,
      riskEventsRead,
      dormancy,
      ...halfLoad,
      otherLoads,
    }
  } finally {
    for (const fn of cleanup.reverse()) await fn().catch(() => undefined)
    await admin.deleteTopics({ topics: Object.values(topics) }).catch(() => undefined)
    await admin.disconnect().catch(() => undefined)
    rmSync(dataDir, { recursive: true, force: true })
  }
}
