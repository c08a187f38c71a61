/** Enforcement state of one agent, as an enforcement point reads it. */
export type EnforcementMode = 'allowed' | 'throttled' | 'quarantined'

export interface EnforcementState {
  agentId: string
  tenantId?: string
  mode: EnforcementMode
  /** Throttled: calls per minute the agent may make. */
  ratePerMinute?: number
  /** Epoch ms the mode started. */
  since: number
  /** Epoch ms the mode ends by itself; undefined = until changed. */
  until?: number
  reason: string
  /** Who set it: `policy` for automatic actions, else the API key's name. */
  by: string
}

/** One change of enforcement state, as recorded and published on the actions topic. */
export interface EnforcementChange {
  changeId: string
  agentId: string
  tenantId?: string
  from: EnforcementMode
  to: EnforcementMode
  state: EnforcementState
  /** The risk event that caused it, when automatic. */
  riskEventId?: string
  /** Wall clock, epoch ms. */
  at: number
}
