/**
 * Memory at the fleet's own activity. The memory bench keeps a chosen share of the agents live (a
 * tenth) and freezes the rest; here the share is what the agents' events make it. N copies of
 * trained agents (as in the memory bench) each receive their template's events of the following
 * day under their own ids, through a pipeline whose baselines hold them all, with
 * `baselines.dormantAfterMinutes` set to the value compared. What the service does on wall-clock
 * timers is played on event time: every SWEEP_MINUTES, the agents changed since the last pass count
 * as checkpointed (`takeDirty`, the service checkpoints every second) and one full pass of the
 * dormancy sweep runs (`freezeIdle`, every 10 s in the service).
 *
 * At the end of each hour of event time: memory held per agent after GC (V8 heap used plus
 * ArrayBuffer contents, against the same before the agents were restored, as the memory bench) and
 * the share of the agents live. The hours before the setting's own period has passed twice are left
 * out: at the start every agent is live, as after a restore. Also the events per second of the
 * whole stream (sweeps included, the measures not) and the freezes and thaws per thousand events:
 * what a shorter period costs in CPU.
 *
 * Each setting runs in its own child process (runActivityBench), so that no run inherits another's
 * heap or slabs. The stream, the copies' ids, the templates' JSON and the primed dictionaries are
 * held through every measure and the one before the agents (`heldAcrossMeasures`), so that only the
 * agents and the peer baselines the stream builds count. The copies of one template send their
 * events together, which works the peer baselines harder than a real fleet does: the events per
 * second compare settings, they are not the pipeline's rate.
 */
import { Baselines } from '../baselines/baselines.ts'
import { Pipeline } from '../pipeline/pipeline.ts'
import type { AgentEvent } from '../../schemas/events.ts'
import { runInChild } from './child.ts'
import { benchFleet, cloneId, DAY_MS, decodeAll, defaultConfig, dictionaryPrimers, primeDormantDictionaries, ProfileCloner, serialised, shiftedCopy, trainedProfiles, type FleetSize } from './data.ts'
import { heldAcrossMeasures, heldBytes, MEMORY_TARGET_BYTES } from './memory.ts'
import { median } from './stats.ts'
import { figure, type BenchSection, type Figure } from './report.ts'

/** Event time between two passes of checkpoint-then-sweep. Minutes. */
const SWEEP_MINUTES = 1
const HOUR_MS = 3_600_000

export interface ActivityChildOptions {
  agents: number
  /** Trained to make the templates; the stream is the same fleet's events of the day after. */
  fleet: FleetSize
  /** `baselines.dormantAfterMinutes`; 0 keeps every agent live. */
  dormantAfterMinutes: number
  /** Event time streamed. Hours. */
  hours: number
  /** `baselines.dormantRecentIds`; absent, the config's default. Event ids. */
  dormantRecentIds?: number
}

export interface ActivityChildResult {
  agents: number
  dormantAfterMinutes: number
  /** `baselines.dormantRecentIds` of the run. Event ids. */
  dormantRecentIds: number
  /** Per measured hour: memory held per agent (bytes), the share of the agents live then, and the mean dormant record (bytes). */
  hours: { bytesPerAgent: number; liveShare: number; recordBytes: number }[]
  /**
   * After the stream, every agent made dormant (not with dormantAfterMinutes 0): memory held per
   * agent, as the memory bench's all-dormant figure, and the mean record then (part of it). Bytes.
   */
  allDormant?: { bytesPerAgent: number; recordBytes: number }
  /** Agents that had at least one event in the stream: the rest idle throughout. Share of all. */
  activeShare: number
  events: number
  /** decode is not included (the copies are built decoded): process, checkpoint marks and sweeps. Events per second. */
  eps: number
  freezesPer1000: number
  thawsPer1000: number
  /** Events taken for redeliveries: must be none, the copies' ids are new. */
  duplicates: number
}

/** Hours measured of a stream under `dormantAfterMinutes`: those after twice the period (one at least). */
function measuredFromHour(dormantAfterMinutes: number): number {
  return Math.max(1, Math.ceil((2 * dormantAfterMinutes) / 60))
}

/** The stream of copy-ready template events and what the copies are made from; the fleet itself is left behind as garbage. */
function prepare(opts: ActivityChildOptions) {
  const fleet = benchFleet(opts.fleet)
  const trained = trainedProfiles(fleet)
  const templateOf = new Map(trained.map((p, k) => [p.agentId, k]))
  // The fleet's events shifted by whole weeks past its training: with 14 days trained, they follow on.
  const weeks = Math.ceil(opts.fleet.days / 7)
  const streamStart = fleet.startTs + weeks * 7 * DAY_MS
  const stream = decodeAll(serialised(shiftedCopy(fleet.events, weeks, 'next').filter((e) => templateOf.has(e.agent.id) && Date.parse(e.time) < streamStart + opts.hours * HOUR_MS)))
  return { stream, streamStart, templateOf, cloner: new ProfileCloner(trained), templates: trained.length }
}

export async function measureActivityInProcess(opts: ActivityChildOptions): Promise<ActivityChildResult> {
  const { stream, streamStart, templateOf, cloner, templates } = prepare(opts)
  const config = defaultConfig()
  config.baselines.dormantAfterMinutes = opts.dormantAfterMinutes
  if (opts.dormantRecentIds !== undefined) config.baselines.dormantRecentIds = opts.dormantRecentIds
  const baselines = new Baselines()
  primeDormantDictionaries(baselines.agents.dormant, dictionaryPrimers(opts.fleet))
  const ids = Array.from({ length: opts.agents }, (_, i) => cloneId(i))
  const active = new Uint8Array(opts.agents)
  // Everything the measures compare against is held from here to the end (the stream, the copies'
  // ids, the templates' JSON, the primed dictionaries held by `baselines`): only the agents and the
  // peer baselines differ between the two.
  const release = heldAcrossMeasures(stream, ids, templateOf, cloner)
  const heapBeforeBytes = await heldBytes()
  baselines.expectRestores(opts.agents)
  for (let i = 0; i < opts.agents; i++) baselines.restoreAgent(cloner.clone(i))
  const pipeline = new Pipeline(config, { baselines })

  const hours: ActivityChildResult['hours'] = []
  const fromHour = measuredFromHour(opts.dormantAfterMinutes)
  const dormant = baselines.agents.dormant
  const frozen0 = dormant.counts.frozen
  const thawed0 = dormant.counts.thawed
  let events = 0
  let workMs = 0
  let nextSweep = streamStart + SWEEP_MINUTES * 60_000
  let nextHour = streamStart + HOUR_MS
  let hour = 0
  const sweep = () => {
    baselines.takeDirty()
    const cutoff = pipeline.dormantBefore
    if (cutoff !== -Infinity) while (baselines.freezeIdle(cutoff, Infinity));
  }
  const measure = async (): Promise<ActivityChildResult['hours'][number]> => {
    const bytesPerAgent = ((await heldBytes()) - heapBeforeBytes) / opts.agents
    if (baselines.agents.size !== opts.agents) throw new Error(`agents lost or added: ${baselines.agents.size} of ${opts.agents}`)
    return { bytesPerAgent, liveShare: (baselines.agents.size - dormant.size) / opts.agents, recordBytes: dormant.bytes / Math.max(1, dormant.size) }
  }

  let began = performance.now()
  for (const e of stream) {
    while (e.ts >= nextSweep || e.ts >= nextHour) {
      if (nextSweep <= nextHour) {
        sweep()
        nextSweep += SWEEP_MINUTES * 60_000
      } else {
        hour++
        if (hour >= fromHour) {
          workMs += performance.now() - began
          hours.push(await measure())
          began = performance.now()
        }
        nextHour += HOUR_MS
      }
    }
    const k = templateOf.get(e.agent.id)!
    for (let i = k; i < opts.agents; i += templates) {
      pipeline.process(copyFor(e, ids[i]!, i))
      active[i] = 1
      events++
    }
  }
  workMs += performance.now() - began
  if (hours.length === 0) throw new Error(`a stream of ${opts.hours} h measures no hour with dormantAfterMinutes ${opts.dormantAfterMinutes}: from hour ${fromHour} on`)
  let activeAgents = 0
  for (const a of active) activeAgents += a
  let allDormant: ActivityChildResult['allDormant']
  if (opts.dormantAfterMinutes > 0) {
    baselines.takeDirty()
    while (baselines.freezeIdle(Infinity, Infinity));
    const { bytesPerAgent, recordBytes } = await measure()
    allDormant = { bytesPerAgent, recordBytes }
  }
  release()
  return {
    ...(allDormant === undefined ? {} : { allDormant }),
    agents: opts.agents,
    dormantAfterMinutes: opts.dormantAfterMinutes,
    dormantRecentIds: config.baselines.dormantRecentIds,
    hours,
    activeShare: activeAgents / opts.agents,
    events,
    eps: (events * 1000) / workMs,
    freezesPer1000: ((dormant.counts.frozen - frozen0) * 1000) / Math.max(1, events),
    thawsPer1000: ((dormant.counts.thawed - thawed0) * 1000) / Math.max(1, events),
    duplicates: pipeline.stats.duplicates,
  }
}

/** The template's event as copy `i` sends it: its id, and an event id of its own. */
function copyFor(e: AgentEvent, agentId: string, i: number): AgentEvent {
  return { ...e, eventId: `${e.eventId}-${i}`, agent: { ...e.agent, id: agentId } }
}

export interface ActivityBenchOptions {
  agents: number
  fleet: FleetSize
  /** `baselines.dormantAfterMinutes` values compared; 0 (every agent live) gives the CPU baseline. */
  settings: number[]
  /** `baselines.dormantRecentIds` of every setting; absent, the config's default. Event ids. */
  dormantRecentIds?: number
  hours: number
  runs: number
  /** Heap limit of each child. MiB. */
  heapLimitMiB?: number
}

export async function runActivityBench(opts: ActivityBenchOptions): Promise<BenchSection> {
  const began = performance.now()
  const figures: Figure[] = []
  const bySetting: Record<string, unknown> = {}
  const target = { op: '<=' as const, value: MEMORY_TARGET_BYTES }
  const label = `${opts.agents.toLocaleString('en-US')} agents`
  for (const minutes of opts.settings) {
    const runs: ActivityChildResult[] = []
    for (let r = 0; r < opts.runs; r++) {
      const out = await runInChild<ActivityChildResult>('activity', { agents: opts.agents, fleet: opts.fleet, dormantAfterMinutes: minutes, hours: opts.hours, ...(opts.dormantRecentIds === undefined ? {} : { dormantRecentIds: opts.dormantRecentIds }) } satisfies ActivityChildOptions, {
        nodeFlags: ['--expose-gc', ...(opts.heapLimitMiB ? [`--max-old-space-size=${opts.heapLimitMiB}`] : [])],
      })
      if (!out.ok) throw new Error(`activity bench, dormantAfterMinutes ${minutes}: ${out.error}`)
      if (out.result.duplicates > 0) throw new Error(`activity bench: ${out.result.duplicates} events taken for redeliveries`)
      runs.push(out.result)
    }
    const records = opts.dormantRecentIds === undefined ? '' : `, records with ${opts.dormantRecentIds} recent ids`
    const setting = minutes === 0 ? 'every agent live' : `dormant after ${minutes} min${records}`
    const key = minutes === 0 ? 'never' : `${minutes}min`
    // Per run, the median hour; the figure is the median of those.
    figures.push(figure(`activity.bytes_per_agent.${key}`, `${label} at their own activity, ${setting}: per agent, median hour`, 'bytes', runs.map((r) => median(r.hours.map((h) => h.bytesPerAgent))), { target }))
    figures.push(figure(`activity.peak_bytes_per_agent.${key}`, `  the busiest hour`, 'bytes', runs.map((r) => Math.max(...r.hours.map((h) => h.bytesPerAgent))), { target }))
    figures.push(figure(`activity.live_share.${key}`, `  agents live, median hour`, '%', runs.map((r) => 100 * median(r.hours.map((h) => h.liveShare)))))
    figures.push(figure(`activity.eps.${key}`, `  process with checkpoint marks and sweeps`, 'events/s', runs.map((r) => r.eps)))
    if (minutes > 0) {
      figures.push(figure(`activity.thaws_per_1000.${key}`, `  agents thawed per 1,000 events`, 'count', runs.map((r) => r.thawsPer1000)))
      figures.push(figure(`activity.all_dormant_bytes_per_agent.${key}`, `  then every agent dormant`, 'bytes', runs.map((r) => r.allDormant!.bytesPerAgent), { target }))
    }
    bySetting[key] = runs
  }
  return { figures, details: { agents: opts.agents, fleet: opts.fleet, hours: opts.hours, sweepMinutes: SWEEP_MINUTES, bySetting }, wallMs: performance.now() - began }
}
