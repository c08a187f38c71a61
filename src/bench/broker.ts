/**
 * A Kafka broker for the end-to-end bench: KAFKA_BROKERS when set, otherwise a single-node broker
 * started with scripts/kafka.sh on free loopback ports with its own temporary data folder, as the
 * test setup does, and stopped (folder removed) afterwards.
 */
import { startLocalBroker } from '../util/local-broker.ts'

export interface BenchBroker {
  brokers: string[]
  /** True when this process started the broker (and stop() will end it). */
  started: boolean
  /** Its process id, when this process started it. */
  pid?: number
  stop(): Promise<void>
}

export async function startBenchBroker(): Promise<BenchBroker> {
  const given = process.env.KAFKA_BROKERS?.split(',').map((b) => b.trim()).filter(Boolean)
  if (given?.length) return { brokers: given, started: false, stop: async () => {} }
  const broker = await startLocalBroker('agentwatch-bench-kafka-')
  return { brokers: broker.brokers, started: true, pid: broker.pid, stop: () => broker.stop() }
}
