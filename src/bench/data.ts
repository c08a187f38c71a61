/**
 * Benchmark inputs built from the fleet simulator: contract events, pre-serialised as producers
 * would send them, decoded events for the pipeline, trained agent profiles to clone, and probe
 * events that a trained agent's baseline should find risky.
 */
import { decodeRaw, type AgentEvent, type AgentEventInput } from '../../schemas/events.ts'
import type { Config } from '../../schemas/config.ts'
import type { RiskEvent } from '../../schemas/risk.ts'
import { validateConfig } from '../config/load.ts'
import type { AgentProfile } from '../baselines/profiles.ts'
import type { DormantProfiles } from '../baselines/dormant-profiles.ts'
import { Pipeline } from '../pipeline/pipeline.ts'
import { idHash } from '../baselines/recent-ids.ts'
import { generateFleet, mulberry32 } from '../sim/index.ts'
import { savedKeyed, type SavedTable } from '../../detectors/bounded.ts'
import type { SavedSizes } from '../../detectors/tool_sizes.ts'
import { numbersJSON } from '../../detectors/packed.ts'

export const DAY_MS = 86_400_000

export interface FleetSize {
  seed: number
  agents: number
  days: number
}

export interface BenchFleet {
  size: FleetSize
  events: AgentEventInput[]
  /** Each event as the UTF-8 JSON bytes a producer sends. */
  raw: Buffer[]
  /** Mean serialised size. Bytes. */
  meanBytes: number
  /** Event time of the first and last event, epoch ms. */
  startTs: number
  endTs: number
}

/** Configuration defaults, as a service without a config file runs. */
export function defaultConfig(): Config {
  return validateConfig({})
}

/** Each event as the UTF-8 JSON bytes a producer sends. */
export const serialised = (events: readonly AgentEventInput[]): Buffer[] => events.map((e) => Buffer.from(JSON.stringify(e), 'utf8'))

export function benchFleet(size: FleetSize): BenchFleet {
  const { events } = generateFleet(size)
  const raw = serialised(events)
  const bytes = raw.reduce((n, b) => n + b.length, 0)
  return {
    size,
    events,
    raw,
    meanBytes: raw.length ? bytes / raw.length : 0,
    startTs: events.length ? Date.parse(events[0]!.time) : 0,
    endTs: events.length ? Date.parse(events[events.length - 1]!.time) : 0,
  }
}

export function decodeAll(raw: readonly Buffer[]): AgentEvent[] {
  return raw.map((r) => {
    const d = decodeRaw(r)
    if (!d.ok) throw new Error(`simulated event fails the contract: ${d.reason}`)
    return d.event
  })
}

/**
 * The fleet's events moved forward by whole weeks (so weekday and hour of day keep their meaning)
 * under new event ids: fresh traffic for agents that learned the original, not redeliveries.
 */
export function shiftedCopy(events: readonly AgentEventInput[], weeks: number, tag: string): AgentEventInput[] {
  const shiftMs = weeks * 7 * DAY_MS
  return events.map((e) => ({ ...e, eventId: `${e.eventId}-${tag}`, time: new Date(Date.parse(e.time) + shiftMs).toISOString() }))
}

/** The fleet's events shifted by each of `weeks` (see shiftedCopy), one copy after the other, serialised. */
export function laterWeeks(events: readonly AgentEventInput[], weeks: readonly number[]): Buffer[] {
  return weeks.flatMap((w) => serialised(shiftedCopy(events, w, `w${w}`)))
}

/** Decode + validate + process of each message, as the service does them; invalid ones are skipped. */
export function decodeAndProcess(pipeline: Pipeline, raw: readonly Buffer[], out: RiskEvent[] = []): void {
  for (let i = 0; i < raw.length; i++) {
    const d = decodeRaw(raw[i]!)
    if (d.ok) pipeline.process(d.event, {}, out)
  }
}

/** Kafka partitions the bench's agents are spread over, as the service's topics have. */
const BENCH_PARTITIONS = 6

/**
 * Fill the dormant profiles' dictionaries (src/baselines/dormant-profiles.ts) with `primers`, then
 * forget them. Why: a blueprint's dictionary is the first profiles frozen for it; in the bench those
 * would be templates that later clones copy nearly byte for byte, which deflate to a fifth of what
 * a real peer does. Agents of a real fleet all differ, as another seed's fleet
 * (`dictionaryPrimers`) differs from the templates.
 */
export function primeDormantDictionaries(dormant: DormantProfiles, primers: readonly AgentProfile[]): void {
  for (const p of primers) {
    const id = `dictionary-primer-${p.agentId}`
    dormant.freeze(id, p.blueprintId, -1, p.risk.score, JSON.stringify(p))
    dormant.delete(id)
  }
}

/** Trained profiles of the fleet of the next seed, same blueprints: see primeDormantDictionaries. */
export function dictionaryPrimers(fleet: FleetSize): AgentProfile[] {
  return trainedProfiles(benchFleet({ ...fleet, seed: fleet.seed + 1 }))
}

/**
 * Agents trained on a fleet in memory: their profiles have realistic history to clone from. Each
 * event comes with a topic, partition and offset, as from Kafka in the service, so a profile holds
 * what a running service's does: its partition and its last offset per topic (until 2026-11-27's
 * ninth round, without them: 16 bytes an agent fewer at 100,000 agents). An agent's events share
 * a partition (keyed by agent id; the hash is not Kafka's murmur2, only the spread matters here).
 */
export function trainedProfiles(fleet: BenchFleet, config: Config = defaultConfig()): AgentProfile[] {
  const pipeline = new Pipeline(config)
  const nextOffset = new Map<string, number>()
  for (const e of decodeAll(fleet.raw)) {
    const topic = e.kind === 'signin' ? config.kafka.topics.signins : config.kafka.topics.toolCalls
    const partition = idHash(e.agent.id) % BENCH_PARTITIONS
    const key = `${topic}:${partition}`
    const offset = nextOffset.get(key) ?? 0
    nextOffset.set(key, offset + 1)
    pipeline.process(e, { topic, partition, offset })
  }
  return [...pipeline.baselines.agents.values()].filter((p) => p.learned > 0)
}

/**
 * Agent id of the i-th copy (ProfileCloner.clone), for streams sent to the copies. Parsed from JSON,
 * as the service's ids are (from an event or a saved row), so that it is one flat string: built by
 * concatenation, it is a rope that V8 flattens into a second string when a Map hashes it, 33 bytes
 * more a dormant agent and 17 more a live one (40,000 agents).
 */
export const cloneId = (i: number): string => JSON.parse(`"bench-agent-${String(i).padStart(8, '0')}"`) as string

/**
 * Copies of trained profiles under new agent ids, sharing nothing with the originals. Copies are
 * parsed from the profile's JSON, as a restore from ClickHouse builds them (same object shapes as
 * in the running service), and that is several times faster than structuredClone.
 *
 * Each copy's frequency tables and call sizes hold their keys in an order of its own (a shuffle
 * seeded by the copy's number). Agents learn resources, tools and users in different orders;
 * copies that all shared a few dozen orders would let anything keyed on the order (a hidden class
 * per distinct sequence of property names, as tables were once saved) be built a few dozen times
 * instead of once per agent.
 */
export class ProfileCloner {
  private readonly json: string[]

  constructor(templates: readonly AgentProfile[]) {
    if (templates.length === 0) throw new Error('no trained profiles to clone')
    this.json = templates.map((p) => JSON.stringify(p))
  }

  get templates(): number {
    return this.json.length
  }

  /** The i-th copy: template i mod templates, id `bench-agent-<i>`, partition i mod `partitions` (its offsets keep the template's topic-partition keys: only their bytes matter here). */
  clone(i: number, partitions = BENCH_PARTITIONS): AgentProfile {
    const c = JSON.parse(this.json[i % this.json.length]!) as AgentProfile
    c.agentId = cloneId(i)
    c.partition = i % partitions
    const random = mulberry32(i + 1)
    forEachSavedTable(c, (t) => shuffleKeyed(t, random))
    return c
  }
}

/** A saved table (`keys`, three numbers each in `countFirstLast`) or saved call sizes (`keys`, five numbers each in `callsLargestMean`). */
export interface SavedKeyed {
  keys: string[]
  /** `width` numbers per key, in key order, decoded: the table's `countFirstLast` or the sizes' `callsLargestMean`. */
  numbers: number[]
  width: number
}

/**
 * Call `each` with every saved table and saved call sizes in the detector states of `profile` (as
 * parsed), and the field holding it. Numbers saved in base64 are decoded for `each`, and what it
 * changed in them saved back, unless it replaced the field.
 */
export function forEachSavedTable(profile: { states: Record<string, unknown> }, each: (t: SavedKeyed, state: Record<string, unknown>, field: string) => void): void {
  for (const state of Object.values(profile.states) as Record<string, unknown>[]) {
    for (const [field, value] of Object.entries(state)) {
      const saved = value as Partial<SavedTable & SavedSizes> | null
      const name = saved?.countFirstLast !== undefined ? 'countFirstLast' : 'callsLargestMean'
      const raw = saved?.[name]
      const keyed = saved ? savedKeyed(saved.keys, raw) : undefined
      if (!saved || !keyed) continue
      const { keys, numbers } = keyed as { keys: string[]; numbers: number[] }
      each({ keys, numbers, width: numbers.length / Math.max(1, keys.length) }, state, field)
      if (typeof raw === 'string' && state[field] === saved) saved[name] = numbersJSON(numbers)
    }
  }
}

/** Fisher-Yates over the entries: a key with its numbers. */
function shuffleKeyed(t: SavedKeyed, random: () => number): void {
  const { keys, numbers: v, width } = t
  for (let i = keys.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1))
    ;[keys[i], keys[j]] = [keys[j]!, keys[i]!]
    for (let k = 0; k < width; k++) [v[width * i + k], v[width * j + k]] = [v[width * j + k]!, v[width * i + k]!]
  }
}

/** What the restricted resources probes touch begin with (one each); no simulated agent uses any. */
export const PROBE_RESOURCE = 'sharepoint://sites/finance-restricted-vault'

/**
 * A probe: a trained agent reads a restricted resource it never used, with a tool it never used, in
 * bulk, at `ts` (the stream's current event time), with its usual blueprint and tenant. The baseline
 * detectors should raise its risk.
 *
 * Each probe is one agent's compromise, with a tool and a resource of its own: when several agents of
 * one blueprint use the same new tool or resource within the fleet-change window (72 h of event
 * time), that is a change to the whole blueprint and not an anomaly. And a probe is not dated before
 * the stream it joins: an event older than the agent's latest adds risk that has already decayed.
 * Probes at 03:00 of the stream's day, all on one tool and resource, raised the risk of about half
 * of the agents they were sent for.
 */
export function probeEvent(agent: Pick<AgentEventInput, 'agent' | 'tenantId'>, ts: number, eventId: string): AgentEventInput {
  return {
    eventId,
    kind: 'tool_call',
    time: new Date(ts).toISOString(),
    tenantId: agent.tenantId,
    agent: { ...agent.agent },
    tool: `sharepoint.download-${eventId}`,
    resource: `${PROBE_RESOURCE}/${eventId}`,
    operation: 'read',
    sensitivity: 'restricted',
    outcome: 'success',
    records: 5000,
    bytes: 250_000_000,
    durationMs: 900,
  }
}

/** One representative event per agent of the fleet: whom probes can impersonate. */
export function agentsOf(events: readonly AgentEventInput[]): Map<string, Pick<AgentEventInput, 'agent' | 'tenantId'>> {
  const out = new Map<string, Pick<AgentEventInput, 'agent' | 'tenantId'>>()
  for (const e of events) if (!out.has(e.agent.id)) out.set(e.agent.id, { agent: e.agent, tenantId: e.tenantId })
  return out
}
