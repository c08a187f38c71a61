/**
 * All hot baselines of this instance: agents it owns and the blueprints they belong to, with
 * dirty tracking so that only changed profiles are checkpointed to ClickHouse.
 */
import type { AgentEvent } from '../../schemas/events.ts'
import {
  completeStates,
  newAgentProfile,
  newBlueprintProfile,
  type AgentProfile,
  type BlueprintProfile,
} from './profiles.ts'
import { RecentIdHashes } from './recent-ids.ts'

export class Baselines {
  readonly agents = new Map<string, AgentProfile>()
  readonly blueprints = new Map<string, BlueprintProfile>()
  private readonly dirtyAgents = new Set<string>()
  private readonly dirtyBlueprints = new Set<string>()

  /** The agent's profile, created on its first event. */
  agentFor(e: AgentEvent): AgentProfile {
    let p = this.agents.get(e.agent.id)
    if (!p) {
      p = newAgentProfile(e)
      this.agents.set(e.agent.id, p)
    }
    return p
  }

  blueprint(id: string | undefined): BlueprintProfile | undefined {
    if (id === undefined) return undefined
    let b = this.blueprints.get(id)
    if (!b) {
      b = newBlueprintProfile(id)
      this.blueprints.set(id, b)
    }
    return b
  }

  markDirty(agent: AgentProfile, blueprint?: BlueprintProfile): void {
    this.dirtyAgents.add(agent.agentId)
    if (blueprint) this.dirtyBlueprints.add(blueprint.blueprintId)
  }

  /** Profiles changed since the last call, and forget that they were. */
  takeDirty(): { agents: AgentProfile[]; blueprints: BlueprintProfile[] } {
    const agents: AgentProfile[] = []
    const blueprints: BlueprintProfile[] = []
    for (const id of this.dirtyAgents) {
      const p = this.agents.get(id)
      if (p) agents.push(p)
    }
    for (const id of this.dirtyBlueprints) {
      const b = this.blueprints.get(id)
      if (b) blueprints.push(b)
    }
    this.dirtyAgents.clear()
    this.dirtyBlueprints.clear()
    return { agents, blueprints }
  }

  /** Take a profile as parsed from its saved JSON (any version saved before) into memory. */
  restoreAgent(p: AgentProfile): void {
    completeStates(p.states)
    if (!(p.recentIds instanceof RecentIdHashes)) p.recentIds = RecentIdHashes.fromJSON(p.recentIds)
    p.risk.families ??= {}
    this.agents.set(p.agentId, p)
  }

  restoreBlueprint(b: BlueprintProfile): void {
    completeStates(b.states)
    b.sightings ??= {}
    this.blueprints.set(b.blueprintId, b)
  }

  /**
   * Take a blueprint baseline saved by any instance when it has learned more than ours: peer
   * baselines span partitions, so after a handoff the fuller copy is the better judge.
   */
  mergeBlueprint(b: BlueprintProfile): void {
    const ours = this.blueprints.get(b.blueprintId)
    if (!ours || b.learned > ours.learned) this.restoreBlueprint(b)
  }

  /** Drop agents from memory (after a partition is revoked and checkpointed). */
  evict(agentIds: Iterable<string>): void {
    for (const id of agentIds) this.agents.delete(id)
  }
}
