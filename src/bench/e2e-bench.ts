/**
 * The e2e and clickhouse sections: one broker for all runs, each run in its own child process with
 * its own topics, consumer group and chDB folder, so runs do not see each other's state.
 */
import { startBenchBroker } from './broker.ts'
import { runInChild } from './child.ts'
import type { FleetSize } from './data.ts'
import type { E2eChildOptions, E2eChildResult } from './e2e.ts'
import { figure, type BenchSection } from './report.ts'
import { percentile } from './stats.ts'

/** Targets: sustained events/s through Kafka and ClickHouse; p99 produce-to-risk at half load, ms. */
export const E2E_TARGET_EPS = 40_000
export const E2E_TARGET_P99_MS = 25

/** Share of latencies at most the p99 target. Percent. */
const withinTargetPct = (latenciesMs: readonly number[]): number => (100 * latenciesMs.filter((ms) => ms <= E2E_TARGET_P99_MS).length) / latenciesMs.length

export interface E2eBenchOptions {
  fleet: FleetSize
  /** The throughput phase produces the fleet this many times (copies shifted by whole weeks). */
  throughputCopies: number
  runs: number
  /** Runs before the counted ones when the bench starts the broker, to let its JIT compile (see broker.ts). */
  warmupRuns: number
  latencySeconds: number
  /** Shares of the sustained rate at which latency is measured too, after half of it. */
  otherLoadShares: number[]
  probesPerSecond: number
}

export interface E2eRuns {
  section: BenchSection
  results: E2eChildResult[]
}

export async function runE2eBench(opts: E2eBenchOptions): Promise<E2eRuns> {
  const began = performance.now()
  const broker = await startBenchBroker()
  const results: E2eChildResult[] = []
  const errors: string[] = []
  const warmup: Record<string, unknown>[] = []
  try {
    const warmups = broker.started ? opts.warmupRuns : 0
    for (let run = 0; run < warmups + opts.runs; run++) {
      const tag = `${Date.now().toString(36)}-${run}`
      const childOpts: E2eChildOptions = { brokers: broker.brokers, fleet: opts.fleet, throughputCopies: opts.throughputCopies, latencySeconds: opts.latencySeconds, otherLoadShares: opts.otherLoadShares, probesPerSecond: opts.probesPerSecond, partitions: 6, tag, brokerPid: broker.pid }
      // error level: the log notifier writes a warning per risk event, thousands per run.
      const out = await runInChild<E2eChildResult>('e2e', childOpts, { timeoutMs: 600_000, env: { LOG_LEVEL: process.env.LOG_LEVEL ?? 'error' } })
      if (run < warmups) {
        warmup.push(out.ok ? { sustainedEps: out.result.sustainedEps, p99Ms: out.result.p99Ms, brokerCpuPct: out.result.brokerCpuPct } : { error: out.error.split('\n')[0] })
      } else if (out.ok) results.push(out.result)
      else errors.push(out.error.split('\n').slice(0, 3).join(' '))
    }
  } finally {
    await broker.stop()
  }
  const pooled = results.flatMap((r) => r.latenciesMs)
  const section: BenchSection = {
    figures: [
      figure('e2e.sustained_eps', 'sustained, produce -> committed (lag 0)', 'events/s', results.map((r) => r.sustainedEps), { target: { op: '>=', value: E2E_TARGET_EPS } }),
      figure('e2e.steady_eps', 'steady, 10% -> 90% of events committed', 'events/s', results.map((r) => r.steadyEps).filter(Number.isFinite)),
      figure('e2e.produce_eps', `producer (${results[0]?.producer ?? '-'}, bench process)`, 'events/s', results.map((r) => r.produceEps)),
      figure('e2e.half_load_eps', 'half-load phase, achieved rate', 'events/s', results.map((r) => r.latencyAchievedEps)),
      figure('e2e.p50_ms', 'produce -> risk event p50, half load', 'ms', results.map((r) => r.p50Ms).filter(Number.isFinite)),
      figure('e2e.p99_ms', 'produce -> risk event p99, half load', 'ms', results.map((r) => r.p99Ms).filter(Number.isFinite), { target: { op: '<=', value: E2E_TARGET_P99_MS } }),
      figure('e2e.within_target_pct', `  probes read within ${E2E_TARGET_P99_MS} ms, half load`, '%', results.filter((r) => r.latenciesMs.length > 0).map((r) => withinTargetPct(r.latenciesMs))),
      figure('e2e.inbound_p99_ms', '  of which produce -> decided p99', 'ms', results.map((r) => r.inboundP99Ms).filter(Number.isFinite)),
      figure('e2e.outbound_p99_ms', '  of which decided -> read p99', 'ms', results.map((r) => r.outboundP99Ms).filter(Number.isFinite)),
      figure('e2e.loop_delay_p99_ms', '  service event-loop delay p99, half load', 'ms', results.map((r) => r.loopDelayP99Ms).filter(Number.isFinite)),
      figure('e2e.loop_delay_max_ms', '  service event-loop delay max, half load', 'ms', results.map((r) => r.loopDelayMaxMs).filter(Number.isFinite)),
      figure('e2e.main_on_core_pct', '  service main thread on a core, half load', '%', results.map((r) => r.mainOnCorePct).filter(Number.isFinite)),
      figure('e2e.main_waiting_pct', '  service main thread waiting for a core', '%', results.map((r) => r.mainWaitingPct).filter(Number.isFinite)),
      figure('e2e.gc_pct', '  service main thread in GC pauses, half load', '%', results.map((r) => r.gcPct).filter(Number.isFinite)),
      figure('e2e.node_threads_pct', "  service's Node helper threads on a core (V8, libuv)", '%', results.map((r) => r.nodeThreadsPct).filter(Number.isFinite)),
      figure('e2e.chdb_threads_pct', "  service's chDB threads on a core", '%', results.map((r) => r.chdbThreadsPct).filter(Number.isFinite)),
      figure('e2e.broker_cpu_pct', '  the broker on a core, half load', '%', results.map((r) => r.brokerCpuPct).filter(Number.isFinite)),
      figure('e2e.load_cpu_pct', '  the load generator on a core (kcat, bench process)', '%', results.map((r) => r.loadCpuPct).filter(Number.isFinite)),
      ...opts.otherLoadShares.flatMap((loadShare) => {
        const at = results.map((r) => r.otherLoads.find((l) => l.loadShare === loadShare)).filter((l) => l !== undefined)
        const pct = Math.round(loadShare * 100)
        return [
          figure(`e2e.p50_ms_at_${pct}pct`, `produce -> risk event p50, ${pct}% load`, 'ms', at.map((l) => l.p50Ms).filter(Number.isFinite)),
          figure(`e2e.p99_ms_at_${pct}pct`, `produce -> risk event p99, ${pct}% load`, 'ms', at.map((l) => l.p99Ms).filter(Number.isFinite)),
          figure(`e2e.within_target_pct_at_${pct}pct`, `  probes read within ${E2E_TARGET_P99_MS} ms, ${pct}% load`, '%', at.filter((l) => l.latenciesMs.length > 0).map((l) => withinTargetPct(l.latenciesMs))),
          figure(`e2e.main_waiting_pct_at_${pct}pct`, `  service main thread waiting for a core, ${pct}% load`, '%', at.map((l) => l.mainWaitingPct).filter(Number.isFinite)),
          figure(`e2e.broker_cpu_pct_at_${pct}pct`, `  the broker on a core, ${pct}% load`, '%', at.map((l) => l.brokerCpuPct).filter(Number.isFinite)),
        ]
      }),
      figure('e2e.agents_frozen', 'agents frozen over the run (dormancy sweep)', 'agents', results.map((r) => r.dormancy.frozen)),
      figure('e2e.agents_thawed', '  thawed again by their next event', 'agents', results.map((r) => r.dormancy.thawed)),
    ],
    details: {
      broker: broker.started ? 'started by the bench (scripts/kafka.sh, both JIT compilers, see broker.ts)' : `KAFKA_BROKERS=${broker.brokers.join(',')}`,
      fleet: opts.fleet,
      throughputCopies: opts.throughputCopies,
      // Not counted: the broker's JIT compiling its hot paths (see broker.ts).
      warmupRuns: warmup,
      producer: results[0]?.producer,
      latencySeconds: opts.latencySeconds,
      probesPerSecond: opts.probesPerSecond,
      pooledLatencyMs: { probes: pooled.length, p50: percentile(pooled, 50), p99: percentile(pooled, 99), max: percentile(pooled, 100) },
      runs: results.map(({ samples: _samples, latenciesMs: _lat, otherLoads, ...rest }) => ({ ...rest, otherLoads: otherLoads.map(({ latenciesMs: _l, ...phase }) => phase) })),
      ...(errors.length ? { errors } : {}),
    },
    ...(results.length === 0 ? { error: errors.join('; ') || 'no run completed' } : {}),
    wallMs: performance.now() - began,
  }
  return { section, results }
}

/** ClickHouse write rates seen while the e2e throughput phase ran (the pipeline at full speed). */
export function clickhouseSection(e2e: E2eRuns | undefined, restoreInsertRowsPerSecond: number[]): BenchSection {
  const results = e2e?.results ?? []
  const rate = (table: string) => results.map((r) => r.rowsPerSecond[table] ?? 0)
  const figures = [
    figure('clickhouse.events_rows_per_s', 'events rows/s during e2e throughput', 'rows/s', rate('events')),
    figure('clickhouse.agent_baselines_rows_per_s', 'agent_baselines rows/s during e2e', 'rows/s', rate('agent_baselines')),
    figure('clickhouse.risk_events_rows_per_s', 'risk_events rows/s during e2e', 'rows/s', rate('risk_events')),
  ]
  if (restoreInsertRowsPerSecond.length) {
    figures.push(figure('clickhouse.baseline_bulk_rows_per_s', 'agent_baselines bulk checkpoint (restore fill)', 'rows/s', restoreInsertRowsPerSecond))
  }
  return {
    figures,
    details: {
      source: 'store.rowsWritten sampled every 100 ms during the e2e throughput phase; bulk rate from the restore bench fill',
      samplesPerRun: results.map((r) => r.samples),
    },
    ...(results.length === 0 && restoreInsertRowsPerSecond.length === 0 ? { error: 'needs the e2e or restore bench' } : {}),
    wallMs: 0,
  }
}
