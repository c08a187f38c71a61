/** How domain objects become ClickHouse rows, and back. One place, so tables and code agree. */
import type { AgentEvent } from '../../schemas/events.ts'
import type { RiskEvent } from '../../schemas/risk.ts'
import type { AgentProfile, BlueprintProfile } from '../baselines/profiles.ts'
import type { DeadLetter } from '../sinks/types.ts'
import type { EnforcementChange } from '../enforcement/types.ts'

/**
 * DateTime64(3, 'UTC') literal from epoch ms: `YYYY-MM-DD hh:mm:ss.mmm`, what
 * `new Date(ms).toISOString()` writes with a space for the T and no Z. Once per event on the hot
 * path, so the date part is kept per day and the time of day is arithmetic (~10x cheaper than
 * through a Date and two replaces).
 */
export function chTime(ms: number): string {
  const day = Math.floor(ms / 86_400_000)
  if (day !== cachedDay) {
    const iso = new Date(day * 86_400_000).toISOString()
    // Years beyond 9999 or before 0 are written with a sign and six digits; keep the general form.
    if (iso.length !== 24) return new Date(ms).toISOString().replace('T', ' ').replace('Z', '')
    cachedDay = day
    cachedDate = iso.slice(0, 11).replace('T', ' ')
  }
  const inDay = ms - day * 86_400_000
  const h = Math.floor(inDay / 3_600_000)
  const m = Math.floor(inDay / 60_000) % 60
  const sec = Math.floor(inDay / 1000) % 60
  const milli = inDay % 1000
  return `${cachedDate}${h < 10 ? '0' : ''}${h}:${m < 10 ? '0' : ''}${m}:${sec < 10 ? '0' : ''}${sec}.${milli < 10 ? '00' : milli < 100 ? '0' : ''}${milli}`
}
let cachedDay = Number.NaN
let cachedDate = ''
/** Epoch ms from a DateTime64(3, 'UTC') value as ClickHouse returns it in JSON. */
export const fromChTime = (s: string): number => Date.parse(s.replace(' ', 'T') + 'Z')

/**
 * Columns of the events table in the order `eventLine` writes them. The event's JSON is not one of
 * them: `raw` is rebuilt from these when read (migration 019_events_raw_alias).
 */
export const EVENT_COLUMNS = [
  'event_id', 'kind', 'time', 'time_text', 'tenant_id', 'agent_id', 'blueprint_id', 'owner_id', 'agent_platform', 'parent_id',
  'obo_user', 'trace_id', 'risk_score', 'learned', 'ingested_at', 'tool', 'resource', 'operation', 'sensitivity',
  'sensitivity_given', 'outcome', 'failure_reason', 'records', 'bytes', 'duration_ms', 'credential', 'ip', 'asn', 'country',
  'location', 'scopes',
] as const

/**
 * The events row as one JSONCompactEachRow line (`EVENT_COLUMNS`), the same shape for both kinds.
 * Once per event on the hot path, so one native `JSON.stringify` of an array (an object per row
 * that the client stringified again cost ~3x more). `ingestedAt` is the DateTime64 text
 * (`chTime`), shared by the events written in one millisecond.
 */
export function eventLine(e: AgentEvent, riskScore: number, learned: boolean, ingestedAt: string): string {
  const tc = e.kind === 'tool_call' ? e : undefined
  const si = e.kind === 'signin' ? e : undefined
  const time = chTime(e.ts)
  return JSON.stringify([
    e.eventId,
    e.kind,
    time,
    isCanonicalTime(e.time, time) ? '' : e.time,
    e.tenantId,
    e.agent.id,
    e.agent.blueprintId ?? '',
    e.agent.ownerId ?? '',
    e.agent.platform ?? '',
    e.agent.parentId ?? '',
    e.onBehalfOf?.userId ?? '',
    e.traceId ?? '',
    riskScore,
    learned,
    ingestedAt,
    tc ? tc.tool : '',
    e.resource,
    tc ? tc.operation : '',
    tc ? (tc.sensitivity ?? 'internal') : '',
    tc?.sensitivity !== undefined,
    e.outcome,
    si?.failureReason ?? null,
    tc?.records ?? null,
    tc?.bytes ?? null,
    tc?.durationMs ?? null,
    si ? si.credential : '',
    si ? si.network.ip : '',
    si?.network.asn ?? null,
    si?.network.country ?? '',
    si?.network.location ?? '',
    si ? si.scopes : [],
  ])
}

/**
 * Whether the event's time as sent is what `raw` rebuilds from the `time` column:
 * `YYYY-MM-DDTHH:MM:SS.mmmZ`, the same instant as `chText` (`chTime` of it), in the years 1900 to
 * 2299 that DateTime64 holds. Otherwise the row keeps the text (`time_text`).
 */
function isCanonicalTime(sent: string, chText: string): boolean {
  return (
    sent.length === 24 &&
    chText.length === 23 &&
    sent.charCodeAt(10) === 84 && // T
    sent.charCodeAt(23) === 90 && // Z
    sent.startsWith(chText.slice(0, 10)) &&
    sent.endsWith(chText.slice(11), 23) &&
    chText < '2300' &&
    chText >= '1900'
  )
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

/** A partial peer baseline: what one Kafka partition's agents taught their blueprint. */
export function blueprintPartialRow(b: BlueprintProfile, version: number, savedAt: number): Record<string, unknown> {
  return {
    blueprint_id: b.blueprintId,
    kafka_partition: b.partition ?? 0,
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
