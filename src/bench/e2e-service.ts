/**
 * The service under test in the e2e bench, in a process of its own as `serve` runs it (KafkaSource,
 * Kafka sinks, chDB store): the load generator and the measuring consumer live in the bench's
 * process, so they do not take this process's event loop. Driven over IPC:
 *   -> { cmd: 'rows' }              <- { rows, processed, cpuMs }  ClickHouse rows written per table, events processed, CPU used
 *   -> { cmd: 'quiet', ids }        <- { ids }        which of these agents are trained and at level none
 *   -> { cmd: 'stop' }              <- { stopped }    then the process exits
 * Started with its options as JSON in argv[2]; sends { ready: true } once partitions are assigned.
 */
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

type Request = { cmd: 'rows' } | { cmd: 'quiet'; ids: string[] } | { cmd: 'stop' }

async function main(opts: E2eServiceOptions): Promise<void> {
  tuneGarbageCollection()
  const config = validateConfig({ kafka: { enabled: true, brokers: opts.brokers, groupId: opts.groupId, topics: opts.topics }, store: { dataDir: opts.dataDir } })
  const sinks = createKafkaSinks(config.kafka, { brokers: opts.brokers })
  const source = new KafkaSource(config.kafka, { brokers: opts.brokers })
  const service = await createService(config, { riskSinks: [sinks.risk], actionSinks: [sinks.actions], deadLetterSinks: [sinks.deadLetter], sources: [source] })
  await service.start()
  for (let waited = 0; source.assignedPartitions().length === 0 && waited < 60_000; waited += 50) await sleep(50)
  if (source.assignedPartitions().length === 0) throw new Error('the service was not assigned any partition within 60 s')
  process.on('message', (m: Request) => {
    if (m.cmd === 'rows') {
      const cpu = process.cpuUsage()
      process.send!({ rows: service.store.rowsWritten, processed: service.pipeline.stats.processed, cpuMs: (cpu.user + cpu.system) / 1000 })
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
