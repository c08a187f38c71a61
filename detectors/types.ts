/**
 * The detector interface. In the spirit of River's learn_one / score_one: each detector is small,
 * uniform and pure where it can be. It owns one slice of an agent's baseline (`State`) and the same
 * slice aggregated over the agent's blueprint peers.
 *
 * - `score` says how anomalous one event is against the baselines, in [0, 1] (higher = more
 *   anomalous), with a plain-words reason and evidence; `undefined` means abstain (warming up, or
 *   nothing to say). Deciding what counts as risk is the pipeline's job, not the detector's.
 * - `learn` folds an event into the agent's own state and into each peer state it is given. The
 *   pipeline calls it only for events that were not flagged (scored below medium) and whose agent is
 *   not confirmed compromised.
 * - `mergePeers` folds a peer state learned from one set of agents into one learned from another,
 *   so that a blueprint's baseline can be kept as partials (one per input partition) and judged as
 *   their merge.
 * - `State` must encode to JSON (objects, arrays, numbers, strings, booleans, or objects with a
 *   `toJSON` such as detectors/packed.ts's counts): it is encoded to ClickHouse as is and restored on
 *   start, through `revive` when the in-memory layout differs from what JSON gives back.
 */
import type { z } from 'zod'
import type { AgentEvent } from '../schemas/events.ts'

export type Observation =
  | 'first_seen'
  | 'rare'
  | 'off_hours'
  | 'surge'
  | 'unseen_transition'
  | 'unfamiliar'
  | 'failure_burst'
  | 'probing'
  | 'spawn_burst'
  | 'delegation_depth'

/** What a detector returns; the pipeline adds the detector's name. */
export interface Finding {
  /** [0, 1]; calibrated so that one detector's 0.9 means as much as another's. */
  score: number
  observation: Observation
  /** Plain words for a SOC analyst: what happened and why it is unusual. */
  reason: string
  /** What was observed and what the baseline says, with numbers. */
  evidence: Record<string, unknown>
  /**
   * What exactly is new, e.g. `resource:sql://hr` or `transition:doc.read>mail.send`. When several
   * agents of one blueprint show the same key within a short time, the pipeline treats it as a
   * blueprint-wide change (a rollout, a new region) rather than an anomaly. Omit it where the
   * detector itself accounts for fleet-wide change, or where a shared key makes no sense.
   */
  fleetKey?: string
  /**
   * The finding is about the agent's parent (the agent named by `agent.parentId`), not the agent
   * itself: e.g. a burst of spawned sub-agents is the spawner's behaviour. The pipeline adds it to
   * the parent's risk when this instance holds the parent, and otherwise to the child's.
   */
  onParent?: boolean
}

/**
 * Kinds of evidence. Within one family findings are correlated (a new tool also makes new
 * transitions), so the pipeline keeps only the strongest per family; across families evidence
 * adds up.
 */
export type Family = 'novelty' | 'timing' | 'volume' | 'signin' | 'delegation'

/** Facts about the baselines that every detector may need, computed once per event by the pipeline. */
export interface DetectorContext {
  /** Events this agent has contributed to its own baseline. */
  ownEvents: number
  /** Event-time span of the agent's learned history, milliseconds. */
  ownHistoryMs: number
  /** Established agents of the blueprint peer group: learned history of at least `baselines.peerEstablishedAfterHours` (0 without a blueprint). */
  peerAgents: number
  /** Events the blueprint peer baseline has learned. */
  peerEvents: number
}

export interface Detector<Cfg = any, State = any> {
  /** Stable snake_case name; appears in risk events and config. */
  readonly name: string
  /** One sentence for the docs and the API. */
  readonly description: string
  /** Which kind of evidence this detector gives; see Family. */
  readonly family: Family
  /** Strict, documented, with defaults; `config.parse({})` gives the defaults. */
  readonly config: z.ZodObject<any> & z.ZodType<Cfg>
  /** An empty baseline. */
  init(): State
  /**
   * The in-memory layout of a state parsed from JSON (e.g. plain arrays back into typed arrays); may
   * change `saved` in place. Must accept every layout saved before, and a state already revived.
   * Absent: the JSON is the layout.
   */
  revive?(saved: State): State
  /** `peers` is the blueprint view the agent is judged against; undefined without a blueprint. */
  score(e: AgentEvent, own: State, peers: State | undefined, cfg: Cfg, ctx: DetectorContext): Finding | undefined
  /**
   * Fold `e` into `own` and into every state of `peers`. `peers[0]`, when present, is the view the
   * agent is judged against: every decision that depends on what the peers know (peers already use
   * this resource, the user is new to the blueprint, how deep the parent is) is taken against it and
   * against `own` as it was before this event, and the same increments then go to every state of
   * `peers`, so that a partial learns exactly what the view learns from the partial's agents.
   * Windows a state keeps for itself (the open hour, "agents doing X now") roll on that state's own
   * clock. Empty: the agent has no blueprint.
   */
  learn(e: AgentEvent, own: State, peers: readonly State[], cfg: Cfg, ctx: DetectorContext): void
  /**
   * Fold `from`, a peer state learned from a set of agents disjoint from those of `into` (another
   * partition's agents: agents are partitioned by id), into `into`. Counts add, first-seen times
   * take the min and last-seen the max, distinct-agent counts add, bounded tables keep the most used
   * entries up to their capacity in `cfg`, typed-array counts add element-wise, windowed "agents
   * doing X now" tallies keep the newest window (adding when both are in it), own-only fields are
   * left alone. Where a field cannot be merged exactly (a moving average, a decaying maximum) the
   * detector says how it approximates. Nothing of `from` is aliased into `into`: `from` keeps
   * learning. Both states may be in their revived layout (see `revive`).
   */
  mergePeers(into: State, from: State, cfg: Cfg): void
}

/** Sensitivity weights shared by detectors that care what was touched: [0, 1]. */
export const SENSITIVITY_WEIGHT = { public: 0.25, internal: 0.5, confidential: 0.8, restricted: 1 } as const

/** Hour of week in UTC, 0 = Monday 00:00-00:59 .. 167 = Sunday 23:00-23:59. */
export function hourOfWeek(ts: number): number {
  // 1970-01-01 was a Thursday: epoch hour 0 is hour 72 of its week.
  return ((Math.floor(ts / 3_600_000) + 72) % 168 + 168) % 168
}

export const clamp01 = (x: number): number => (x < 0 ? 0 : x > 1 ? 1 : x)
