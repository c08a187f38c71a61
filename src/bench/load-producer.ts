/**
 * The e2e bench's load generator: puts pre-serialised events on the input topics, keyed by agent id
 * with the Java-compatible murmur2 partitioner, from the bench's process (never the service's).
 * kcat (librdkafka, C) when it is installed: like the producers a deployment has, it costs a few
 * microseconds per message, so the figure is the service's and not the load generator's (kafkajs
 * costs ~40 us of CPU per produced message here, i.e. most of a core at 25k/s). Without kcat, a
 * kafkajs producer.
 */
import { spawn, spawnSync, type ChildProcessWithoutNullStreams } from 'node:child_process'
import { once } from 'node:events'
import { Partitioners, type Kafka, type Message, type Producer } from 'kafkajs'

export interface LoadMessage {
  topic: string
  key: string
  value: Buffer
}

export interface LoadProducer {
  readonly name: string
  /** Hands the messages to the producer (kcat: written to its input; kafkajs: acknowledged). */
  send(messages: readonly LoadMessage[]): Promise<void>
  /** Resolves once everything sent is acknowledged by the broker. */
  close(): Promise<void>
  /** Processes of its own (kcat's); none for a producer in this process. */
  pids(): number[]
}

export const hasKcat = (): boolean => spawnSync('kcat', ['-V'], { stdio: 'ignore' }).status === 0

/** One kcat per topic, reading `key<TAB>value` lines; acks=1 (leader), as the kafkajs variant. */
export function kcatProducer(brokers: string[], opts: { lingerMs: number }): LoadProducer {
  const procs = new Map<string, { child: ChildProcessWithoutNullStreams; exited: Promise<number | null> }>()
  const forTopic = (topic: string) => {
    let p = procs.get(topic)
    if (!p) {
      const child = spawn('kcat', ['-b', brokers.join(','), '-P', '-t', topic, '-K', '\t', '-X', 'partitioner=murmur2_random', '-X', 'acks=1', '-X', `linger.ms=${opts.lingerMs}`], {
        stdio: ['pipe', 'ignore', 'pipe'],
      }) as unknown as ChildProcessWithoutNullStreams
      child.stderr.on('data', (d: Buffer) => process.stderr.write(d))
      p = { child, exited: once(child, 'exit').then(([code]) => code as number | null) }
      procs.set(topic, p)
    }
    return p.child
  }
  return {
    name: 'kcat',
    pids: () => [...procs.values()].map((p) => p.child.pid).filter((pid) => pid !== undefined),
    async send(messages) {
      const lines = new Map<string, string[]>()
      for (const m of messages) {
        let l = lines.get(m.topic)
        if (!l) lines.set(m.topic, (l = []))
        // JSON has no raw newline, so one message is one line.
        l.push(`${m.key}\t${m.value.toString('utf8')}\n`)
      }
      await Promise.all(
        [...lines].map(async ([topic, l]) => {
          const stdin = forTopic(topic).stdin
          if (!stdin.write(l.join(''))) await once(stdin, 'drain')
        }),
      )
    },
    async close() {
      const codes = await Promise.all(
        [...procs.values()].map(async (p) => {
          p.child.stdin.end()
          return p.exited
        }),
      )
      if (codes.some((c) => c !== 0)) throw new Error(`kcat exited with ${codes.join(', ')}`)
    },
  }
}

/** A kafkajs producer: one sendBatch per call, grouped by topic, acknowledged by the leader. */
export async function kafkajsProducer(kafka: Kafka): Promise<LoadProducer> {
  const producer: Producer = kafka.producer({ createPartitioner: Partitioners.DefaultPartitioner, allowAutoTopicCreation: false })
  await producer.connect()
  return {
    name: 'kafkajs',
    pids: () => [],
    async send(messages) {
      if (messages.length === 0) return
      const byTopic = new Map<string, Message[]>()
      for (const m of messages) {
        let list = byTopic.get(m.topic)
        if (!list) byTopic.set(m.topic, (list = []))
        list.push({ key: m.key, value: m.value })
      }
      await producer.sendBatch({ topicMessages: [...byTopic].map(([topic, msgs]) => ({ topic, messages: msgs })), acks: 1 })
    },
    close: () => producer.disconnect(),
  }
}
