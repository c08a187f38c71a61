/**
 * The service under test in the e2e bench, in a process of its own as `serve` runs it (KafkaSource,
 * Kafka sinks, chDB store): the load generator and the measuring consumer live in the bench's
 * process, so they do not take this process's event loop. Driven over IPC:
 *   -> { cmd: 'rows' }              <- { rows, processed, cpuMs, dormancy }  ClickHouse rows written per table, events
 *                                      processed, CPU used, agents frozen and thawed so far and dormant now
 *   -> { cmd: 'threads', reset }    <- { threads, gcMs, loop }  the threads' time on a core (and the main thread's waiting
 *                                      for one), the main thread's GC pauses, and the event loop's delay since the last reset
 *   -> { cmd: 'quiet', ids }        <- { ids }        which of these agents are trained and at level none
 *   -> { cmd: 'stop' }              <- { stopped }    then the process exits
 * Started with its options as JSON in argv[2]; sends { ready: true } once partitions are assigned.
 */
import { readdirSync, readFileSync } from 'node:fs'
import { monitorEventLoopDelay, PerformanceObserver } from 'node:perf_hooks'
import { validateConfig } from '../config/load.ts'
import { createService } from '../service.ts'
import { createKafkaSinks } from '../sinks/kafka.ts'
import { KafkaSource } from '../sources/kafka.ts'
import { sleep } from './stats.ts'
import { tuneGarbageCollection } from '../util/gc.ts'

export interface E2eServiceOptions {
  brokers: string[]
  groupId: string
  topics: { signins: string; toolCalls: string; risk: string; actions: string; deadLetter: string }
  dataDir: string
}

type Request = { cmd: 'rows' } | { cmd: 'threads'; reset: boolean } | { cmd: 'quiet'; ids: string[] } | { cmd: 'stop' }

/** Time of the process's threads, from the scheduler's own accounting. Milliseconds. */
export interface ThreadTimes {
  /** The main thread on a core, and runnable but waiting for one. */
  mainRunMs: number
  mainWaitMs: number
  /** Node's other threads (named "node": V8's collector and compiler helpers, libuv's pool) on a core. */
  nodeMs: number
  /** The rest (chDB's) on a core. */
  chdbMs: number
}

/** From /proc/self/task/<tid>/schedstat (nanoseconds); undefined off Linux. */
function threadTimes(): ThreadTimes | undefined {
  try {
    const t: ThreadTimes = { mainRunMs: 0, mainWaitMs: 0, nodeMs: 0, chdbMs: 0 }
    for (const tid of readdirSync('/proc/self/task')) {
      try {
        const [run = 0, wait = 0] = readFileSync(`/proc/self/task/${tid}/schedstat`, 'utf8').split(' ').map((ns) => Number(ns) / 1e6)
        if (Number(tid) === process.pid) {
          t.mainRunMs = run
          t.mainWaitMs = wait
        } else if (readFileSync(`/proc/self/task/${tid}/comm`, 'utf8').trim() === 'node') t.nodeMs += run
        else t.chdbMs += run
      } catch {
        // The thread ended between the listing and the read.
      }
    }
    return t
  } catch {
    return undefined
  }
}

async function main(opts: E2eServiceOptions): Promise<void> {
  tuneGarbageCollection()
  const config = validateConfig({ kafka: { enabled: true, brokers: opts.brokers, groupId: opts.groupId, topics: opts.topics }, store: { dataDir: opts.dataDir } })
  const sinks = createKafkaSinks(config.kafka, { brokers: opts.brokers })
  const source = new KafkaSource(config.kafka, { brokers: opts.brokers })
  const service = await createService(config, { riskSinks: [sinks.risk], actionSinks: [sinks.actions], deadLetterSinks: [sinks.deadLetter], sources: [source] })
  await service.start()
  for (let waited = 0; source.assignedPartitions().length === 0 && waited < 60_000; waited += 50) await sleep(50)
  if (source.assignedPartitions().length === 0) throw new Error('the service was not assigned any partition within 60 s')
  // Timer resolution 5 ms: finer costs the loop a wake-up more often than events do at half load.
  const loop = monitorEventLoopDelay({ resolution: 5 })
  loop.enable()
  // Garbage collection pauses of the main thread, summed. Milliseconds.
  let gcMs = 0
  new PerformanceObserver((list) => {
    for (const e of list.getEntries()) gcMs += e.duration
  }).observe({ entryTypes: ['gc'] })
  process.on('message', (m: Request) => {
    if (m.cmd === 'rows') {
      const cpu = process.cpuUsage()
      const dormant = service.pipeline.baselines.agents.dormant
      process.send!({ rows: service.store.rowsWritten, processed: service.pipeline.stats.processed, cpuMs: (cpu.user + cpu.system) / 1000, dormancy: { ...dormant.counts, dormant: dormant.size } })
    } else if (m.cmd === 'threads') {
      const loopMs = { p99: loop.percentile(99) / 1e6, max: loop.max / 1e6 }
      if (m.reset) loop.reset()
      process.send!({ threads: threadTimes(), gcMs, loop: loopMs })
    }
    else if (m.cmd === 'quiet') {
      const agents = service.pipeline.baselines.agents
      // A view: asking about a dormant agent does not wake it.
      process.send!({ ids: m.ids.filter((id) => agents.view(id, (p) => p.learned > 0 && p.risk.level === 'none') === true) })
    } else if (m.cmd === 'stop') {
      void (async () => {
        await service.stop()
        await sinks.close()
        process.send!({ stopped: true }, () => process.exit(0))
      })()
    }
  })
  process.send!({ ready: true })
}

if (process.send) {
  // The bench process is gone: nothing will stop this one.
  process.on('disconnect', () => process.exit(1))
  main(JSON.parse(process.argv[2] ?? '{}') as E2eServiceOptions).catch((err: unknown) => {
    process.send!({ error: (err as Error).stack ?? String(err) }, () => process.exit(1))
  })
}
