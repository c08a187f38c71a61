/**
 * A Kafka broker for the end-to-end bench: KAFKA_BROKERS when set, otherwise a single-node broker
 * started with scripts/kafka.sh on free loopback ports with its own temporary data folder, as the
 * test setup does, and stopped (folder removed) afterwards.
 *
 * The broker the bench starts runs with both of the JVM's compilers, as a deployment's broker does,
 * not the script's C1-only default for short-lived test brokers. Compiled by C2, it takes ~35% less
 * CPU at the e2e bench's half load (40% -> 26% of a core); while C2 compiles, in its first minute
 * under load, it takes much more, so the e2e bench warms it with a run it does not count
 * (docs/benchmarks.md, eleventh round).
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

/** G1 with short pauses, as scripts/kafka.sh sets, and the JVM's tiered compilation (C1, then C2). */
const BENCH_BROKER_JVM_OPTS = '-XX:+UseG1GC -XX:MaxGCPauseMillis=20'

export async function startBenchBroker(): Promise<BenchBroker> {
  const given = process.env.KAFKA_BROKERS?.split(',').map((b) => b.trim()).filter(Boolean)
  if (given?.length) return { brokers: given, started: false, stop: async () => {} }
  const broker = await startLocalBroker('agentwatch-bench-kafka-', { jvmOpts: process.env.KAFKA_JVM_OPTS ?? BENCH_BROKER_JVM_OPTS })
  return { brokers: broker.brokers, started: true, pid: broker.pid, stop: () => broker.stop() }
}
