/**
 * Every agent profile of this instance, by agent id: those in their in-memory layout, and those a
 * restore read but has not revived yet (held as the bytes of their JSON, `SavedProfiles`).
 *
 * Why: a restore that parses and revives each profile as it is read takes about a minute for a
 * million agents (docs/benchmarks.md), and events of those agents wait meanwhile. Holding the rows
 * takes a fraction of that; a profile is then revived the first time its agent is needed (`get`),
 * or by the background revival (`reviveSome`, driven by the service between batches), whichever
 * comes first. Both give the profile the restore would have given.
 *
 * Readers that need every profile (`values`) revive the rest first; those that need only elevated
 * agents find them live (Baselines.holdSaved revives them at once).
 */
import type { AgentProfile } from './profiles.ts'
import { SavedProfiles } from './saved-profiles.ts'

/** Told that a saved profile could not be revived (not JSON, or refused): the agent starts afresh. */
type UnreadableProfile = (agentId: string, reason: string) => void

export class AgentProfiles {
  private readonly live = new Map<string, AgentProfile>()
  /** Saved profiles not revived yet. */
  readonly saved = new SavedProfiles()
  /**
   * Told of a held profile that cannot be revived, which is then dropped. Without it, `get` throws
   * for such a profile.
   */
  unreadable: UnreadableProfile | undefined

  /** `revive` turns a saved profile's JSON into its in-memory layout (Baselines' restore). */
  constructor(private readonly revive: (json: string) => AgentProfile) {}

  get size(): number {
    return this.live.size + this.saved.size
  }

  /** The agent's profile, revived now if it was held saved. */
  get(agentId: string): AgentProfile | undefined {
    const p = this.live.get(agentId)
    if (p !== undefined || this.saved.size === 0) return p
    const json = this.saved.take(agentId)
    return json === undefined ? undefined : this.reviveHeld(agentId, json)
  }

  has(agentId: string): boolean {
    return this.live.has(agentId) || this.saved.has(agentId)
  }

  /** Set the agent's profile (replacing a saved one held). */
  set(agentId: string, p: AgentProfile): this {
    this.saved.delete(agentId)
    this.live.set(agentId, p)
    return this
  }

  delete(agentId: string): boolean {
    const held = this.saved.delete(agentId)
    return this.live.delete(agentId) || held
  }

  /** Hold a saved profile's JSON (`json[start, end)`) for revival later; it replaces the agent's profile. */
  hold(agentId: string, partition: number, lastTs: number, json: Buffer, start: number, end: number): void {
    this.live.delete(agentId)
    this.saved.hold(agentId, partition, lastTs, json, start, end)
  }

  /** Every profile, the saved ones revived first. */
  values(): IterableIterator<AgentProfile> {
    this.reviveAll()
    return this.live.values()
  }

  /** The profiles in their in-memory layout (not those held saved). */
  liveValues(): IterableIterator<AgentProfile> {
    return this.live.values()
  }

  /** Ids of the agents whose events come from one of `partitions`, without reviving any. */
  idsOn(partitions: ReadonlySet<number>): string[] {
    const out = this.saved.idsOn(partitions)
    for (const p of this.live.values()) if (p.partition !== undefined && partitions.has(p.partition)) out.push(p.agentId)
    return out
  }

  /**
   * Revive saved profiles, earliest held first, for about `budgetMs` milliseconds (at least one);
   * whether some remain.
   */
  reviveSome(budgetMs: number): boolean {
    const until = performance.now() + budgetMs
    do {
      const id = this.saved.next()
      if (id === undefined) return false
      this.reviveHeld(id, this.saved.take(id)!)
    } while (performance.now() < until)
    return this.saved.size > 0
  }

  reviveAll(): void {
    this.reviveSome(Infinity)
  }

  private reviveHeld(agentId: string, json: string): AgentProfile | undefined {
    let p: AgentProfile
    try {
      p = this.revive(json)
    } catch (err) {
      if (!this.unreadable) throw err
      this.unreadable(agentId, (err as Error).message)
      return undefined
    }
    this.live.set(agentId, p)
    return p
  }
}
