/**
 * Ground truth written next to a simulated fleet: which agents were attacked when (episodes), and
 * where benign change happened that a good detector should not alert on (benign windows).
 * All times are event time, RFC 3339 UTC.
 */

export const SCENARIOS = [
  'offhours_hr_access',
  'unfamiliar_signin',
  'bulk_exfil_read',
  'injection_exfil_sequence',
  'privilege_probing',
  'spawn_burst',
  'unknown_obo_sensitive',
  'slow_drift_restricted',
  'new_agent_malicious',
] as const
export type Scenario = (typeof SCENARIOS)[number]

export const BENIGN_TYPES = ['tool_rollout', 'incident_burst', 'new_agents_like_peers', 'weekend'] as const
export type BenignType = (typeof BENIGN_TYPES)[number]

export interface AttackEpisode {
  episodeId: string
  scenario: Scenario
  /** Agents whose events belong to the episode (a spawn burst lists the parent and its new children). */
  agentIds: string[]
  /** First and last event of the episode. */
  start: string
  end: string
  /** One line for an analyst reading the labels. */
  description: string
  /** Every injected event of the episode, so a per-event evaluation is possible. */
  eventIds: string[]
}

export interface BenignWindow {
  windowId: string
  type: BenignType
  /** Agents affected; empty when `fleetWide`. */
  agentIds: string[]
  /** True when the window concerns every agent (weekends). */
  fleetWide: boolean
  start: string
  end: string
  description: string
}

export interface FleetSummary {
  seed: number
  /** Agents requested; agent-days for false-alert rates are `agents` x `days`. */
  agents: number
  days: number
  start: string
  end: string
  /** Distinct agent ids that emitted at least one event (includes new and spawned agents). */
  distinctAgents: number
  events: number
  attacks: boolean
}

export interface Labels {
  version: 1
  fleet: FleetSummary
  episodes: AttackEpisode[]
  benign: BenignWindow[]
}
