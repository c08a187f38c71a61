/**
 * What the control API needs from the rest of the service: small ports, so `buildApp(deps)` can be
 * tested with `app.inject()` against real components (chDB store, in-memory pipeline) and no socket.
 */
import type { Config, ConfigInput, Role } from '../../schemas/config.ts'
import type { RiskEvent, RiskLevel } from '../../schemas/risk.ts'
import type { RawMessage } from '../sources/types.ts'
import type { EnforcementState, EnforcementChange } from '../enforcement/types.ts'

export interface IngestOutcome {
  index: number
  status: 'accepted' | 'duplicate' | 'rejected'
  eventId?: string
  reason?: string
}
export interface IngestResult {
  accepted: number
  duplicates: number
  rejected: number
  results: IngestOutcome[]
  riskEvents: RiskEvent[]
  /** True when the events were written to the Kafka input topics instead of processed here. */
  forwarded?: boolean
}

export interface AgentSummary {
  agentId: string
  tenantId: string
  blueprintId?: string
  ownerId?: string
  events: number
  firstSeen: string
  lastSeen: string
  riskLevel: RiskLevel
  riskScore: number
  compromised: boolean
}

export interface RiskEventFilter {
  agentId?: string
  level?: RiskLevel
  detector?: string
  from?: string
  to?: string
  limit: number
  /** Opaque cursor from a previous page. */
  cursor?: string
}
export interface Page<T> {
  items: T[]
  nextCursor?: string
}

export interface DeadLetterRow {
  receivedAt: string
  origin: string
  partition?: number
  offset?: string
  reason: string
  payload: string
}

export interface AuditEntry {
  at: string
  actor: string
  role: Role | 'system'
  action: string
  target: string
  detail: Record<string, unknown>
}

export type FeedbackVerdict = 'dismiss' | 'confirm_safe' | 'confirm_compromised'
export interface FeedbackInput {
  agentId: string
  riskEventId?: string
  verdict: FeedbackVerdict
  note?: string
}

export interface ConfigVersion {
  version: number
  at: string
  by: string
  config: Config
}

export interface AppDeps {
  config: {
    current(): Config
    /** Validate a full or partial config (merged over the current one); lists every problem. */
    validate(input: unknown): { ok: true; config: Config } | { ok: false; issues: string[] }
    /** Validate and apply; records a new version. */
    update(input: ConfigInput, by: string): Promise<{ ok: true; version: number } | { ok: false; issues: string[] }>
    versions(): Promise<ConfigVersion[]>
  }
  ingest(messages: RawMessage[]): Promise<IngestResult>
  agents: {
    list(opts: { limit: number; offset: number; level?: RiskLevel; blueprintId?: string }): Promise<{ items: AgentSummary[]; total: number }>
    get(agentId: string): AgentSummary | undefined
    /** Human- and machine-readable view of the agent's learned baseline and its blueprint's. */
    baseline(agentId: string): Record<string, unknown> | undefined
  }
  riskEvents: {
    query(filter: RiskEventFilter): Promise<Page<RiskEvent>>
    /** Live risk events; returns an unsubscribe function. */
    subscribe(listener: (e: RiskEvent) => void): () => void
  }
  deadLetters: {
    query(opts: { limit: number; from?: string }): Promise<DeadLetterRow[]>
  }
  enforcement: {
    get(agentId: string): EnforcementState
    quarantine(agentId: string, reason: string, by: string, durationMinutes?: number): Promise<EnforcementChange>
    throttle(agentId: string, reason: string, by: string, ratePerMinute: number, durationMinutes?: number): Promise<EnforcementChange>
    release(agentId: string, reason: string, by: string): Promise<EnforcementChange>
  }
  /** Analyst verdicts: dismiss a detection, confirm safe (learn it), confirm compromised (quarantine, exclude). */
  feedback(input: FeedbackInput, by: string): Promise<{ applied: string }>
  audit: {
    record(entry: Omit<AuditEntry, 'at'>): Promise<void>
    query(opts: { limit: number; target?: string }): Promise<AuditEntry[]>
  }
  /** Prometheus text exposition of the service's counters and gauges. */
  metrics(): string
  /** Ready once baselines are restored and sinks are connected. */
  ready(): boolean
}
