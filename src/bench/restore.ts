/**
 * Restore of agent baselines from ClickHouse, as a service does on start or on partition
 * assignment: N rows are written to agent_baselines through Store.checkpoint + flush in a temporary
 * embedded ClickHouse folder, then `store.forEachAgentRow` with `baselines.holdSaved` for each (as
 * the service restores: events are taken from then on) is timed, and apart from it the revival of
 * every held profile (the service's background revival, in one go). Each size runs in its own child process (chDB binds one folder per process). Filling
 * the table is slow (it is the checkpoint path at full size), so it is done once per size and the
 * restore is timed `runs` times over the same table, each into a fresh Store and Baselines; runs
 * after the first find the table in the OS page cache, as a restart on the same machine does.
 * Before those, the agents of one Kafka partition of six are restored the same way, as an instance
 * assigned that partition does.
 */
import { mkdtempSync, rmSync } from 'node:fs'
import os from 'node:os'
import { join } from 'node:path'
import type { Config } from '../../schemas/config.ts'
import { Baselines } from '../baselines/baselines.ts'
import type { AgentProfile } from '../baselines/profiles.ts'
import { Store } from '../store/store.ts'
import { runInChild } from './child.ts'
import { benchFleet, defaultConfig, dictionaryPrimers, primeDormantDictionaries, ProfileCloner, trainedProfiles, type FleetSize } from './data.ts'
import { MiB } from './machine.ts'
import { figure, type BenchSection, type Figure } from './report.ts'
import { median, perSecond } from './stats.ts'

/** Target: restoring one million agents. Seconds. */
export const RESTORE_TARGET_S = 30
export const RESTORE_TARGET_AGENTS = 1_000_000
/** Kafka partitions the filled agents are spread over (ProfileCloner's default). */
const PARTITIONS = 6

export interface RestoreChildOptions {
  agents: number
  fleet: FleetSize
  /** Profiles per checkpoint + flush while filling the table. */
  chunk: number
  /** Timed restores over the filled table. */
  runs: number
}

export interface RestoreChildResult {
  agents: number
  /** Filling the table: checkpoint + flush of all rows. Milliseconds, and rows per second. */
  insertMs: number
  insertRowsPerSecond: number
  /**
   * The timed part, per run, as the service restores: Store.forEachAgentRow with
   * Baselines.holdSaved for each agent, after which events are taken (heldMs); then every held
   * profile revived in one go, what the service's background revival does a slice at a time and
   * what an agent's first event costs it (revivedMs). Milliseconds.
   */
  heldMs: number[]
  revivedMs: number[]
  /** Bytes of saved profiles held once every row is read (external memory, freed as they are revived). */
  heldBytes: number
  /**
   * Per run, before the full restores: the agents of one Kafka partition of PARTITIONS (as an
   * instance assigned one partition restores them), and how many. Milliseconds.
   */
  partitionMs: number[]
  partitionAgents: number
  /**
   * After each partition restore, every held profile made dormant instead of revived, as the
   * background revival does for agents idle for `baselines.dormantAfterMinutes` (their JSON
   * deflated without being parsed): time per run, and the mean record. Milliseconds and bytes.
   */
  partitionDormantMs: number[]
  dormantRecordBytes: number
  /** Mean serialised profile (the `state` column). Bytes (UTF-16 chars). */
  meanStateChars: number
  /** On-disk size of the table, compressed. Bytes. */
  tableBytesOnDisk: number
}

export async function measureRestoreInProcess(opts: RestoreChildOptions): Promise<RestoreChildResult> {
  const dataDir = mkdtempSync(join(os.tmpdir(), 'agentwatch-bench-restore-'))
  try {
    const cloner = new ProfileCloner(trainedProfiles(benchFleet(opts.fleet)))
    const cfg = { ...defaultConfig().store, dataDir, flushRows: opts.chunk + 1 }
    const store = await Store.open(cfg)
    let stateChars = 0
    const t = performance.now()
    for (let from = 0; from < opts.agents; from += opts.chunk) {
      const chunk: AgentProfile[] = []
      for (let i = from; i < Math.min(opts.agents, from + opts.chunk); i++) chunk.push(cloner.clone(i, PARTITIONS))
      if (from === 0) stateChars = chunk.reduce((n, p) => n + JSON.stringify(p).length, 0) / chunk.length
      store.checkpoint(chunk, [])
      await store.flush()
    }
    const insertMs = performance.now() - t
    const [size] = await store.select<{ bytes: string }>(
      `SELECT toString(sum(bytes_on_disk)) AS bytes FROM system.parts WHERE database = {db:String} AND table = 'agent_baselines' AND active`,
      { db: store.ch.database },
    )
    await store.close()

    const heldMs: number[] = []
    const revivedMs: number[] = []
    let heldBytes = 0
    const partitionMs: number[] = []
    const partitionDormantMs: number[] = []
    let dormantRecordBytes = 0
    let partitionAgents = 0
    const primers = dictionaryPrimers(opts.fleet)
    for (let run = 0; run < opts.runs; run++) {
      const r = await restoreOnce(cfg, [0], primers)
      partitionMs.push(r.heldMs)
      partitionDormantMs.push(r.revivedMs)
      dormantRecordBytes = r.dormantRecordBytes
      partitionAgents = r.agents
      if (partitionAgents !== Math.ceil(opts.agents / PARTITIONS)) throw new Error(`restored ${partitionAgents} agents of partition 0`)
    }
    for (let run = 0; run < opts.runs; run++) {
      const r = await restoreOnce(cfg)
      if (r.agents !== opts.agents) throw new Error(`restored ${r.agents} agents, expected ${opts.agents}`)
      heldMs.push(r.heldMs)
      revivedMs.push(r.revivedMs)
      heldBytes = r.heldBytes
    }
    return {
      agents: opts.agents,
      insertMs,
      insertRowsPerSecond: perSecond(opts.agents, insertMs),
      heldMs,
      revivedMs,
      heldBytes,
      partitionMs,
      partitionAgents,
      partitionDormantMs,
      dormantRecordBytes,
      meanStateChars: Math.round(stateChars),
      tableBytesOnDisk: Number(size?.bytes ?? 0),
    }
  } finally {
    rmSync(dataDir, { recursive: true, force: true })
  }
}

/**
 * One timed restore, as a starting service (or an instance assigned `partitions`) does it: a fresh
 * Store and Baselines, each agent's saved row held as it is read; then, timed apart, every held
 * profile revived (or made dormant, as those of agents long idle are). The Baselines is dropped on
 * return, so two restored sets never share the heap.
 */
async function restoreOnce(
  cfg: Config['store'],
  partitions?: number[],
  /** Made dormant instead of revived, the dictionaries primed with these (see primeDormantDictionaries). */
  dormantPrimers?: readonly AgentProfile[],
): Promise<{ heldMs: number; revivedMs: number; heldBytes: number; agents: number; dormantRecordBytes: number }> {
  const store = await Store.open(cfg)
  const baselines = new Baselines()
  const t = performance.now()
  await store.forEachAgentRow((row) => baselines.holdSaved(row), partitions, { expect: (n) => baselines.expectRestores(n) })
  const heldMs = performance.now() - t
  await store.close()
  const heldBytes = baselines.agents.saved.bytes
  const agents = baselines.agents.size
  if (dormantPrimers) primeDormantDictionaries(baselines.agents.dormant, dormantPrimers)
  // As the service keeps agents, but for when they go dormant: 0 (never) keeps dormantAfterMs at
  // Infinity, so the restore's reservation of typed arrays counts every row, as the revival below
  // (every row revived, or every row made dormant) has always been measured.
  baselines.configure({ ...defaultConfig().baselines, dormantAfterMinutes: 0 })
  const began = performance.now()
  // Every held row's latest event is before Infinity: all go dormant.
  baselines.agents.reviveAll(dormantPrimers ? Infinity : -Infinity)
  const revivedMs = performance.now() - began
  if (baselines.agents.size !== agents) throw new Error(`${agents - baselines.agents.size} held profiles could not be revived`)
  const dormant = baselines.agents.dormant
  if (dormantPrimers && dormant.size !== agents) throw new Error(`${agents - dormant.size} held profiles not made dormant`)
  return { heldMs, revivedMs, heldBytes, agents, dormantRecordBytes: dormant.size ? dormant.bytes / dormant.size : 0 }
}

export interface RestoreBenchOptions {
  /** Sizes measured; the largest is the headline unless it is below the target size. */
  sizes: number[]
  fleet: FleetSize
  runs: number
  chunk: number
  /** Why the target size itself is not measured, when it is not. */
  extrapolateReason?: string
}

export async function runRestoreBench(opts: RestoreBenchOptions): Promise<BenchSection> {
  const began = performance.now()
  const heapLimitMiB = Math.floor((os.freemem() * 0.8) / MiB)
  const figures: Figure[] = []
  const bySize: Record<string, RestoreChildResult> = {}
  const errors: string[] = []
  for (const agents of [...opts.sizes].sort((a, b) => a - b)) {
    const out = await runInChild<RestoreChildResult>('restore', { agents, fleet: opts.fleet, chunk: opts.chunk, runs: opts.runs } satisfies RestoreChildOptions, {
      nodeFlags: [`--max-old-space-size=${heapLimitMiB}`],
    })
    if (!out.ok) {
      errors.push(`${agents} agents: ${/heap out of memory|Allocation failed/i.test(out.stderrTail) ? `does not fit in a ${heapLimitMiB} MiB heap` : out.error.split('\n')[0]}`)
      continue
    }
    const r = out.result
    bySize[agents] = r
    const label = `${agents.toLocaleString('en-US')} agents`
    const isTargetSize = agents === RESTORE_TARGET_AGENTS
    figures.push(
      figure(`restore.seconds.${agents}`, `restore ${label}: rows held, events taken`, 's', r.heldMs.map((ms) => ms / 1000), isTargetSize ? { target: { op: '<=', value: RESTORE_TARGET_S } } : {}),
      figure(`restore.revive_seconds.${agents}`, `  then every profile revived (background)`, 's', r.revivedMs.map((ms) => ms / 1000)),
      figure(`restore.revive_us.${agents}`, `  revival per agent (its first event, if before)`, 'us', r.revivedMs.map((ms) => (ms * 1000) / agents)),
      figure(`restore.held_bytes_per_agent.${agents}`, `  saved profile held per agent until revived`, 'bytes', [r.heldBytes / agents]),
      figure(`restore.partition_seconds.${agents}`, `restore one partition of ${PARTITIONS} of them (${r.partitionAgents.toLocaleString('en-US')} agents), rows held`, 's', r.partitionMs.map((ms) => ms / 1000)),
      figure(`restore.dormant_us.${agents}`, `  then each made dormant instead (idle agents), per agent`, 'us', r.partitionDormantMs.map((ms) => (ms * 1000) / r.partitionAgents)),
      figure(`restore.dormant_bytes_per_agent.${agents}`, `  dormant record per agent`, 'bytes', [r.dormantRecordBytes]),
    )
  }
  // Linear extrapolation from the two largest measured sizes, when the target size was not measured.
  const measured = Object.entries(bySize)
    .map(([n, r]) => ({ n: Number(n), s: median(r.heldMs) / 1000 }))
    .sort((a, b) => a.n - b.n)
  if (!measured.some((m) => m.n === RESTORE_TARGET_AGENTS) && measured.length > 0) {
    const hi = measured[measured.length - 1]!
    const lo = measured.length > 1 ? measured[measured.length - 2]! : { n: 0, s: 0 }
    const slope = (hi.s - lo.s) / (hi.n - lo.n)
    const estimate = hi.s + slope * (RESTORE_TARGET_AGENTS - hi.n)
    figures.push(
      figure(`restore.seconds.${RESTORE_TARGET_AGENTS}.extrapolated`, 'restore 1,000,000 agents, EXTRAPOLATED', 's', [estimate], {
        target: { op: '<=', value: RESTORE_TARGET_S },
        note: `extrapolated linearly from ${measured.length > 1 ? `${lo.n.toLocaleString('en-US')} and ` : '0 and '}${hi.n.toLocaleString('en-US')} agents, not measured${opts.extrapolateReason ? `: ${opts.extrapolateReason}` : ''}`,
      }),
    )
  }
  return {
    figures,
    details: { fleet: opts.fleet, chunk: opts.chunk, heapLimitMiB, bySize, ...(errors.length ? { errors } : {}) },
    ...(errors.length && !measured.length ? { error: errors.join('; ') } : {}),
    wallMs: performance.now() - began,
  }
}
