/**
 * Hot state per agent: heap used after GC, divided by agents, with profiles that carry realistic
 * history. A few hundred agents are trained on simulator data; their profiles are cloned under new
 * ids (parsed from their JSON, as a restore builds them) into one Baselines instance until it holds
 * N agents: every agent live. Then every agent is made dormant, as a fleet idle for
 * `baselines.dormantAfterMinutes` is. Each size runs in its own child process
 * with --expose-gc and a heap limit, so a size that does not fit is reported, not fatal.
 */
import os from 'node:os'
import { Baselines } from '../baselines/baselines.ts'
import { Pipeline } from '../pipeline/pipeline.ts'
import type { AgentProfile } from '../baselines/profiles.ts'
import { RECENT_IDS } from '../baselines/recent-ids.ts'
import { CountTable, KeySlots } from '../../detectors/bounded.ts'
import { runInChild } from './child.ts'
import { benchFleet, decodeAndProcess, defaultConfig, dictionaryPrimers, laterWeeks, primeDormantDictionaries, ProfileCloner, trainedProfiles, type FleetSize } from './data.ts'
import { MiB } from './machine.ts'
import { figure, type BenchSection, type Figure } from './report.ts'

/** Target: hot state per agent. Bytes. */
export const MEMORY_TARGET_BYTES = 2048

export interface MemoryChildOptions {
  agents: number
  fleet: FleetSize
  /** Then the pipeline bench's events through a pipeline whose baselines hold these agents too. */
  stream?: FleetSize
  /** Then the fleet made dormant (MemoryChildResult.dormant). */
  dormant?: boolean
  /** How many of an agent's recent event ids its record keeps (`baselines.dormantRecentIds`). Default the setting's default. */
  dormantRecentIds?: number
  /** Then (not with `dormant`) a new key in every table of every agent (MemoryChildResult.newKeyBytesPerAgent). */
  newKeys?: boolean
}

export interface MemoryChildResult {
  agents: number
  templates: number
  /**
   * Memory held after GC before and after the agents were added: V8 heap used plus memory outside
   * the heap held by ArrayBuffers (typed arrays longer than 64 bytes keep their bytes there). Bytes.
   */
  heapBeforeBytes: number
  heapAfterBytes: number
  /** Of heapAfterBytes - heapBeforeBytes, what is outside the V8 heap (ArrayBuffer contents). Bytes. */
  arrayBufferBytes: number
  bytesPerAgent: number
  /**
   * The same after a lookup in every table of every agent, as their events make: a table of more
   * than a dozen keys keeps an index beside it from its first lookup on (detectors/bounded.ts), so
   * an agent with events since its restore holds one for each of those. Bytes.
   */
  indexedBytesPerAgent: number
  /**
   * indexedBytesPerAgent plus what a new key in each of every agent's count tables (~7 an agent)
   * then adds, measured around that step alone, as an agent's first new resource, tool or
   * transition since its restore does. The new entries take ~32 bytes each; the rest is how the
   * tables' arrays and indexes grow. Bytes.
   */
  newKeyBytesPerAgent?: number
  /** Wall time to clone and insert the agents. Milliseconds. */
  fillMs: number
  /** Mean JSON size of a template profile, by field and by detector state. Bytes (UTF-16 chars). */
  jsonBytesByPart: Record<string, number>
  /** decode + validate + process with the agents resident and live, after a warm-up pass (see residentThroughput). */
  residentEps?: number
  residentEvents?: number
  /**
   * Then the fleet idle: first one agent in ACTIVE_EVERY kept live (changed since its last save, as
   * if its events kept coming) and the rest made dormant by two passes of the sweep
   * (Baselines.freezeIdle; the service runs one every 10 s), then every agent dormant. Memory held
   * per agent after GC in each case, against the same baseline as bytesPerAgent; agents frozen
   * (those at an elevated level stay live); mean record; sweep time per agent frozen (the moves of
   * the live agents out of emptied slabs included); time to thaw one (its profile read back live,
   * for a sample of THAW_SAMPLE). The blueprints' dictionaries are primed with another fleet's
   * profiles first (see primeDormantDictionaries). Then, every agent dormant again, the stream of
   * residentThroughput with them resident (residentEps). Bytes, microseconds, events per second.
   */
  dormant?: { recentIdsKept: number; someActiveBytesPerAgent: number; bytesPerAgent: number; agents: number; recordBytes: number; freezeUs: number; thawUs: number; residentEps?: number }
}

/** In the first dormant measure, one agent in this many stays live. */
const ACTIVE_EVERY = 10
/** Dormant agents thawed to time a thaw. */
const THAW_SAMPLE = 10_000

/** Collect until what is unreachable is freed, ArrayBuffer contents included. */
async function gcFully(): Promise<void> {
  const gc = (globalThis as { gc?: () => void }).gc
  if (!gc) throw new Error('the memory bench needs node --expose-gc')
  // Twice: the first pass may only promote what the second frees. Then again after yielding, since
  // the bytes of freed ArrayBuffers are released by tasks that run after the collection.
  for (let round = 0; round < 3; round++) {
    gc()
    gc()
    await new Promise((resolve) => setTimeout(resolve, 10))
  }
}

/** What `heldAcrossMeasures` keeps reachable. */
const pinned = new Set<unknown>()

/**
 * Keep `values` reachable until the returned function is called: what a "before" measure held must
 * still be held at every measure after it, or the difference undercounts by its size. Reading a
 * local variable later in the same function is not enough: V8 does not count a local that is not
 * read again as a root, so a stream last read by the loop over it is freed before a measure after
 * the loop (the activity bench's all-dormant figure was ~100 bytes an agent low so at 100,000).
 */
export function heldAcrossMeasures(...values: unknown[]): () => void {
  for (const v of values) pinned.add(v)
  return () => {
    for (const v of values) pinned.delete(v)
    // The function may outlive the call (a caller's local): it no longer holds them either.
    values.length = 0
  }
}

/** Memory held after a full collection: V8 heap used plus ArrayBuffer contents (typed arrays keep their bytes outside the heap). Bytes. */
export async function heldBytes(): Promise<number> {
  await gcFully()
  const m = process.memoryUsage()
  return m.heapUsed + m.arrayBuffers
}

/** Mean serialised size of each part of a profile: where the bytes of hot state go. */
export function profileParts(profiles: readonly AgentProfile[]): Record<string, number> {
  const sums: Record<string, number> = {}
  const add = (k: string, v: unknown) => (sums[k] = (sums[k] ?? 0) + (v === undefined ? 0 : JSON.stringify(v).length))
  for (const p of profiles) {
    add('total', p)
    for (const [name, state] of Object.entries(p.states)) add(`states.${name}`, state)
    add('flagged', p.flagged)
    add('recentIds', p.recentIds)
    add('risk', p.risk)
    add('offsets', p.offsets)
  }
  return Object.fromEntries(Object.entries(sums).map(([k, v]) => [k, Math.round(v / Math.max(1, profiles.length))]))
}

export async function measureMemoryInProcess(opts: MemoryChildOptions): Promise<MemoryChildResult> {
  const trained = trainedProfiles(benchFleet(opts.fleet))
  const parts = profileParts(trained)
  // Only the templates' JSON stays reachable from here on; training data is garbage.
  let cloner: ProfileCloner | undefined = new ProfileCloner(trained)
  trained.length = 0
  await gcFully()
  const before = process.memoryUsage()
  const heapBeforeBytes = before.heapUsed + before.arrayBuffers
  const baselines = new Baselines()
  const began = performance.now()
  // As the service restores (Store.forEachAgentRow tells it how many): typed arrays reserved up front,
  // so that whatever the reservation holds beyond what the agents use counts here too.
  baselines.expectRestores(opts.agents)
  for (let i = 0; i < opts.agents; i++) {
    baselines.restoreAgent(cloner.clone(i))
  }
  const fillMs = performance.now() - began
  const count = cloner.templates
  cloner = undefined
  await gcFully()
  const after = process.memoryUsage()
  const heapAfterBytes = after.heapUsed + after.arrayBuffers
  if (baselines.agents.size !== opts.agents) throw new Error('agents lost')
  // A lookup of a key no table holds: what indexes a large one.
  for (const p of baselines.agents.liveValues()) forEachTable(p.states, 3, (table) => table.slotOf(''))
  await gcFully()
  const indexed = process.memoryUsage()
  const indexedBytesPerAgent = (indexed.heapUsed + indexed.arrayBuffers - heapBeforeBytes) / opts.agents
  // Used after each measure, so that the collector cannot take the agents before it.
  if (baselines.agents.size !== opts.agents) throw new Error('agents lost')
  const resident = opts.stream ? residentThroughput(baselines, opts.stream) : undefined
  const dormant = opts.dormant ? await measureDormant(baselines, opts.agents, heapBeforeBytes, opts.fleet, opts.dormantRecentIds ?? defaultConfig().baselines.dormantRecentIds) : undefined
  if (dormant && resident && opts.stream) {
    // The same stream again, from the same start, with the agents resident dormant.
    forgetStream(baselines, resident.agentIds)
    dormant.residentEps = residentThroughput(baselines, opts.stream).eps
  }
  let newKeyBytesPerAgent: number | undefined
  if (opts.newKeys) {
    await gcFully()
    const m0 = process.memoryUsage()
    const ts = Date.now()
    const addKey = (table: KeySlots) => {
      if (table instanceof CountTable) table.bump('bench:a key never seen', ts, Infinity)
    }
    for (const p of baselines.agents.liveValues()) forEachTable(p.states, 3, addKey)
    await gcFully()
    const m1 = process.memoryUsage()
    if (baselines.agents.size < opts.agents) throw new Error('agents lost')
    newKeyBytesPerAgent = indexedBytesPerAgent + (m1.heapUsed + m1.arrayBuffers - m0.heapUsed - m0.arrayBuffers) / opts.agents
  }
  // The templates' JSON is freed above, so (after - before) undercounts by its size: ~25 KB x templates.
  return {
    ...(dormant ? { dormant } : {}),
    ...(resident ? { residentEps: resident.eps, residentEvents: resident.events } : {}),
    agents: opts.agents,
    templates: count,
    heapBeforeBytes,
    heapAfterBytes,
    arrayBufferBytes: after.arrayBuffers - before.arrayBuffers,
    bytesPerAgent: (heapAfterBytes - heapBeforeBytes) / opts.agents,
    indexedBytesPerAgent,
    ...(newKeyBytesPerAgent === undefined ? {} : { newKeyBytesPerAgent }),
    fillMs,
    jsonBytesByPart: parts,
  }
}

/** `visit` on every table (`KeySlots`) within `value`, `depth` levels down. */
function forEachTable(value: unknown, depth: number, visit: (table: KeySlots) => void): void {
  if (value instanceof KeySlots) visit(value)
  else if (depth > 0 && typeof value === 'object' && value !== null && !ArrayBuffer.isView(value)) for (const v of Object.values(value)) forEachTable(v, depth - 1, visit)
}

/** The fleet made dormant, all but a tenth then all of it (see MemoryChildResult.dormant). */
async function measureDormant(baselines: Baselines, agents: number, heapBeforeBytes: number, fleet: FleetSize, recentIdsKept: number): Promise<MemoryChildResult['dormant']> {
  primeDormantDictionaries(baselines.agents.dormant, dictionaryPrimers(fleet))
  baselines.configure({ ...defaultConfig().baselines, dormantRecentIds: recentIdsKept })
  const held = async () => ((await heldBytes()) - heapBeforeBytes) / agents
  const sweep = () => {
    while (baselines.freezeIdle(Infinity, Infinity));
  }
  // The resident stream's agents were changed since any save: they stay live, as in the service.
  let i = 0
  for (const p of baselines.agents.liveValues()) if (i++ % ACTIVE_EVERY === 0) baselines.markDirty(p)
  const began = performance.now()
  sweep()
  sweep()
  const sweepMs = performance.now() - began
  const someFrozen = baselines.agents.dormant.size
  const someActiveBytesPerAgent = await held()
  baselines.takeDirty()
  sweep()
  const frozen = baselines.agents.dormant.size
  const recordBytes = baselines.agents.dormant.bytes / Math.max(1, frozen)
  const bytesPerAgent = await held()
  const sample = [...baselines.agents.dormant.ids()].slice(0, THAW_SAMPLE)
  const thawBegan = performance.now()
  for (const id of sample) baselines.agents.get(id)
  const thawMs = performance.now() - thawBegan
  // Dormant again, for the stream that follows.
  sweep()
  return { recentIdsKept, someActiveBytesPerAgent, bytesPerAgent, agents: frozen, recordBytes, freezeUs: (sweepMs * 1000) / Math.max(1, someFrozen), thawUs: (thawMs * 1000) / Math.max(1, sample.length) }
}

/**
 * What residentThroughput left in `baselines`: the stream's agents, and every blueprint view and
 * partial (the cloned agents were restored without any), so that the stream can run again from the
 * same start.
 */
function forgetStream(baselines: Baselines, agentIds: ReadonlySet<string>): void {
  baselines.takeDirty()
  for (const id of agentIds) baselines.agents.delete(id)
  baselines.blueprints.clear()
  baselines.partials.clear()
}

/**
 * The pipeline bench's path (decode + validate + process, from the raw bytes) over `fleet`'s events
 * and three copies shifted by whole weeks, through a pipeline whose baselines also hold the agents
 * already in `baselines`: what a large resident heap costs the per-event path (the collector marks
 * and tracks all of it; the pipeline bench's own baselines hold ~100 agents). The first week is a
 * warm-up pass and is not timed. Events per second.
 */
function residentThroughput(baselines: Baselines, fleet: FleetSize): { eps: number; events: number; agentIds: Set<string> } {
  const { events, raw } = benchFleet(fleet)
  const pipeline = new Pipeline(defaultConfig(), { baselines })
  decodeAndProcess(pipeline, raw)
  const timed = laterWeeks(events, [1, 2, 3])
  const began = performance.now()
  decodeAndProcess(pipeline, timed)
  const eps = (timed.length * 1000) / (performance.now() - began)
  // A stream run again over agents that remembered it would be dropped as redelivered, and fast.
  if (pipeline.stats.duplicates > 0) throw new Error(`${pipeline.stats.duplicates} events of the stream taken for redeliveries`)
  return { eps, events: timed.length, agentIds: new Set(events.map((e) => e.agent.id)) }
}

export interface MemoryBenchOptions {
  sizes: number[]
  fleet: FleetSize
  /** Events streamed through a pipeline with the agents resident (see residentThroughput). */
  stream?: FleetSize
  runs: number
  /** Heap limit of each child. MiB. Default 80% of free memory. */
  heapLimitMiB?: number
}

export async function runMemoryBench(opts: MemoryBenchOptions): Promise<BenchSection> {
  const began = performance.now()
  const heapLimitMiB = opts.heapLimitMiB ?? Math.floor((os.freemem() * 0.8) / MiB)
  const figures: Figure[] = []
  const perSize: Record<string, unknown> = {}
  let knownBytesPerAgent: number | undefined
  for (const agents of [...opts.sizes].sort((a, b) => a - b)) {
    const label = `${agents.toLocaleString('en-US')} agents`
    const target = { op: '<=' as const, value: MEMORY_TARGET_BYTES }
    // 1.3: clones, the Map and GC headroom on top of the measured per-agent size.
    const predictedMiB = knownBytesPerAgent ? (knownBytesPerAgent * agents * 1.3) / MiB : 0
    if (predictedMiB > heapLimitMiB) {
      const note = `${label}: does not fit; predicted ${Math.round(predictedMiB).toLocaleString('en-US')} MiB of heap at the smaller size's ${Math.round(knownBytesPerAgent!)} bytes/agent > ${heapLimitMiB.toLocaleString('en-US')} MiB limit (80% of free memory); not run`
      figures.push(figure(`memory.bytes_per_agent.${agents}`, `hot state per agent, ${label}`, 'bytes', [], { target, note }))
      perSize[agents] = { skipped: note }
      continue
    }
    const runs: MemoryChildResult[] = []
    let failure: string | undefined
    for (let r = 0; r < opts.runs && !failure; r++) {
      // The dormant figures in the first run, with records that keep the setting's default of
      // recent ids, and in the second with records that keep all RECENT_IDS of them: they vary by
      // less than 0.1% from run to run (three runs each, 2026-11-28), and freezing a million agents
      // takes ~5 minutes. New keys in the third, where no dormant figure follows that they would
      // change.
      const dormant = r <= 1
      const out = await runInChild<MemoryChildResult>('memory', { agents, fleet: opts.fleet, stream: opts.stream, dormant, ...(r === 1 ? { dormantRecentIds: RECENT_IDS } : {}), newKeys: r === 2 } satisfies MemoryChildOptions, {
        nodeFlags: ['--expose-gc', `--max-old-space-size=${heapLimitMiB}`],
      })
      if (out.ok) runs.push(out.result)
      else failure = /heap out of memory|Allocation failed/i.test(out.stderrTail) ? `does not fit in a ${heapLimitMiB} MiB heap` : out.error
    }
    const values = runs.map((r) => r.bytesPerAgent)
    figures.push(figure(`memory.bytes_per_agent.${agents}`, `hot state per agent, ${label}`, 'bytes', values, { target, ...(failure ? { note: `${label}: ${failure}` } : {}) }))
    figures.push(figure(`memory.indexed_bytes_per_agent.${agents}`, `  every agent live, its tables indexed (as after events)`, 'bytes', runs.map((r) => r.indexedBytesPerAgent), { target }))
    const newKeys = runs.flatMap((r) => (r.newKeyBytesPerAgent === undefined ? [] : [r.newKeyBytesPerAgent]))
    if (newKeys.length) figures.push(figure(`memory.new_key_bytes_per_agent.${agents}`, `  then a new key in each of its tables`, 'bytes', newKeys, { target }))
    const eps = runs.flatMap((r) => (r.residentEps === undefined ? [] : [r.residentEps]))
    if (eps.length) figures.push(figure(`memory.resident_pipeline_eps.${agents}`, `  decode+validate+process with them resident`, 'events/s', eps))
    const dormant = runs.flatMap((r) => (r.dormant && r.dormant.recentIdsKept !== RECENT_IDS ? [r.dormant] : []))
    if (dormant.length) {
      figures.push(figure(`memory.some_active_bytes_per_agent.${agents}`, `  then a tenth active, the rest dormant (records with ${dormant[0]!.recentIdsKept} recent ids)`, 'bytes', dormant.map((d) => d.someActiveBytesPerAgent), { target }))
      figures.push(figure(`memory.dormant_bytes_per_agent.${agents}`, `  then all dormant (the same records)`, 'bytes', dormant.map((d) => d.bytesPerAgent), { target }))
      figures.push(figure(`memory.dormant_freeze_us.${agents}`, `  freezing one (sweep time)`, 'us', dormant.map((d) => d.freezeUs)))
      figures.push(figure(`memory.dormant_thaw_us.${agents}`, `  thawing one (its next event or reader)`, 'us', dormant.map((d) => d.thawUs)))
      const dormantEps = dormant.flatMap((d) => (d.residentEps === undefined ? [] : [d.residentEps]))
      if (dormantEps.length) figures.push(figure(`memory.dormant_resident_pipeline_eps.${agents}`, `  decode+validate+process with them dormant`, 'events/s', dormantEps))
    }
    const fullRings = runs.flatMap((r) => (r.dormant?.recentIdsKept === RECENT_IDS ? [r.dormant] : []))
    if (fullRings.length) {
      figures.push(figure(`memory.some_active_bytes_per_agent_all_recent_ids.${agents}`, `  a tenth active, the rest dormant, records with all ${RECENT_IDS} recent ids`, 'bytes', fullRings.map((d) => d.someActiveBytesPerAgent), { target }))
      figures.push(figure(`memory.dormant_bytes_per_agent_all_recent_ids.${agents}`, `  all dormant, records with all ${RECENT_IDS} recent ids`, 'bytes', fullRings.map((d) => d.bytesPerAgent), { target }))
    }
    if (values.length) knownBytesPerAgent = Math.max(...values)
    perSize[agents] = { runs, ...(failure ? { failure } : {}) }
  }
  return { figures, details: { fleet: opts.fleet, heapLimitMiB, sizes: perSize }, wallMs: performance.now() - began }
}
