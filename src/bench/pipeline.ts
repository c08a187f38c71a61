/**
 * Pipeline throughput in one process, no Kafka and no store: decode + validate of pre-serialised
 * events, pipeline.process alone on decoded events, and both together as the service does them.
 *
 * The headline is a trained pipeline, as a service runs most of its life: each run starts from an
 * empty Pipeline, learns the fleet's first week untimed, and is timed over the following
 * `trainedWeeks` weeks (the same fleet shifted by whole weeks, new event ids). From empty baselines
 * half of the first week is scored by no detector at all (agents and peers still warming up), which
 * made that figure about twice the trained one; it is still given, as defined before.
 *
 * The first `warmupRuns` runs are not counted: they measure the JIT compiling the per-event path
 * (the first of them ran at ~0.85x of the later ones on a quiet machine), which a long-running
 * service pays once.
 */
import { decodeRaw } from '../../schemas/events.ts'
import type { RiskEvent } from '../../schemas/risk.ts'
import { Pipeline } from '../pipeline/pipeline.ts'
import { benchFleet, decodeAll, decodeAndProcess, defaultConfig, laterWeeks, type FleetSize } from './data.ts'
import { figure, type BenchSection } from './report.ts'
import { perSecond } from './stats.ts'

export interface PipelineBenchOptions {
  fleet: FleetSize
  runs: number
  /** Whole runs done first and not counted. Default 1. */
  warmupRuns?: number
  /** Weeks timed after the first (learned untimed). Default 2. */
  trainedWeeks?: number
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
  const trainedWeeks = opts.trainedWeeks ?? 2
  // Whole weeks keep every event at the same hour of the week, so the later weeks are the first
  // one again for the baselines' rhythm.
  const laterRaw = laterWeeks(fleet.events, Array.from({ length: trainedWeeks }, (_, w) => w + 1))
  const laterDecoded = decodeAll(laterRaw)

  const decodeEps: number[] = []
  const processEps: number[] = []
  const bothEps: number[] = []
  const fromEmptyEps: number[] = []
  const riskEvents: number[] = []
  const warmupRuns = opts.warmupRuns ?? 1
  for (let run = -warmupRuns; run < opts.runs; run++) {
    const counted = run >= 0
    t = performance.now()
    let valid = 0
    for (let i = 0; i < laterRaw.length; i++) if (decodeRaw(laterRaw[i]!).ok) valid++
    if (counted) decodeEps.push(perSecond(valid, performance.now() - t))

    let pipeline = new Pipeline(config)
    let out: RiskEvent[] = []
    for (let i = 0; i < decoded.length; i++) pipeline.process(decoded[i]!, {}, out)
    t = performance.now()
    for (let i = 0; i < laterDecoded.length; i++) pipeline.process(laterDecoded[i]!, {}, out)
    if (counted) processEps.push(perSecond(laterDecoded.length, performance.now() - t))

    pipeline = new Pipeline(config)
    out = []
    t = performance.now()
    decodeAndProcess(pipeline, raw, out)
    if (counted) fromEmptyEps.push(perSecond(raw.length, performance.now() - t))
    t = performance.now()
    decodeAndProcess(pipeline, laterRaw, out)
    if (counted) bothEps.push(perSecond(laterRaw.length, performance.now() - t))
    if (counted) riskEvents.push(out.length)
  }

  const target = { op: '>=' as const, value: PIPELINE_TARGET_EPS }
  return {
    figures: [
      figure('pipeline.decode_process_eps', 'decode+validate+process, trained', 'events/s', bothEps, { target }),
      figure('pipeline.decode_eps', 'decode+validate only', 'events/s', decodeEps),
      figure('pipeline.process_eps', 'process only, trained', 'events/s', processEps),
      figure('pipeline.decode_process_from_empty_eps', 'decode+validate+process, first week from empty', 'events/s', fromEmptyEps),
    ],
    details: {
      fleet: opts.fleet,
      warmupRuns,
      trainedWeeks,
      events: raw.length,
      timedEvents: laterRaw.length,
      agents: new Set(fleet.events.map((e) => e.agent.id)).size,
      meanEventBytes: Math.round(fleet.meanBytes),
      generateMs: Math.round(generateMs),
      riskEventsPerRun: riskEvents,
    },
    wallMs: performance.now() - began,
  }
}
