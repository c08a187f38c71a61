/**
 * All hot baselines of this instance: agents it owns and the blueprints they belong to, with
 * dirty tracking so that only changed profiles are checkpointed to ClickHouse.
 *
 * A blueprint's peer baseline spans every Kafka partition, while an instance holds only some. Per
 * blueprint it keeps:
 * - the view (`blueprints`): what scoring reads and learning updates;
 * - partials (`partials`): one per partition it holds, learned only from that partition's events
 *   with the same increments as the view; these are what checkpoints save;
 * - remote partials (`remote`): the latest saved partial of each partition it does not hold, as
 *   last loaded from ClickHouse.
 * The view is rebuilt as the merge of remote and local partials only when the saved partials it
 * stands for change (a newer remote one, a partition assigned with a newer one); learning never
 * waits for that, and an instance holding every partition of a blueprint never rebuilds its view.
 */
import type { AgentEvent } from '../../schemas/events.ts'
import type { Config } from '../../schemas/config.ts'
import { carvedBytes, moveOutOfSlabs, reserveCarving } from '../../detectors/packed.ts'
import {
  completeStates,
  LEGACY_PARTITION,
  newAgentProfile,
  newBlueprintProfile,
  type AgentProfile,
  type BlueprintProfile,
  type PartialCopy,
  type PartialKey,
} from './profiles.ts'
import { RecentIdHashes } from './recent-ids.ts'
import { AgentSnapshot } from './snapshot.ts'
import { AgentProfiles } from './agent-profiles.ts'
import type { SavedAgentRow } from './saved-profiles.ts'
import { internalized } from '../../detectors/internalized.ts'

/** Folds `from`, learned from partitions disjoint from those of `into`, into `into`. */
export type ProfileMerger = (into: BlueprintProfile, from: BlueprintProfile) => void

/** Restored agents whose typed arrays stand for the rest of a restore (expectRestores). */
const RESERVE_SAMPLE_AGENTS = 1000

/** Version of a remote partial known only from memory (moved there on revocation): any saved copy replaces it. */
const UNSAVED = 0

export class Baselines {
  /** Agent id -> profile; profiles a restore held saved are revived when first needed (agent-profiles.ts). */
  readonly agents = new AgentProfiles((json) => this.revive(JSON.parse(json) as AgentProfile))
  /** Blueprint id -> its view: what scoring reads. */
  readonly blueprints = new Map<string, BlueprintProfile>()
  /** Blueprint id -> partition -> partial learned from that partition's events here. */
  readonly partials = new Map<string, Map<number, BlueprintProfile>>()
  /** Blueprint id -> partition -> latest saved partial of a partition this instance does not hold. */
  readonly remote = new Map<string, Map<number, PartialCopy>>()
  /** Kafka partitions held; ignored while `holdsAll`. */
  private readonly held = new Set<number>()
  /** Without Kafka an instance holds every partition: whatever was saved is its own. */
  private holdsAll = true
  private readonly dirtyAgents = new Set<string>()
  /** The checkpoint snapshot being encoded, if any (see snapshot.ts). */
  private snapshot: AgentSnapshot<unknown> | undefined
  private readonly dirtyPartials = new Set<BlueprintProfile>()
  /**
   * How long an agent goes without events before it is kept dormant (`baselines.dormantAfterMinutes`,
   * set by `configure`; the pipeline derives its `dormantBefore` from it); Infinity for never. Here
   * it sizes what a restore revives (`heldToRevive`): freezing itself is `freezeIdle`. Milliseconds
   * of event time.
   */
  dormantAfterMs = Infinity
  /** Live profiles still to visit in the current pass of `freezeIdle`. */
  private idleSweep: Iterator<AgentProfile> | undefined
  /** Then the blueprints' states still to move out of the agents' slabs in that pass. */
  private blueprintSweep: Iterator<Record<string, unknown>> | undefined
  /** A restore under way (expectRestores): agents expected, restored so far, bytes carved before it. */
  private restoreSample: { agents: number; restored: number; carvedBefore: number } | undefined

  /**
   * Apply the `baselines` settings that shape what is kept in memory: when agents go dormant
   * (`dormantAfterMinutes`, 0 for never) and how many recent ids their records keep
   * (`dormantRecentIds`). The pipeline calls it with each config; a caller without a pipeline (a
   * bench) calls it to keep agents as the service does.
   */
  configure(settings: Config['baselines']): void {
    const minutes = settings.dormantAfterMinutes
    this.dormantAfterMs = minutes > 0 ? minutes * 60_000 : Infinity
    this.agents.dormant.recentIdsKept = settings.dormantRecentIds
  }

  /** The agent's profile, created on its first event; the caller is about to change it. */
  agentFor(e: AgentEvent): AgentProfile {
    let p = this.agents.get(e.agent.id)
    if (p) this.snapshot?.take(p)
    else {
      p = newAgentProfile(e)
      this.agents.set(e.agent.id, p)
    }
    return p
  }

  /** The blueprint's view, created on its first event. */
  blueprint(id: string | undefined): BlueprintProfile | undefined {
    if (id === undefined) return undefined
    let b = this.blueprints.get(id)
    if (!b) {
      b = newBlueprintProfile(id)
      this.blueprints.set(id, b)
    }
    return b
  }

  /**
   * The blueprint's partial for one partition held here, created on its first event. While the
   * view stands for exactly one partial that this instance learned from its start, the two are one
   * object (learning both would double every peer update for the same result: a single instance,
   * the embedded default); a second partial, a revocation or a rebuild from several separates them.
   * Callers learn once when `partial(...) === blueprint(...)`.
   */
  partial(id: string | undefined, partition: number): BlueprintProfile | undefined {
    if (id === undefined) return undefined
    const byPartition = perPartition(this.partials, id)
    let b = byPartition.get(partition)
    if (!b) {
      const view = this.blueprints.get(id)
      if (view && byPartition.size === 0 && !this.remote.get(id)?.size && isEmpty(view)) b = view
      else {
        this.separate(id)
        b = newBlueprintProfile(id)
      }
      b.partition = partition
      byPartition.set(partition, b)
    }
    return b
  }

  /** The view gets an object of its own again where it is one with a partial (see `partial`). */
  private separate(id: string): void {
    const view = this.blueprints.get(id)
    const byPartition = this.partials.get(id)
    if (!view || !byPartition) return
    for (const [p, b] of byPartition) {
      if (b !== view) continue
      const copy = copyBlueprint(b)
      byPartition.set(p, copy)
      if (this.dirtyPartials.delete(b)) this.dirtyPartials.add(copy)
      delete view.partition
    }
  }

  markDirty(agent: AgentProfile, partial?: BlueprintProfile): void {
    this.dirtyAgents.add(agent.agentId)
    if (partial) this.dirtyPartials.add(partial)
  }

  /**
   * Freeze idle agents (agent-profiles.ts, dormant-profiles.ts) for about `budgetMs` milliseconds:
   * those whose latest event is older than `before` (epoch ms of event time), at risk level none
   * (the elevated are swept as their risk decays, pipeline.ts), and saved since their last change
   * (a checkpoint would only thaw them again). Agents that stay live but alone keep a slab of typed
   * arrays allocated, its other agents frozen, are moved out of it (AgentProfiles.relocate); then the
   * blueprints' arrays are moved out of the agents' slabs (moveBlueprintsOutOfSlabs). One pass is
   * spread over as many calls as it takes; returns true while the pass is under way, false once it
   * is done (the next call starts another).
   */
  freezeIdle(before: number, budgetMs: number): boolean {
    const until = performance.now() + budgetMs
    if (this.blueprintSweep === undefined) {
      this.idleSweep ??= this.agents.liveValues()
      for (let n = 1; ; n++) {
        const next = this.idleSweep.next()
        if (next.done) break
        const p = next.value
        let moved = true
        if (p.lastTs < before && p.risk.level === 'none' && !this.dirtyAgents.has(p.agentId)) this.agents.freeze(p)
        else if (this.agents.strands(p)) this.agents.relocate(p)
        else moved = false
        // The clock is read after each freeze or move (~0.1-0.2 ms) and every 64 agents looked at:
        // reading it costs more than looking at one.
        if ((moved || (n & 63) === 0) && performance.now() >= until) return true
      }
      this.idleSweep = undefined
      this.blueprintSweep = this.blueprintStates()
    }
    // Then the blueprints (see moveBlueprintsOutOfSlabs): ~2.3 us each, the clock read every 16.
    for (let n = 1; ; n++) {
      const next = this.blueprintSweep.next()
      if (next.done) {
        this.blueprintSweep = undefined
        return false
      }
      moveOutOfSlabs(next.value)
      if ((n & 15) === 0 && performance.now() >= until) return true
    }
  }

  /**
   * Move the blueprints' typed arrays (views, partials, remote partials) out of the slabs they share
   * with agents' arrays (detectors/packed.ts, `moveOutOfSlabs`), as each pass of `freezeIdle` does
   * after the agents. A blueprint outlives the agents carved around it: one of its arrays left in a
   * slab keeps all of it (1 MiB) allocated after those agents went dormant, and a blueprint carves
   * anew as it learns (a table's index rebuilt, counts widened), wherever agents are being carved
   * then. Arrays carved between two passes stay in their slab until the next. Returns the arrays
   * moved.
   */
  moveBlueprintsOutOfSlabs(): number {
    let moved = 0
    for (const states of this.blueprintStates()) moved += moveOutOfSlabs(states)
    return moved
  }

  /** The detector states of every view, partial and remote partial. */
  private *blueprintStates(): IterableIterator<Record<string, unknown>> {
    for (const view of this.blueprints.values()) yield view.states
    for (const byPartition of this.partials.values()) for (const partial of byPartition.values()) yield partial.states
    for (const byPartition of this.remote.values()) for (const copy of byPartition.values()) yield copy.profile.states
  }

  /** Profiles changed since the last call (agents, and partials: never views), and forget that they were. */
  takeDirty(): { agents: AgentProfile[]; partials: BlueprintProfile[] } {
    const agents: AgentProfile[] = []
    const partials: BlueprintProfile[] = []
    for (const id of this.dirtyAgents) {
      const p = this.agents.get(id)
      if (p) agents.push(p)
    }
    for (const b of this.dirtyPartials) {
      // Only partials of partitions held here: a revoked partition's were saved with its
      // revocation, and one learned from events without a partition while holding only assigned
      // ones (HTTP ingest beside Kafka) must not overwrite what that partition's holder saves.
      if (this.holds(b.partition!) && this.partials.get(b.blueprintId)?.get(b.partition!) === b) partials.push(b)
    }
    this.dirtyAgents.clear()
    this.dirtyPartials.clear()
    return { agents, partials }
  }

  /**
   * Start a checkpoint snapshot of the agents changed since the last call (as `takeDirty`, which
   * it calls): their rows are encoded as they are now, a slice at a time (`AgentSnapshot.step`), or
   * at once for one that is about to change. Partials change with nearly every event and are few:
   * they are returned as they are, to be encoded by the caller at once. One snapshot at a time;
   * `endSnapshot` when it is encoded.
   */
  beginSnapshot<Row>(encode: (p: AgentProfile) => Row): { agents: AgentSnapshot<Row>; partials: BlueprintProfile[] } {
    if (this.snapshot && this.snapshot.remaining > 0) throw new Error('a checkpoint snapshot is still being encoded')
    const dirty = this.takeDirty()
    const agents = new AgentSnapshot(dirty.agents, encode)
    this.snapshot = agents
    return { agents, partials: dirty.partials }
  }

  endSnapshot(s: AgentSnapshot<unknown>): void {
    if (this.snapshot === s) this.snapshot = undefined
  }

  /** Every change to an agent's profile outside `agentFor` calls this first (see beginSnapshot). */
  willChange(p: AgentProfile): void {
    this.snapshot?.take(p)
  }

  /**
   * `agents` profiles are about to be restored. Once the first RESERVE_SAMPLE_AGENTS of them are,
   * the typed-array slabs for the rest are reserved at once, at what those carved each (see
   * reserveCarving in detectors/packed.ts: slabs allocated as a restore goes cost full collections
   * of a heap that grows with every agent restored). An estimate: what events processed meanwhile
   * carve counts too, and slabs reserved beyond need are carved by the agents that come later.
   */
  expectRestores(agents: number): void {
    this.restoreSample = agents > RESERVE_SAMPLE_AGENTS ? { agents, restored: 0, carvedBefore: carvedBytes() } : undefined
  }

  /** Take a profile as parsed from its saved JSON (any version saved before) into memory. */
  restoreAgent(p: AgentProfile): void {
    this.agents.set(p.agentId, this.revive(p))
  }

  /**
   * Take a saved row into memory as it is (`agents` revives it when first needed, or the service's
   * background revival does), except an agent at an elevated risk level, revived now: the sweep that
   * lowers its level as its risk decays must find it. A profile that cannot be revived, now or later,
   * goes to `agents.unreadable`.
   */
  holdSaved(row: SavedAgentRow): void {
    this.agents.hold(row.agentId, row.partition, row.lastTs, row.bytes, row.start, row.end)
    if (row.level !== 'none') this.agents.get(row.agentId)
  }

  /** A profile as parsed from its saved JSON (any version saved before), in its in-memory layout. */
  private revive(p: AgentProfile): AgentProfile {
    // Names shared with other agents, one copy for all (JSON.parse gives each profile its own).
    if (typeof p.tenantId === 'string') p.tenantId = internalized(p.tenantId)
    if (typeof p.blueprintId === 'string') p.blueprintId = internalized(p.blueprintId)
    if (typeof p.ownerId === 'string') p.ownerId = internalized(p.ownerId)
    completeStates(p.states)
    if (!(p.recentIds instanceof RecentIdHashes)) p.recentIds = RecentIdHashes.fromJSON(p.recentIds)
    p.risk.families ??= {}
    const sample = this.restoreSample
    if (sample !== undefined && ++sample.restored === RESERVE_SAMPLE_AGENTS) {
      this.restoreSample = undefined
      // Held rows of agents idle for longer than dormantAfterMs go dormant, never revived: no typed
      // arrays are reserved for their share of the agents still to come.
      const held = this.agents.saved.size
      const revivedShare = held > 0 ? this.heldToRevive() / held : 1
      reserveCarving(((carvedBytes() - sample.carvedBefore) / RESERVE_SAMPLE_AGENTS) * (sample.agents - RESERVE_SAMPLE_AGENTS) * revivedShare)
    }
    return p
  }

  /**
   * Of the saved rows held, those whose agents were active within `dormantAfterMs` of the latest:
   * revived when taken in, the others made dormant (an estimate: the event-time clock may have
   * moved past the latest row since).
   */
  heldToRevive(): number {
    const held = this.agents.saved
    return held.countSince(held.latestTs - this.dormantAfterMs)
  }

  /** Take a view as parsed from JSON as this instance's view of its blueprint, as it is. */
  restoreBlueprint(b: BlueprintProfile): void {
    this.blueprints.set(b.blueprintId, reviveBlueprint(b))
  }

  /** Whether events of this partition are learned here (and its partials saved from here). */
  holds(partition: number): boolean {
    return partition !== LEGACY_PARTITION && (this.holdsAll || this.held.has(partition))
  }

  /** From now on hold only the partitions assigned (`assign`), as a member of a consumer group. */
  holdAssignedOnly(): void {
    this.holdsAll = false
  }

  /**
   * Start from saved partials: those of partitions held become local, the others remote; every
   * blueprint's view is built from them. Returns the blueprints built.
   */
  restorePartials(saved: PartialCopy[], merge: ProfileMerger): number {
    const changed = new Set<string>()
    for (const s of saved) {
      if (this.holds(s.partition)) this.setLocal(s)
      else this.setRemote(s)
      changed.add(s.blueprintId)
    }
    for (const id of changed) this.rebuild(id, merge)
    return changed.size
  }

  /**
   * Partitions assigned: each blueprint's saved partial of them becomes local (the previous holder
   * checkpointed it on revocation), and is no longer remote; a partial of another partition not
   * held updates `remote`. Views whose partials changed are rebuilt. Returns the blueprints rebuilt.
   */
  assign(partitions: readonly number[], saved: PartialCopy[], merge: ProfileMerger): number {
    const assigned = new Set(partitions.filter((p) => !this.holds(p)))
    for (const p of assigned) this.held.add(p)
    const changed = new Set<string>()
    for (const s of saved) {
      if (assigned.has(s.partition)) {
        const had = this.remote.get(s.blueprintId)?.get(s.partition)
        this.remote.get(s.blueprintId)?.delete(s.partition)
        this.setLocal(s)
        // The same version as the remote copy: the view already stands for it.
        if (had?.version !== s.version) changed.add(s.blueprintId)
      } else if (!this.holds(s.partition) && this.newerRemote(s)) {
        this.setRemote(s)
        changed.add(s.blueprintId)
      }
    }
    // A remote partial of an assigned partition that was not saved any more (cannot happen once
    // saved, kept for safety): the view must stop counting it.
    for (const [id, byPartition] of this.remote) {
      for (const p of assigned) {
        if (byPartition.delete(p)) changed.add(id)
      }
    }
    for (const id of changed) this.rebuild(id, merge)
    return changed.size
  }

  /**
   * Partitions revoked (after the checkpoint that saved their partials): their partials become
   * remote as they are, so views do not change; the next refresh replaces them with what the next
   * holder saves.
   */
  revoke(partitions: readonly number[]): void {
    for (const p of partitions) this.held.delete(p)
    for (const [id, byPartition] of this.partials) {
      if (partitions.some((p) => byPartition.has(p))) this.separate(id)
      for (const p of partitions) {
        const b = byPartition.get(p)
        if (!b) continue
        byPartition.delete(p)
        this.setRemote({ blueprintId: id, partition: p, version: UNSAVED, profile: b })
      }
    }
  }

  /** Of these saved versions, the partials of partitions not held that are newer than `remote`'s. */
  staleRemote(saved: readonly PartialKey[]): PartialKey[] {
    return saved.filter((s) => !this.holds(s.partition) && this.newerRemote(s))
  }

  /**
   * Newer saved partials of partitions not held replace their remote copies; views of the
   * blueprints whose remote partials changed are rebuilt. Returns the blueprints rebuilt.
   */
  refresh(saved: PartialCopy[], merge: ProfileMerger): number {
    const changed = new Set<string>()
    for (const s of saved) {
      if (this.holds(s.partition) || !this.newerRemote(s)) continue
      this.setRemote(s)
      changed.add(s.blueprintId)
    }
    for (const id of changed) this.rebuild(id, merge)
    return changed.size
  }

  /** Partials held in memory: learned here, and loaded from other instances. */
  partialCounts(): { local: number; remote: number } {
    let local = 0
    let remote = 0
    for (const m of this.partials.values()) local += m.size
    for (const m of this.remote.values()) remote += m.size
    return { local, remote }
  }

  /** Drop agents from memory (after a partition is revoked and checkpointed). */
  evict(agentIds: Iterable<string>): void {
    for (const id of agentIds) this.agents.delete(id)
  }

  private newerRemote(s: PartialKey): boolean {
    const had = this.remote.get(s.blueprintId)?.get(s.partition)
    return had === undefined || s.version > had.version
  }

  private setLocal(s: PartialCopy): void {
    const b = reviveBlueprint(s.profile)
    b.partition = s.partition
    perPartition(this.partials, s.blueprintId).set(s.partition, b)
  }

  private setRemote(s: PartialCopy): void {
    reviveBlueprint(s.profile)
    perPartition(this.remote, s.blueprintId).set(s.partition, s)
  }

  /**
   * The view as the merge of every partial, remote and local, in partition order (the same order
   * on every instance). The first is copied whole, so a view of one partial equals it exactly.
   */
  private rebuild(id: string, merge: ProfileMerger): void {
    const parts: BlueprintProfile[] = []
    for (const s of this.remote.get(id)?.values() ?? []) parts.push(s.profile)
    for (const b of this.partials.get(id)?.values() ?? []) parts.push(b)
    if (parts.length === 0) {
      this.blueprints.set(id, newBlueprintProfile(id))
      return
    }
    parts.sort((a, b) => a.partition! - b.partition!)
    // One partial of this instance's own: the view is that partial (see `partial`).
    if (parts.length === 1 && this.partials.get(id)?.get(parts[0]!.partition!) === parts[0]) {
      this.blueprints.set(id, parts[0]!)
      return
    }
    const view = copyBlueprint(parts[0]!)
    delete view.partition
    for (const b of parts.slice(1)) merge(view, b)
    this.blueprints.set(id, view)
  }
}

/** The blueprint's partition -> value map of `byBlueprint`, created empty on first use. */
function perPartition<V>(byBlueprint: Map<string, Map<number, V>>, blueprintId: string): Map<number, V> {
  let m = byBlueprint.get(blueprintId)
  if (!m) {
    m = new Map()
    byBlueprint.set(blueprintId, m)
  }
  return m
}

/** Nothing learned or sighted yet. */
function isEmpty(b: BlueprintProfile): boolean {
  return b.learned === 0 && b.agents === 0 && Object.keys(b.sightings).length === 0
}

/** A saved blueprint profile in its in-memory layout (see `completeStates`). */
function reviveBlueprint(b: BlueprintProfile): BlueprintProfile {
  completeStates(b.states)
  b.sightings ??= {}
  return b
}

/** A deep copy through JSON, the way a checkpoint and a restore copy it. */
export function copyBlueprint(b: BlueprintProfile): BlueprintProfile {
  return reviveBlueprint(JSON.parse(JSON.stringify(b)) as BlueprintProfile)
}
