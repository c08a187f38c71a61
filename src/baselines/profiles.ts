/**
 * The hot, in-memory baseline of one agent and of one blueprint (peer group). Plain JSON data, so a
 * profile encodes to ClickHouse as it is and restores to the same scoring behaviour.
 */
import type { Detection, RiskLevel } from '../../schemas/risk.ts'
import type { AgentEvent } from '../../schemas/events.ts'
import { DETECTORS } from '../../detectors/index.ts'
import { RecentIdHashes } from './recent-ids.ts'
import { internalized } from '../../detectors/internalized.ts'

/** Accumulated risk of one agent, decayed on event time. */
export interface RiskState {
  /**
   * Strongest recent finding per evidence family: family -> [score, event time ms]. Each decays on
   * its own; the agent's risk is their noisy-OR, so repeating one kind of evidence does not
   * compound while different kinds add up.
   */
  families: Record<string, [number, number]>
  /** Accumulated risk in [0, 1] as of `ts`. */
  score: number
  /** Event time of the last update, epoch ms. */
  ts: number
  level: RiskLevel
  /** Findings that raised the current level, strongest first (bounded). */
  detections: Detection[]
  /** Events behind those findings (bounded). */
  eventIds: string[]
}

export interface AgentProfile {
  agentId: string
  tenantId: string
  blueprintId?: string
  ownerId?: string
  /** Event time of the first and latest event processed, epoch ms. */
  firstTs: number
  lastTs: number
  /** Event time of the first event learned into the baseline, epoch ms (0 = none yet). */
  firstLearnedTs: number
  /** Events learned into the baseline. */
  learned: number
  /** Events processed (learned or not). */
  seen: number
  /** Detector name -> that detector's state. */
  states: Record<string, unknown>
  risk: RiskState
  /** Hashes of the last event ids processed: redeliveries within this window change nothing. */
  recentIds: RecentIdHashes
  /** Kafka partition the agent's events come from (events are keyed by agent id). */
  partition?: number
  /** Kafka high-water marks, `topic:partition` -> offset of the last message applied; older offsets are redeliveries. */
  offsets?: Record<string, number>
  /** Flagged events kept so that an analyst's confirm-safe can teach them to the baseline (bounded). */
  flagged: AgentEvent[]
  /** Confirmed compromised by an analyst: its events never enter any baseline. */
  compromised: boolean
  /** Finding keys that raised this agent to medium or higher -> event time ms (bounded, newest kept). */
  alerted?: Record<string, number>
  /** Counted among its blueprint's established peers (history long enough to judge others by). */
  established?: boolean
}

export interface BlueprintProfile {
  blueprintId: string
  /** Distinct agents that have contributed to this peer baseline. */
  agents: number
  /** Of those, agents whose learned history is long enough to judge new agents by. */
  established?: number
  learned: number
  states: Record<string, unknown>
  /**
   * Recent novelties seen across the blueprint, flagged or not: fleet key -> agent id -> event time
   * (ms) of that agent's latest sighting. Several agents showing the same novelty at once is a
   * blueprint-wide change, not an anomaly. Bounded: see FLEET_KEYS and FLEET_AGENTS_PER_KEY.
   */
  sightings: Record<string, Record<string, number>>
  /**
   * Set on a partial baseline only: the Kafka partition whose agents it learned from. Absent on the
   * view scoring reads, which merges the partials of every partition.
   */
  partition?: number
}

/** A saved partial: which blueprint and partition, and the version it was saved with. */
export interface PartialKey {
  blueprintId: string
  /** Kafka partition; LEGACY_PARTITION for a blueprint baseline saved before partials existed. */
  partition: number
  /** Wall-clock microseconds of the save; a newer version replaces an older one. */
  version: number
}

/** A saved partial with its profile. */
export interface PartialCopy extends PartialKey {
  profile: BlueprintProfile
}

/**
 * Partition key of a partial learned from events that came without a Kafka partition (HTTP ingest,
 * replay, evaluation): one fixed key, so such a pipeline keeps one partial per blueprint.
 */
export const UNPARTITIONED = 0

/**
 * Partition number under which a blueprint baseline saved before per-partition partials (table
 * blueprint_baselines) is read: no instance holds it, so every instance merges it in, unchanged.
 */
export const LEGACY_PARTITION = -1

/** Fleet keys a blueprint remembers; the least recently seen go first. */
export const FLEET_KEYS = 2048
/** Agents remembered per fleet key: enough to reach any sensible quorum. */
export const FLEET_AGENTS_PER_KEY = 64

/** How many flagged events an agent keeps for confirm-safe. */
export const FLAGGED_KEPT = 32

export function emptyRisk(): RiskState {
  return { families: {}, score: 0, ts: 0, level: 'none', detections: [], eventIds: [] }
}

export function newAgentProfile(e: AgentEvent): AgentProfile {
  const states: Record<string, unknown> = {}
  for (const d of DETECTORS) states[d.name] = d.init()
  return {
    agentId: e.agent.id,
    tenantId: internalized(e.tenantId),
    blueprintId: e.agent.blueprintId === undefined ? undefined : internalized(e.agent.blueprintId),
    ownerId: e.agent.ownerId === undefined ? undefined : internalized(e.agent.ownerId),
    firstTs: e.ts,
    lastTs: e.ts,
    firstLearnedTs: 0,
    learned: 0,
    seen: 0,
    states,
    risk: emptyRisk(),
    recentIds: new RecentIdHashes(),
    flagged: [],
    compromised: false,
  }
}

export function newBlueprintProfile(blueprintId: string): BlueprintProfile {
  const states: Record<string, unknown> = {}
  for (const d of DETECTORS) states[d.name] = d.init()
  return { blueprintId, agents: 0, learned: 0, states, sightings: {} }
}

/**
 * Detector states of a restored profile in their in-memory layout; states missing (a detector added
 * since it was saved) are filled in, so a new detector starts warm-up instead of crashing on old data.
 */
export function completeStates(states: Record<string, unknown>): Record<string, unknown> {
  for (const d of DETECTORS) {
    const saved = states[d.name]
    states[d.name] = saved === undefined ? d.init() : d.revive ? d.revive(saved) : saved
  }
  return states
}
