/**
 * Every agent profile of this instance, by agent id, in one of three forms:
 * - live: in their in-memory layout;
 * - saved: read by a restore but not revived yet, held as the bytes of their JSON (`SavedProfiles`);
 * - dormant: frozen after a while without events, held deflated (`DormantProfiles`), and thawed
 *   by the agent's next event or reader.
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
import { DormantProfiles } from './dormant-profiles.ts'
import { inSparseSlab, releaseAllCarved } from '../../detectors/packed.ts'

/** Told that a saved profile could not be revived (not JSON, or refused): the agent starts afresh. */
type UnreadableProfile = (agentId: string, reason: string) => void

export class AgentProfiles {
  private readonly live = new Map<string, AgentProfile>()
  /** Saved profiles not revived yet. */
  readonly saved = new SavedProfiles()
  /** Profiles of agents frozen while dormant. */
  readonly dormant = new DormantProfiles()
  /**
   * Told of a held profile that cannot be revived, which is then dropped. Without it, `get` throws
   * for such a profile.
   */
  unreadable: UnreadableProfile | undefined

  /** `revive` turns a saved profile's JSON into its in-memory layout (Baselines' restore). */
  constructor(private readonly revive: (json: string) => AgentProfile) {}

  get size(): number {
    return this.live.size + this.saved.size + this.dormant.size
  }

  /** The agent's profile, revived now if it was held saved or dormant. */
  get(agentId: string): AgentProfile | undefined {
    const p = this.live.get(agentId)
    if (p !== undefined) return p
    if (this.dormant.size > 0) {
      const json = this.dormant.thaw(agentId)
      if (json !== undefined) return this.reviveHeld(agentId, json)
    }
    if (this.saved.size === 0) return undefined
    const json = this.saved.take(agentId)
    return json === undefined ? undefined : this.reviveHeld(agentId, json)
  }

  has(agentId: string): boolean {
    return this.live.has(agentId) || this.saved.has(agentId) || this.dormant.has(agentId)
  }

  /** Set the agent's profile (replacing a saved or dormant one held). */
  set(agentId: string, p: AgentProfile): this {
    this.saved.delete(agentId)
    this.dormant.delete(agentId)
    this.live.set(agentId, p)
    return this
  }

  delete(agentId: string): boolean {
    const held = this.saved.delete(agentId)
    const dormant = this.dormant.delete(agentId)
    const p = this.live.get(agentId)
    if (p !== undefined) {
      this.live.delete(agentId)
      releaseProfile(p)
    }
    return p !== undefined || held || dormant
  }

  /** Hold a saved profile's JSON (`json[start, end)`) for revival later; it replaces the agent's profile. */
  hold(agentId: string, partition: number, lastTs: number, json: Buffer, start: number, end: number): void {
    this.live.delete(agentId)
    this.dormant.delete(agentId)
    this.saved.hold(agentId, partition, lastTs, json, start, end)
  }

  /**
   * Freeze a live profile into its dormant form; the caller makes sure nothing holds on to `p` to
   * change it (Baselines.freezeIdle). Its next reader gets an equal profile back.
   */
  freeze(p: AgentProfile): void {
    if (this.live.get(p.agentId) !== p) return
    this.live.delete(p.agentId)
    this.dormant.freeze(p.agentId, p.blueprintId, p.partition ?? -1, p.risk.score, JSON.stringify(p))
    releaseProfile(p)
  }

  /**
   * `read` applied to the agent's profile, for a reader that changes nothing (the API's views): a
   * dormant one is revived for the call alone and stays dormant; undefined for an unknown agent.
   */
  view<T>(agentId: string, read: (p: AgentProfile) => T): T | undefined {
    const p = this.live.get(agentId)
    if (p !== undefined) return read(p)
    if (this.dormant.has(agentId)) return this.readDormant(agentId, read)
    const held = this.get(agentId)
    return held === undefined ? undefined : read(held)
  }

  /** `read` applied to a dormant agent's profile, revived for the call alone: the agent stays dormant. */
  readDormant<T>(agentId: string, read: (p: AgentProfile) => T): T | undefined {
    const json = this.dormant.read(agentId)
    if (json === undefined) return undefined
    const copy = this.revive(json)
    try {
      return read(copy)
    } finally {
      releaseProfile(copy)
    }
  }

  /**
   * Whether a live profile should move: its typed arrays sit in a slab mostly given back by agents
   * frozen or moved before it (detectors/packed.ts), which it alone keeps allocated. Checked on
   * its dedupe ring, carved with the rest of it.
   */
  strands(p: AgentProfile): boolean {
    return inSparseSlab(p.recentIds)
  }

  /**
   * Move a live profile's typed arrays out of the slabs they share (see `strands`): the profile is
   * revived anew from its JSON, as a restore would, and takes its place. The caller makes sure
   * nothing holds on to `p` to change it (Baselines.freezeIdle).
   */
  relocate(p: AgentProfile): void {
    if (this.live.get(p.agentId) !== p) return
    this.live.set(p.agentId, this.revive(JSON.stringify(p)))
    releaseProfile(p)
  }

  /**
   * Every profile, to read only: the saved ones revived first; the dormant ones revived for the
   * caller alone and left dormant (a reader of every agent, such as a listing, does not wake the
   * fleet). A dormant profile read here is a copy: changes to it are lost.
   */
  *values(): IterableIterator<AgentProfile> {
    this.reviveAll()
    yield* this.live.values()
    for (const id of [...this.dormant.ids()]) {
      const json = this.dormant.read(id)
      if (json === undefined) continue
      let copy: AgentProfile
      try {
        copy = this.revive(json)
      } catch (err) {
        if (!this.unreadable) throw err
        this.dormant.delete(id)
        this.unreadable(id, (err as Error).message)
        continue
      }
      yield copy
      // The caller has moved on: the copy's typed arrays are garbage once it drops the copy, so their
      // slab space is not counted as in use (detectors/packed.ts).
      releaseProfile(copy)
    }
  }

  /** The profiles in their in-memory layout (not those held saved). */
  liveValues(): IterableIterator<AgentProfile> {
    return this.live.values()
  }

  /** Ids of the agents whose events come from one of `partitions`, without reviving any. */
  idsOn(partitions: ReadonlySet<number>): string[] {
    const out = this.saved.idsOn(partitions)
    for (const id of this.dormant.idsOn(partitions)) out.push(id)
    for (const p of this.live.values()) if (p.partition !== undefined && partitions.has(p.partition)) out.push(p.agentId)
    return out
  }

  /**
   * Revive saved profiles, earliest held first, for about `budgetMs` milliseconds (at least one);
   * whether some remain. A profile whose latest event is older than `dormantBefore` (epoch ms of
   * event time) goes dormant instead, its JSON deflated as it is, without being parsed.
   */
  reviveSome(budgetMs: number, dormantBefore = -Infinity): boolean {
    const until = performance.now() + budgetMs
    do {
      const id = this.saved.next()
      if (id === undefined) return false
      const idle = this.saved.lastTsOf(id)! < dormantBefore
      const partition = this.saved.partitionOf(id)!
      const json = this.saved.take(id)!
      const riskScore = idle ? riskScoreIn(json) : undefined
      if (riskScore !== undefined) this.dormant.freeze(id, blueprintIn(json), partition, riskScore, json)
      else this.reviveHeld(id, json)
    } while (performance.now() < until)
    return this.saved.size > 0
  }

  /** Every saved profile taken in now: revived, or made dormant as in `reviveSome`. */
  reviveAll(dormantBefore = -Infinity): void {
    this.reviveSome(Infinity, dormantBefore)
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

/**
 * The blueprint id in a profile's JSON, found without parsing it: JSON.stringify writes the
 * profile's own `blueprintId`, when it has one, before `firstTs` and before any nested event's.
 * It picks a dictionary and is what a listing filters dormant agents by.
 */
function blueprintIn(json: string): string | undefined {
  const at = json.indexOf(BLUEPRINT_FIELD)
  if (at < 0 || at > json.indexOf(FIRST_TS_FIELD)) return undefined
  const from = at + BLUEPRINT_FIELD.length
  const id = json.slice(from, json.indexOf('"', from))
  // An id with escapes in it: read it properly.
  return id.includes('\\') ? (JSON.parse(json) as AgentProfile).blueprintId : id
}

const BLUEPRINT_FIELD = '"blueprintId":"'
const FIRST_TS_FIELD = '"firstTs":'

/**
 * The profile's `risk.score`, read from its JSON without parsing all of it: `risk` is
 * `{"families":{...},"score":...` and a family's value holds no braces. Parsed whole when the text
 * is not laid out so (a profile saved by an older version); undefined when it is not JSON at all
 * (the caller revives it, which reports it).
 */
function riskScoreIn(json: string): number | undefined {
  const at = json.indexOf(RISK_FIELD)
  if (at >= 0) {
    const close = json.indexOf('}', at + RISK_FIELD.length)
    if (json.startsWith(SCORE_FIELD, close + 1)) {
      const from = close + 1 + SCORE_FIELD.length
      const score = Number(json.slice(from, json.indexOf(',', from)))
      if (Number.isFinite(score)) return score
    }
  }
  try {
    const score = (JSON.parse(json) as AgentProfile).risk?.score
    return typeof score === 'number' ? score : undefined
  } catch {
    return undefined
  }
}

const RISK_FIELD = '"risk":{"families":{'
const SCORE_FIELD = ',"score":'

/** Give back the slab space of a profile about to be dropped (detectors/packed.ts). */
function releaseProfile(p: AgentProfile): void {
  releaseAllCarved(p.states)
  releaseAllCarved(p.recentIds)
}
