/**
 * Pipeline throughput in one process, no Kafka and no store: decode + validate of pre-serialised
 * events, pipeline.process alone on decoded events, and both together as the service does them.
 * Each run starts from an empty Pipeline so runs are alike (baselines form as in production). The
 * first `warmupRuns` runs are not counted: they measure the JIT compiling the per-event path (the
 * first of them ran at ~0.85x of the later ones on a quiet machine), which a long-running service
 * pays once.
 */
import { decodeRaw } from '../../schemas/events.ts'
import type { RiskEvent } from '../../schemas/risk.ts'
import { Pipeline } from '../pipeline/pipeline.ts'
import { benchFleet, decodeAll, defaultConfig, type FleetSize } from './data.ts'
import { figure, type BenchSection } from './report.ts'
import { perSecond } from './stats.ts'

export interface PipelineBenchOptions {
  fleet: FleetSize
  runs: number
  /** Whole runs done first and not counted. Default 1. */
  warmupRuns?: number
}

/** Targets: the whole per-event path on one core. Events per second. */
export const PIPELINE_TARGET_EPS = 150_000

export function runPipelineBench(opts: PipelineBenchOptions): BenchSection {
  const began = performance.now()
  const config = defaultConfig()
  let t = performance.now()
  const fleet = benchFleet(opts.fleet)
  const generateMs = performance.now() - t
  const raw = fleet.raw
  const decoded = decodeAll(raw)

  const decodeEps: number[] = []
  const processEps: number[] = []
  const bothEps: number[] = []
  const riskEvents: number[] = []
  const warmupRuns = opts.warmupRuns ?? 1
  for (let run = -warmupRuns; run < opts.runs; run++) {
    const counted = run >= 0
    t = performance.now()
    let valid = 0
    for (let i = 0; i < raw.length; i++) if (decodeRaw(raw[i]!).ok) valid++
    if (counted) decodeEps.push(perSecond(valid, performance.now() - t))

    let pipeline = new Pipeline(config)
    let out: RiskEvent[] = []
    t = performance.now()
    for (let i = 0; i < decoded.length; i++) pipeline.process(decoded[i]!, {}, out)
    if (counted) processEps.push(perSecond(decoded.length, performance.now() - t))
    if (counted) riskEvents.push(out.length)

    pipeline = new Pipeline(config)
    out = []
    t = performance.now()
    for (let i = 0; i < raw.length; i++) {
      const d = decodeRaw(raw[i]!)
      if (d.ok) pipeline.process(d.event, {}, out)
    }
    if (counted) bothEps.push(perSecond(raw.length, performance.now() - t))
  }

  const target = { op: '>=' as const, value: PIPELINE_TARGET_EPS }
  return {
    figures: [
      figure('pipeline.decode_process_eps', 'decode+validate+process', 'events/s', bothEps, { target }),
      figure('pipeline.decode_eps', 'decode+validate only', 'events/s', decodeEps),
      figure('pipeline.process_eps', 'process only', 'events/s', processEps),
    ],
    details: {
      fleet: opts.fleet,
      warmupRuns,
      events: raw.length,
      agents: new Set(fleet.events.map((e) => e.agent.id)).size,
      meanEventBytes: Math.round(fleet.meanBytes),
      generateMs: Math.round(generateMs),
      riskEventsPerRun: riskEvents,
    },
    wallMs: performance.now() - began,
  }
}
