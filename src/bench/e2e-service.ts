/**
 * The service under test in the e2e bench, in a process of its own as `serve` runs it (KafkaSource,
 * Kafka sinks, chDB store): the load generator and the measuring consumer live in the bench's
 * process, so they do not take this process's event loop. Driven over IPC:
 *   -> { cmd: 'rows', resetLoop? }  <- { rows, processed, cpuMs, main, others, gcMs, loop }  ClickHouse rows written per
 *                                      table, events processed, CPU used, the main thread's time on and waiting for a core,
 *                                      the other threads' time on a core, garbage collection pauses, and the event loop's
 *                                      delay since the last reset
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

type Request = { cmd: 'rows'; resetLoop?: boolean } | { cmd: 'quiet'; ids: string[] } | { cmd: 'stop' }

/**
 * The main thread's time on a core and runnable but waiting for one, from the scheduler's own
 * accounting (/proc/<pid>/task/<pid>/schedstat, nanoseconds; Linux only). Milliseconds.
 */
function mainThreadTimes(): { runMs: number; waitMs: number } | undefined {
  try {
    const [run, wait] = readFileSync(`/proc/${process.pid}/task/${process.pid}/schedstat`, 'utf8').split(' ').map(Number)
    return run === undefined || wait === undefined ? undefined : { runMs: run / 1e6, waitMs: wait / 1e6 }
  } catch {
    return undefined
  }
}

/**
 * Time on a core of the process's other threads, from the same accounting: Node's own (named
 * "node": V8's collector and compiler helpers, libuv's pool) and the rest (chDB's). Milliseconds;
 * undefined off Linux.
 */
function otherThreadTimes(): { nodeMs: number; chdbMs: number } | undefined {
  try {
    let nodeMs = 0
    let chdbMs = 0
    for (const tid of readdirSync('/proc/self/task')) {
      if (Number(tid) === process.pid) continue
      try {
        const runMs = Number(readFileSync(`/proc/self/task/${tid}/schedstat`, 'utf8').split(' ')[0]) / 1e6
        if (readFileSync(`/proc/self/task/${tid}/comm`, 'utf8').trim() === 'node') nodeMs += runMs
        else chdbMs += runMs
      } catch {
        // The thread ended between the listing and the read.
      }
    }
    return { nodeMs, chdbMs }
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
      const loopMs = { p50: loop.percentile(50) / 1e6, p99: loop.percentile(99) / 1e6, max: loop.max / 1e6 }
      if (m.resetLoop) loop.reset()
      process.send!({ rows: service.store.rowsWritten, processed: service.pipeline.stats.processed, cpuMs: (cpu.user + cpu.system) / 1000, main: mainThreadTimes(), others: otherThreadTimes(), gcMs, loop: loopMs })
    }
    else if (m.cmd === 'quiet') {
      const agents = service.pipeline.baselines.agents
      process.send!({ ids: m.ids.filter((id) => { const p = agents.get(id); return p !== undefined && p.learned > 0 && p.risk.level === 'none' }) })
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
