/**
 * agentwatch bench: speed and memory of AgentWatch on this machine, printed as a table with the
 * targets beside each figure and written as JSON with the machine's description. Each figure is
 * the median of several runs (machines are shared and noisy).
 *
 *   agentwatch bench [--quick] [--only pipeline,e2e,memory,activity,restore,clickhouse,api] [--json FILE]
 */
import { mkdirSync, writeFileSync } from 'node:fs'
import { dirname, resolve } from 'node:path'
import { parseArgs } from 'node:util'
import { UsageError, intListOption, intOption } from './args.ts'
import { BaselinesConfig } from '../../schemas/config.ts'
import { clickhouseSection, runE2eBench, type E2eBenchOptions, type E2eRuns } from '../bench/e2e-bench.ts'
import type { FleetSize } from '../bench/data.ts'
import { describeMachine, GiB } from '../bench/machine.ts'
import { runApiBench, type ApiBenchOptions } from '../bench/api.ts'
import { runActivityBench, type ActivityBenchOptions } from '../bench/activity.ts'
import { runMemoryBench, type MemoryBenchOptions } from '../bench/memory.ts'
import { runPipelineBench, type PipelineBenchOptions } from '../bench/pipeline.ts'
import { BENCH_NAMES, formatTable, type BenchName, type BenchReport, type BenchSection } from '../bench/report.ts'
import { RESTORE_TARGET_AGENTS, runRestoreBench, type RestoreBenchOptions } from '../bench/restore.ts'

/** The config's schema of `baselines.dormantRecentIds`, whose bounds `--activity-recent-ids` takes. */
const RECENT_IDS_KEPT = BaselinesConfig.shape.dormantRecentIds.unwrap()

const USAGE = `usage: agentwatch bench [options]

  --quick               smoke run: small sizes, fewer runs (figures are not comparable with a full run)
  --only <list>         comma-separated: ${BENCH_NAMES.join(', ')} (default: all)
  --runs <int>          runs per figure (default 5 for pipeline, 1 a setting for activity, 3 for the others;
                        --quick 3 and 1)
  --memory-sizes <list> agent counts for the memory bench (default 100000,1000000)
  --activity-agents <int> agents of the activity bench, memory at the agents' own activity (default 100000)
  --activity-settings <list> baselines.dormantAfterMinutes values it compares, 0 for never (default 0,60,15,5)
  --activity-recent-ids <int> baselines.dormantRecentIds of those runs, ${RECENT_IDS_KEPT.minValue} to ${RECENT_IDS_KEPT.maxValue} (default: the config's)
  --restore-sizes <list> agent counts for the restore bench (default 20000,1000000; 1000000 is the target)
  --e2e-loads <list>    percentages of the sustained rate at which the e2e bench also measures latency,
                        beside the half load of the target (default 10,25; --quick none)
  --e2e-warmup <int>    uncounted e2e runs first, on a broker the bench started, while its JIT compiles
                        (default 1; --quick 0)
  --json <file>         where to write the JSON report (default bench-results/latest.json)
  -h, --help            this help

The e2e bench starts a Kafka broker with scripts/kafka.sh (java 17) unless KAFKA_BROKERS is set.
`


export interface BenchPlan {
  quick: boolean
  only: BenchName[]
  pipeline: PipelineBenchOptions
  e2e: E2eBenchOptions
  memory: MemoryBenchOptions
  activity: ActivityBenchOptions
  restore: RestoreBenchOptions
  api: ApiBenchOptions
}


export function planFrom(args: string[]): BenchPlan & { json: string; help: boolean } {
  let values
  try {
    values = parseArgs({
      args,
      allowPositionals: false,
      options: {
        quick: { type: 'boolean' },
        only: { type: 'string' },
        runs: { type: 'string' },
        'memory-sizes': { type: 'string' },
        'activity-agents': { type: 'string' },
        'activity-settings': { type: 'string' },
        'activity-recent-ids': { type: 'string' },
        'restore-sizes': { type: 'string' },
        'e2e-loads': { type: 'string' },
        'e2e-warmup': { type: 'string' },
        json: { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
    }).values
  } catch (err) {
    throw new UsageError((err as Error).message)
  }
  const quick = values.quick ?? false
  const only = (values.only ?? BENCH_NAMES.join(',')).split(',').map((s) => s.trim()).filter(Boolean)
  for (const name of only) if (!(BENCH_NAMES as readonly string[]).includes(name)) throw new UsageError(`--only: unknown bench "${name}" (known: ${BENCH_NAMES.join(', ')})`)
  const runsOverride = values.runs === undefined ? undefined : intListOption('runs', values.runs, [])[0]
  const cheapRuns = runsOverride ?? (quick ? 3 : 5)
  const expensiveRuns = runsOverride ?? (quick ? 1 : 3)
  // Fleets: 100 agents (plus the sub-agents and new agents the simulator adds, ~170 in all) over a
  // week is ~40,000 events; the quick fleet is a few thousand.
  const fleet = (seed: number, agents: number, days: number): FleetSize => ({ seed, agents, days })
  // The full plan measures a million agents (fill ~3.5 min, each restore ~4 min): a linear
  // extrapolation from small sizes came out at a third of the measured time, since the collector's
  // work per agent grows with the heap.
  const e2eLoads = intListOption('e2e-loads', values['e2e-loads'], quick ? [] : [10, 25])
  if (e2eLoads.some((pct) => pct > 100 || pct === 50)) throw new UsageError(`--e2e-loads: percentages up to 100, other than the half load always measured; got "${values['e2e-loads']}"`)
  const activitySettings = intListOption('activity-settings', values['activity-settings'], [0, 60, 15, 5], 0)
  const restoreSizes = intListOption('restore-sizes', values['restore-sizes'], quick ? [2_000, 5_000] : [20_000, 1_000_000])
  return {
    quick,
    only: only as BenchName[],
    json: values.json ?? 'bench-results/latest.json',
    help: values.help ?? false,
    pipeline: { fleet: quick ? fleet(1, 20, 3) : fleet(1, 100, 7), runs: cheapRuns },
    e2e: {
      fleet: quick ? fleet(2, 20, 3) : fleet(2, 100, 7),
      // ~208,000 events: several seconds at the target rate, so the last checkpoint interval
      // (1 s) does not dominate the figure.
      throughputCopies: quick ? 1 : 5,
      runs: expensiveRuns,
      warmupRuns: intOption('e2e-warmup', values['e2e-warmup'], quick ? 0 : 1, 0),
      latencySeconds: quick ? 5 : 20,
      otherLoadShares: e2eLoads.map((pct) => pct / 100),
      probesPerSecond: quick ? 4 : 5,
    },
    memory: {
      sizes: intListOption('memory-sizes', values['memory-sizes'], quick ? [10_000] : [100_000, 1_000_000]),
      fleet: quick ? fleet(3, 30, 7) : fleet(3, 100, 14),
      stream: quick ? fleet(1, 20, 3) : fleet(1, 100, 7),
      runs: expensiveRuns,
    },
    activity: {
      agents: intOption('activity-agents', values['activity-agents'], quick ? 2_000 : 100_000, 1),
      // The memory bench's templates: 14 days of history, then the day after.
      fleet: quick ? fleet(3, 30, 7) : fleet(3, 100, 14),
      settings: activitySettings,
      // Absent, the config's default.
      ...(values['activity-recent-ids'] === undefined ? {} : { dormantRecentIds: intOption('activity-recent-ids', values['activity-recent-ids'], 0, RECENT_IDS_KEPT.minValue ?? 0, RECENT_IDS_KEPT.maxValue ?? Infinity) }),
      hours: quick ? 6 : 24,
      // One run a setting unless --runs says otherwise: each figure is already the median of 23
      // hours, and a run takes ~6 minutes at 100,000 agents.
      runs: runsOverride ?? 1,
    },
    restore: {
      sizes: restoreSizes,
      fleet: quick ? fleet(4, 20, 7) : fleet(4, 60, 7),
      runs: expensiveRuns,
      chunk: 5000,
      extrapolateReason: restoreSizes.includes(RESTORE_TARGET_AGENTS)
        ? undefined
        : 'a LOWER BOUND: garbage collection per agent grows with the heap, so restore time grows faster than linearly (measured at 1M: ~1.4x this kind of estimate from 20,000, ~3x before the reserved slabs); the full plan measures 1M',
    },
    api: { agents: 10_000, lookups: quick ? 2_000 : 20_000, runs: cheapRuns },
  }
}

async function timed(name: string, fn: () => Promise<BenchSection> | BenchSection): Promise<BenchSection> {
  process.stderr.write(`bench: ${name}...\n`)
  const began = performance.now()
  try {
    const section = await fn()
    process.stderr.write(`bench: ${name} done in ${((performance.now() - began) / 1000).toFixed(1)} s\n`)
    return section
  } catch (err) {
    process.stderr.write(`bench: ${name} failed: ${(err as Error).stack ?? String(err)}\n`)
    return { figures: [], details: {}, error: (err as Error).message, wallMs: performance.now() - began }
  }
}

/** Run the planned benches; the report is returned, printing and writing are the caller's. */
export async function runBench(plan: BenchPlan, command = 'agentwatch bench'): Promise<BenchReport> {
  const report: BenchReport = { version: 1, startedAt: new Date().toISOString(), command, quick: plan.quick, machine: describeMachine(), benches: {} }
  const want = new Set(plan.only)
  if (want.has('pipeline')) report.benches.pipeline = await timed('pipeline', () => runPipelineBench(plan.pipeline))
  let e2e: E2eRuns | undefined
  // The clickhouse figures come from the e2e run's store.
  if (want.has('e2e') || want.has('clickhouse')) {
    const section = await timed('e2e', async () => {
      e2e = await runE2eBench(plan.e2e)
      return e2e.section
    })
    if (want.has('e2e')) report.benches.e2e = section
  }
  if (want.has('memory')) report.benches.memory = await timed('memory', () => runMemoryBench(plan.memory))
  if (want.has('activity')) report.benches.activity = await timed('activity', () => runActivityBench(plan.activity))
  let restoreInsert: number[] = []
  if (want.has('restore')) {
    const section = await timed('restore', () => runRestoreBench(plan.restore))
    report.benches.restore = section
    const bySize = (section.details.bySize ?? {}) as Record<string, { insertRowsPerSecond: number }>
    restoreInsert = Object.values(bySize).map((r) => r.insertRowsPerSecond)
  }
  if (want.has('clickhouse')) report.benches.clickhouse = clickhouseSection(e2e, restoreInsert)
  if (want.has('api')) report.benches.api = await timed('api', () => runApiBench(plan.api))
  return report
}

export function describeReportMachine(report: BenchReport): string {
  const m = report.machine
  return `${m.cpuModel}, ${m.cores} cores, ${(m.memoryBytes / GiB).toFixed(1)} GiB memory, node ${m.node}, ${m.platform}; load average at start ${m.loadAverage.join(' ')}`
}

export async function main(args: string[]): Promise<number> {
  let plan
  try {
    plan = planFrom(args)
  } catch (err) {
    if (err instanceof UsageError) {
      process.stderr.write(`bench: ${err.message}\n\n${USAGE}`)
      return 2
    }
    throw err
  }
  if (plan.help) {
    process.stdout.write(USAGE)
    return 0
  }
  const began = performance.now()
  const report = await runBench(plan, ['agentwatch bench', ...args].join(' '))
  const out = resolve(plan.json)
  mkdirSync(dirname(out), { recursive: true })
  writeFileSync(out, JSON.stringify(report, null, 2) + '\n')
  process.stdout.write(`\n${describeReportMachine(report)}\n${plan.quick ? 'QUICK run: small sizes, not comparable with a full run\n' : ''}\n${formatTable(report)}\n\n`)
  process.stdout.write(`report: ${out} (${((performance.now() - began) / 1000).toFixed(0)} s)\n`)
  return Object.values(report.benches).some((s) => s?.error) ? 1 : 0
}
