/**
 * The per-event path, all in memory and synchronous: dedupe, score against the agent's and its
 * peers' baselines, update risk, learn unless flagged. No I/O here: sinks and checkpoints are the
 * service's job, so the same code serves the live service, replay and evaluation, deterministically.
 */
import { createHash } from 'node:crypto'
import type { AgentEvent } from '../../schemas/events.ts'
import type { Config } from '../../schemas/config.ts'
import type { ActionName, Detection, RiskEvent, RiskLevel } from '../../schemas/risk.ts'
import type { DetectorContext } from '../../detectors/index.ts'
import { Baselines } from '../baselines/baselines.ts'
import { FLAGGED_KEPT, UNPARTITIONED, emptyRisk, type AgentProfile, type BlueprintProfile } from '../baselines/profiles.ts'
import { DetectorSettingsResolver } from './detector-settings.ts'
import { absorb, combine, familyMaxima, levelOf, levelRank, nextLevel, scoreAt } from './risk.ts'
import { mergeSightings, quorum, recordSighting } from './fleet-change.ts'
import { internalized } from '../../detectors/internalized.ts'

export interface ProcessMeta {
  /** Kafka topic, partition and offset of the message, for exact redelivery detection. */
  topic?: string
  partition?: number
  offset?: number
}

export type ProcessOutcome = 'processed' | 'duplicate'

export interface PipelineStats {
  processed: number
  duplicates: number
  learned: number
  flagged: number
  riskEvents: number
  /** Findings dropped because several agents of the blueprint showed the same novelty together. */
  fleetChanges: number
}

const ACTION_RANK: Record<ActionName, number> = { none: 0, notify_owner: 1, throttle: 2, quarantine: 3 }

export class Pipeline {
  readonly baselines: Baselines
  readonly stats: PipelineStats = { processed: 0, duplicates: 0, learned: 0, flagged: 0, riskEvents: 0, fleetChanges: 0 }
  private config!: Config
  private resolver!: DetectorSettingsResolver
  /** Agents whose level is above none: the only ones a sweep must look at. */
  private readonly elevated = new Set<string>()
  /** Highest event time seen, epoch ms: the pipeline's clock. */
  private watermark = 0
  /**
   * Sweeps run when the watermark enters a new sweep interval (event time / sweepMinutes), so a
   * restored pipeline sweeps at exactly the moments an uninterrupted one would.
   */
  private sweptInterval = -1
  /** Wall clock for `detectedAt` only; injectable for tests. */
  private readonly now: () => number
  private readonly ctx: DetectorContext = { ownEvents: 0, ownHistoryMs: 0, peerAgents: 0, peerEvents: 0 }
  /** The view's and the partial's state of one detector, refilled per call of `learn`: detectors keep nothing of it. */
  private readonly peerStates: unknown[] = [undefined, undefined]
  /** The view's state alone, when the view is the partial. */
  private readonly viewState: unknown[] = [undefined]

  constructor(config: Config, opts: { baselines?: Baselines; now?: () => number } = {}) {
    this.baselines = opts.baselines ?? new Baselines()
    this.now = opts.now ?? Date.now
    this.setConfig(config)
  }

  setConfig(config: Config): void {
    this.config = config
    this.baselines.configure(config.baselines)
    this.resolver = new DetectorSettingsResolver(config)
  }

  /**
   * Fold a partial peer baseline learned from other partitions into `into` (a view being rebuilt):
   * each detector merges its state (`mergePeers`), counters add up (agents are disjoint across
   * partitions), sightings unite.
   */
  readonly mergeProfiles = (into: BlueprintProfile, from: BlueprintProfile): void => {
    for (const { detector, settings } of this.resolver.allForBlueprint(into.blueprintId)) {
      detector.mergePeers(into.states[detector.name], from.states[detector.name], settings)
    }
    into.agents += from.agents
    if (from.established !== undefined) into.established = (into.established ?? 0) + from.established
    into.learned += from.learned
    mergeSightings(into, from.sightings)
  }

  /**
   * After a restore: pick up elevated agents and the event-time clock from the profiles. Profiles
   * still held saved are at level none (Baselines.holdSaved revives the others) and count only
   * with their latest event time.
   */
  restoreElevated(): void {
    for (const agent of this.baselines.agents.liveValues()) {
      this.trackElevated(agent)
      if (agent.lastTs > this.watermark) this.watermark = agent.lastTs
    }
    if (this.baselines.agents.saved.latestTs > this.watermark) this.watermark = this.baselines.agents.saved.latestTs
    if (this.watermark > 0) this.sweptInterval = this.intervalOf(this.watermark)
  }

  get eventTime(): number {
    return this.watermark
  }

  /**
   * Agents whose latest event is older than this go dormant (Baselines.freezeIdle): epoch ms of
   * event time, `baselines.dormantAfterMinutes` before the latest event processed; -Infinity when
   * agents are kept live (the setting is 0, or no event was seen yet).
   */
  get dormantBefore(): number {
    return this.watermark > 0 ? this.watermark - this.baselines.dormantAfterMs : -Infinity
  }

  /** Process one validated event; returns the risk events it caused (level changes only). */
  process(e: AgentEvent, meta: ProcessMeta = NO_META, out: RiskEvent[] = []): ProcessOutcome {
    const agent = this.baselines.agentFor(e)
    if (this.isDuplicate(agent, e, meta)) {
      this.stats.duplicates++
      return 'duplicate'
    }
    this.stats.processed++
    const peers = this.baselines.blueprint(e.agent.blueprintId)
    // The partial of the agent's partition learns what the view learns: it is what a checkpoint
    // saves, and what other instances merge into their views.
    const part = peers ? this.baselines.partial(e.agent.blueprintId, agent.partition ?? UNPARTITIONED) : undefined
    this.refreshIdentity(agent, e)

    const active = this.resolver.forBlueprint(e.agent.blueprintId)
    // One context object, refilled per event: detectors read it during the call and keep nothing.
    const ctx = fillContext(this.ctx, agent, peers)
    // Warm-up: an agent with neither an established history of its own nor established peers to be
    // judged against is not scored: every detector would be guessing.
    const judgeable = agent.established === true || ctx.peerAgents > 0
    // Allocated only when a finding is kept; most events have none.
    let detections: Detection[] | undefined
    let scored: Scored[] | undefined
    let onParent: OnParent[] | undefined
    const repeatMs = this.config.risk.repeatSuppressHours * 3_600_000
    const belowMedium = this.config.risk.thresholds.medium / 100 - 0.01
    const fleet = this.config.risk.fleetChange
    const scoredDetectors = judgeable ? active.length : 0
    for (let i = 0; i < scoredDetectors; i++) {
      const { detector, settings } = active[i]!
      const finding = detector.score(e, agent.states[detector.name], peers?.states[detector.name], settings, ctx)
      if (!finding) continue
      let score = clampScore(finding.score * settings.weight)
      if (score < this.config.risk.minFindingScore) continue
      // One open case per kind of evidence: a repeat is the same detector and observation.
      const key = `${detector.name}:${finding.observation}`
      const alertedAt = agent.alerted?.[key]
      const repeat = alertedAt !== undefined && e.ts - alertedAt < repeatMs
      if (repeat) score = Math.min(score, belowMedium)
      if (finding.fleetKey !== undefined && peers && !agent.compromised) {
        const agents = recordSighting(peers, finding.fleetKey, agent.agentId, e.ts, fleet.windowHours * 3_600_000)
        if (part !== peers) recordSighting(part!, finding.fleetKey, agent.agentId, e.ts, fleet.windowHours * 3_600_000)
        if (agents >= quorum(fleet, peers.agents)) {
          this.stats.fleetChanges++
          continue
        }
      }
      const detection = { detector: detector.name, score: round3(score), observation: finding.observation, reason: finding.reason, evidence: finding.evidence }
      const parent = finding.onParent && e.agent.parentId ? this.baselines.agents.get(e.agent.parentId) : undefined
      if (parent) {
        ;(onParent ??= []).push({ detection, family: detector.family, key })
        continue
      }
      ;(detections ??= []).push(detection)
      ;(scored ??= []).push({ family: detector.family, score, key, repeat })
    }
    let families = scored ? familyMaxima(scored) : NO_FAMILIES
    if (scored && scored.every((s) => s.repeat)) {
      // Nothing new: the open case repeating itself shows at low, whatever its families add up to.
      const [family, score] = [...families].sort((a, b) => b[1] - a[1])[0]
      families = new Map([[family, Math.min(score, belowMedium)]])
    }
    const eventScore = scored ? combine([...families.values()]) : 0
    // An event that is part of its parent's anomaly (a sub-agent of a spawn burst) is flagged too:
    // learning it would teach the blueprint that such bursts are usual.
    const parentScore = onParent ? combine([...familyMaxima(onParent.map((f) => ({ family: f.family, score: f.detection.score }))).values()]) : 0
    const flagged = levelRank(levelOf(Math.max(eventScore, parentScore), this.config.risk.thresholds)) >= levelRank(this.config.risk.learnBelowLevel)

    const before = agent.risk.level
    absorb(agent.risk, e.ts, families, detections ?? NO_DETECTIONS, e.eventId, this.config.risk.halfLifeMinutes)
    agent.risk.level = nextLevel(before, agent.risk.score, this.config.risk.thresholds)
    if (agent.risk.level !== before) {
      out.push(this.riskEvent(agent, before, e.ts, `event:${e.eventId}`))
      if (levelRank(agent.risk.level) >= levelRank('medium') && levelRank(agent.risk.level) > levelRank(before)) this.rememberAlert(agent, scored ?? [], e.ts)
    }
    this.trackElevated(agent)

    if (flagged || agent.compromised) {
      // Never learn from what was flagged, nor from a compromised agent: that is how a baseline gets poisoned.
      this.stats.flagged += flagged ? 1 : 0
      if (!agent.compromised) {
        agent.flagged.push(e)
        if (agent.flagged.length > FLAGGED_KEPT) agent.flagged.splice(0, agent.flagged.length - FLAGGED_KEPT)
      }
    } else {
      this.learn(e, agent, peers, part, active, ctx)
    }
    this.baselines.markDirty(agent, part)
    if (onParent) this.raiseParent(this.baselines.agents.get(e.agent.parentId!)!, onParent, e, out)

    if (e.ts > this.watermark) this.watermark = e.ts
    this.maybeSweep(out)
    return 'processed'
  }

  /**
   * Re-evaluate decayed risk of elevated agents at the current event time, so levels fall back for
   * agents that went quiet. Driven by event time, so replays sweep at the same moments.
   */
  sweep(out: RiskEvent[] = []): RiskEvent[] {
    const at = this.watermark
    this.sweptInterval = this.intervalOf(at)
    for (const id of [...this.elevated].sort()) {
      const agent = this.baselines.agents.get(id)
      if (!agent) {
        this.elevated.delete(id)
        continue
      }
      const score = scoreAt(agent.risk, at, this.config.risk.halfLifeMinutes)
      const level = nextLevel(agent.risk.level, score, this.config.risk.thresholds)
      if (level === agent.risk.level) continue
      const before = agent.risk.level
      this.baselines.willChange(agent)
      agent.risk.score = score
      agent.risk.ts = Math.max(agent.risk.ts, at)
      agent.risk.level = level
      out.push(this.riskEvent(agent, before, at, `sweep:${at}`))
      this.trackElevated(agent)
      this.baselines.markDirty(agent)
    }
    return out
  }

  /** Analyst: the finding was noise. Risk goes back to none; the events stay out of the baseline. */
  dismiss(agentId: string, out: RiskEvent[] = []): boolean {
    return this.resetRisk(agentId, 'dismiss', out)
  }

  /** Analyst: the behaviour is legitimate. The flagged events are learned and risk goes back to none. */
  confirmSafe(agentId: string, out: RiskEvent[] = []): boolean {
    const agent = this.baselines.agents.get(agentId)
    if (!agent) return false
    this.baselines.willChange(agent)
    agent.compromised = false
    const peers = this.baselines.blueprint(agent.blueprintId)
    const part = peers ? this.baselines.partial(agent.blueprintId, agent.partition ?? UNPARTITIONED) : undefined
    const active = this.resolver.forBlueprint(agent.blueprintId)
    for (const e of agent.flagged) this.learn(e, agent, peers, part, active, contextOf(agent, peers))
    agent.flagged = []
    return this.resetRisk(agentId, 'confirm_safe', out)
  }

  /** Analyst: the agent is compromised. Its events never enter a baseline again until confirmed safe. */
  confirmCompromised(agentId: string): boolean {
    const agent = this.baselines.agents.get(agentId)
    if (!agent) return false
    this.baselines.willChange(agent)
    agent.compromised = true
    agent.flagged = []
    this.baselines.markDirty(agent)
    return true
  }

  private resetRisk(agentId: string, cause: string, out: RiskEvent[]): boolean {
    const agent = this.baselines.agents.get(agentId)
    if (!agent) return false
    this.baselines.willChange(agent)
    const before = agent.risk.level
    const ts = Math.max(agent.risk.ts, agent.lastTs)
    agent.risk = { ...emptyRisk(), ts }
    if (before !== 'none') out.push(this.riskEvent(agent, before, ts, `${cause}:${agent.lastTs}:${agent.seen}`))
    this.trackElevated(agent)
    this.baselines.markDirty(agent)
    return true
  }

  private learn(
    e: AgentEvent,
    agent: AgentProfile,
    peers: BlueprintProfile | undefined,
    part: BlueprintProfile | undefined,
    active: ReturnType<DetectorSettingsResolver['forBlueprint']>,
    ctx: DetectorContext,
  ): void {
    // The view first (decisions are taken against it), then the partial, which gets the same
    // increments; once when the view is the partial (see Baselines.partial).
    const separate = part !== undefined && part !== peers ? part : undefined
    const states = separate ? this.peerStates : this.viewState
    for (const { detector, settings } of active) {
      if (peers) {
        states[0] = peers.states[detector.name]
        if (separate) states[1] = separate.states[detector.name]
      }
      detector.learn(e, agent.states[detector.name], peers ? states : NO_PEERS, settings, ctx)
    }
    // The view and the partial count alike (an agent's events are all on one partition), so the
    // partials of all partitions add up to the view.
    if (agent.learned === 0) {
      agent.firstLearnedTs = e.ts
      if (peers) peers.agents += 1
      if (separate) separate.agents += 1
    }
    if (peers && !agent.established && e.ts - agent.firstLearnedTs >= this.config.baselines.peerEstablishedAfterHours * 3_600_000) {
      agent.established = true
      peers.established = (peers.established ?? 0) + 1
      if (separate) separate.established = (separate.established ?? 0) + 1
    }
    agent.learned += 1
    if (peers) peers.learned += 1
    if (separate) separate.learned += 1
    this.stats.learned++
  }

  private isDuplicate(agent: AgentProfile, e: AgentEvent, meta: ProcessMeta): boolean {
    if (meta.topic !== undefined && meta.partition !== undefined && meta.offset !== undefined) {
      const key = this.offsetKey(meta.topic, meta.partition)
      const offsets = (agent.offsets ??= {})
      if (offsets[key] !== undefined && meta.offset <= offsets[key]) return true
      offsets[key] = meta.offset
      agent.partition = meta.partition
    }
    return agent.recentIds.seenOrRemember(e.eventId)
  }

  /** The last offset key built: a batch's messages share their topic and partition. */
  private lastOffsetKey = { topic: '', partition: -1, key: '' }

  /** `topic:partition`, the key of an agent's `offsets`. */
  private offsetKey(topic: string, partition: number): string {
    const last = this.lastOffsetKey
    if (topic !== last.topic || partition !== last.partition) {
      last.topic = topic
      last.partition = partition
      last.key = `${topic}:${partition}`
    }
    return last.key
  }

  private refreshIdentity(agent: AgentProfile, e: AgentEvent): void {
    agent.seen += 1
    if (e.ts > agent.lastTs) agent.lastTs = e.ts
    if (e.ts < agent.firstTs) agent.firstTs = e.ts
    // Assigned only when it changes: the event's own copy of the same id would be kept alive by the
    // long-lived profile until the next event (see detectors/tool_sequence.ts, `last`).
    if (e.agent.ownerId && e.agent.ownerId !== agent.ownerId) agent.ownerId = internalized(e.agent.ownerId)
    if (e.agent.blueprintId && agent.blueprintId === undefined) agent.blueprintId = internalized(e.agent.blueprintId)
  }

  /** Findings about a spawner, seen in its sub-agent's event, go into the spawner's risk. */
  private raiseParent(parent: AgentProfile, found: { detection: Detection; family: string; key: string }[], e: AgentEvent, out: RiskEvent[]): void {
    this.baselines.willChange(parent)
    const families = familyMaxima(found.map((f) => ({ family: f.family, score: f.detection.score })))
    const before = parent.risk.level
    absorb(parent.risk, e.ts, families, found.map((f) => f.detection), e.eventId, this.config.risk.halfLifeMinutes)
    parent.risk.level = nextLevel(before, parent.risk.score, this.config.risk.thresholds)
    if (parent.risk.level !== before) {
      out.push(this.riskEvent(parent, before, e.ts, `child-event:${e.eventId}`))
      if (levelRank(parent.risk.level) >= levelRank('medium') && levelRank(parent.risk.level) > levelRank(before)) this.rememberAlert(parent, found, e.ts)
    }
    this.trackElevated(parent)
    this.baselines.markDirty(parent)
  }

  /** Remember which findings raised the alert, so their repeats do not raise another. */
  private rememberAlert(agent: AgentProfile, scored: { key: string }[], ts: number): void {
    const alerted = (agent.alerted ??= {})
    for (const { key } of scored) alerted[key] = ts
    const keys = Object.keys(alerted)
    if (keys.length > KEPT_ALERT_KEYS) {
      keys.sort((a, b) => alerted[a] - alerted[b])
      for (const k of keys.slice(0, keys.length - KEPT_ALERT_KEYS)) delete alerted[k]
    }
  }

  private trackElevated(agent: AgentProfile): void {
    if (agent.risk.level === 'none') this.elevated.delete(agent.agentId)
    else this.elevated.add(agent.agentId)
  }

  private intervalOf(ts: number): number {
    return Math.floor(ts / (this.config.risk.sweepMinutes * 60_000))
  }

  private maybeSweep(out: RiskEvent[]): void {
    const interval = this.intervalOf(this.watermark)
    if (this.sweptInterval < 0) this.sweptInterval = interval
    else if (interval > this.sweptInterval) this.sweep(out)
  }

  private riskEvent(agent: AgentProfile, previous: RiskLevel, ts: number, cause: string): RiskEvent {
    const level = agent.risk.level
    const rising = levelRank(level) > levelRank(previous)
    this.stats.riskEvents++
    return {
      riskEventId: riskEventId(agent.agentId, previous, level, cause),
      tenantId: agent.tenantId,
      agentId: agent.agentId,
      ...(agent.blueprintId ? { blueprintId: agent.blueprintId } : {}),
      time: new Date(ts).toISOString(),
      detectedAt: new Date(this.now()).toISOString(),
      riskLevel: level,
      previousRiskLevel: previous,
      riskScore: Math.round(agent.risk.score * 100),
      detections: level === 'none' ? [] : agent.risk.detections,
      eventIds: level === 'none' ? [] : agent.risk.eventIds,
      action: rising ? this.actionFor(level) : 'none',
    }
  }

  /** The strongest action the policy lists for a level. */
  private actionFor(level: RiskLevel): ActionName {
    if (level === 'none') return 'none'
    let best: ActionName = 'none'
    for (const a of this.config.policy[level]) if (ACTION_RANK[a] > ACTION_RANK[best]) best = a
    return best
  }
}

type Scored = { family: string; score: number; key: string; repeat: boolean }
type OnParent = { detection: Detection; family: string; key: string }

const NO_META: ProcessMeta = Object.freeze({})
const NO_FAMILIES: ReadonlyMap<string, number> = new Map()
const NO_DETECTIONS: Detection[] = []
/** The peer states of an agent without a blueprint. */
const NO_PEERS: readonly unknown[] = Object.freeze([])

function fillContext(ctx: DetectorContext, agent: AgentProfile, peers: BlueprintProfile | undefined): DetectorContext {
  ctx.ownEvents = agent.learned
  ctx.ownHistoryMs = agent.learned > 0 ? agent.lastTs - agent.firstLearnedTs : 0
  ctx.peerAgents = peers?.established ?? 0
  ctx.peerEvents = peers?.learned ?? 0
  return ctx
}

function contextOf(agent: AgentProfile, peers: BlueprintProfile | undefined): DetectorContext {
  return {
    ownEvents: agent.learned,
    ownHistoryMs: agent.learned > 0 ? agent.lastTs - agent.firstLearnedTs : 0,
    peerAgents: peers?.established ?? 0,
    peerEvents: peers?.learned ?? 0,
  }
}

/** Deterministic from what caused the change, so a replay or redelivery yields the same id. */
export function riskEventId(agentId: string, from: RiskLevel, to: RiskLevel, cause: string): string {
  return createHash('sha256').update(`${agentId}\u0000${from}\u0000${to}\u0000${cause}`).digest('hex').slice(0, 32)
}

/** Alert keys remembered per agent for repeat suppression. */
const KEPT_ALERT_KEYS = 32

const clampScore = (x: number) => (x < 0 ? 0 : x > 1 ? 1 : x)
const round3 = (x: number) => Math.round(x * 1000) / 1000
