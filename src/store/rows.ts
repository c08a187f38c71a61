/** How domain objects become ClickHouse rows, and back. One place, so tables and code agree. */
import type { AgentEvent } from '../../schemas/events.ts'
import type { RiskEvent } from '../../schemas/risk.ts'
import type { AgentProfile, BlueprintProfile } from '../baselines/profiles.ts'
import type { DeadLetter } from '../sinks/types.ts'
import type { EnforcementChange } from '../enforcement/types.ts'

/** DateTime64(3, 'UTC') literal from epoch ms. */
export const chTime = (ms: number): string => new Date(ms).toISOString().replace('T', ' ').replace('Z', '')
/** Epoch ms from a DateTime64(3, 'UTC') value as ClickHouse returns it in JSON. */
export const fromChTime = (s: string): number => Date.parse(s.replace(' ', 'T') + 'Z')

export function eventRow(e: AgentEvent, riskScore: number, learned: boolean, ingestedAt: number): Record<string, unknown> {
  // One object literal with every column, the same shape for both kinds: spreading a common part
  // into per-kind literals cost ~4x more per event (on the hot path, once per event).
  const tc = e.kind === 'tool_call' ? e : undefined
  const si = e.kind === 'signin' ? e : undefined
  return {
    event_id: e.eventId,
    kind: e.kind,
    time: chTime(e.ts),
    tenant_id: e.tenantId,
    agent_id: e.agent.id,
    blueprint_id: e.agent.blueprintId ?? '',
    owner_id: e.agent.ownerId ?? '',
    parent_id: e.agent.parentId ?? '',
    obo_user: e.onBehalfOf?.userId ?? '',
    trace_id: e.traceId ?? '',
    risk_score: riskScore,
    learned,
    ingested_at: chTime(ingestedAt),
    raw: JSON.stringify(e, (k, v) => (k === 'ts' ? undefined : v)),
    tool: tc ? tc.tool : '',
    resource: e.resource,
    operation: tc ? tc.operation : '',
    sensitivity: tc ? (tc.sensitivity ?? 'internal') : '',
    outcome: e.outcome,
    records: tc?.records ?? null,
    bytes: tc?.bytes ?? null,
    duration_ms: tc?.durationMs ?? null,
    credential: si ? si.credential : '',
    ip: si ? si.network.ip : '',
    asn: si?.network.asn ?? null,
    country: si?.network.country ?? '',
    location: si?.network.location ?? '',
    scopes: si ? si.scopes : [],
  }
}

export function riskRow(r: RiskEvent): Record<string, unknown> {
  return {
    risk_event_id: r.riskEventId,
    tenant_id: r.tenantId,
    agent_id: r.agentId,
    blueprint_id: r.blueprintId ?? '',
    time: chTime(Date.parse(r.time)),
    detected_at: chTime(Date.parse(r.detectedAt)),
    risk_level: r.riskLevel,
    previous_risk_level: r.previousRiskLevel,
    risk_score: r.riskScore,
    detectors: [...new Set(r.detections.map((d) => d.detector))],
    action: r.action,
    event_ids: r.eventIds,
    body: JSON.stringify(r),
  }
}

/**
 * The payload column is a string: bytes that are valid UTF-8 are stored as text, others as base64
 * with a note in the reason (the Kafka dead-letter topic keeps the original bytes either way).
 */
export function deadLetterRow(d: DeadLetter): Record<string, unknown> {
  let payload = typeof d.payload === 'string' ? d.payload : undefined
  let reason = d.reason
  if (Buffer.isBuffer(d.payload)) {
    const text = d.payload.toString('utf8')
    if (Buffer.from(text, 'utf8').equals(d.payload)) payload = text
    else {
      payload = d.payload.toString('base64')
      reason = `${reason} (payload is not valid UTF-8; stored as base64)`
    }
  }
  return {
    received_at: chTime(d.receivedAt),
    origin: d.origin,
    partition: d.partition ?? null,
    offset: d.offset ?? null,
    key: d.key ?? null,
    reason,
    payload,
  }
}

export function agentBaselineRow(p: AgentProfile, version: number, savedAt: number): Record<string, unknown> {
  return {
    agent_id: p.agentId,
    tenant_id: p.tenantId,
    blueprint_id: p.blueprintId ?? '',
    version,
    saved_at: chTime(savedAt),
    last_event_time: chTime(p.lastTs),
    learned: p.learned,
    risk_level: p.risk.level,
    risk_score: Math.round(p.risk.score * 100),
    compromised: p.compromised,
    kafka_partition: p.partition ?? -1,
    state: JSON.stringify(p),
  }
}

export function blueprintBaselineRow(b: BlueprintProfile, version: number, savedAt: number): Record<string, unknown> {
  return {
    blueprint_id: b.blueprintId,
    version,
    saved_at: chTime(savedAt),
    agents: b.agents,
    learned: b.learned,
    state: JSON.stringify(b),
  }
}

export function enforcementRow(c: EnforcementChange): Record<string, unknown> {
  return {
    change_id: c.changeId,
    agent_id: c.agentId,
    tenant_id: c.tenantId ?? '',
    at: chTime(c.at),
    from_mode: c.from,
    to_mode: c.to,
    by: c.state.by,
    reason: c.state.reason,
    risk_event_id: c.riskEventId ?? '',
    body: JSON.stringify(c),
  }
}
