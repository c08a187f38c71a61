/**
 * The naive reference detector the evaluation compares AgentWatch with: once an agent has three
 * days of history, alert on anything it has not done before (a resource, a tool, a sign-in ASN, an
 * hour of the day, UTC). No peers, no sensitivity, no decay: it shows what plain novelty costs in
 * false alerts. Its alerts are shaped like risk events (medium, from none) so one evaluation fits both.
 *
 * Hour of the day, not of the week: that is the rule as usually stated ("a first-seen hour"), and the
 * stronger competitor. With 168 hours of the week, an agent active around the clock meets a new one
 * every hour of its first two weeks, which would make the reference a straw man.
 */
import type { AgentEvent, AgentEventInput } from '../../schemas/events.ts'
import type { Detection, RiskEvent } from '../../schemas/risk.ts'
import { DAY, HOUR } from '../../detectors/time.ts'

export interface NaiveOptions {
  /** History an agent needs before novelty alerts; measured from its first event. Days. Default 3. */
  warmupDays?: number
}

export const NAIVE_DETECTOR = 'naive_first_seen'

interface Seen {
  firstTs: number
  resources: Set<string>
  tools: Set<string>
  asns: Set<number>
  hours: Set<number>
}

/** Alerts for a time-ordered stream of events (decoded events, or contract events without `ts`). */
export function naiveReference(events: Iterable<AgentEvent | AgentEventInput>, opts: NaiveOptions = {}): RiskEvent[] {
  const warmupMs = (opts.warmupDays ?? 3) * DAY
  const agents = new Map<string, Seen>()
  const out: RiskEvent[] = []
  for (const e of events) {
    const ts = 'ts' in e ? e.ts : Date.parse(e.time)
    let seen = agents.get(e.agent.id)
    if (!seen) {
      seen = { firstTs: ts, resources: new Set(), tools: new Set(), asns: new Set(), hours: new Set() }
      agents.set(e.agent.id, seen)
    }
    const novel: [feature: string, value: string | number][] = []
    const hour = hourOfDay(ts)
    if (!seen.hours.has(hour)) novel.push(['hour_of_day', hour])
    if (e.kind === 'tool_call') {
      if (!seen.resources.has(e.resource)) novel.push(['resource', e.resource])
      if (!seen.tools.has(e.tool)) novel.push(['tool', e.tool])
    } else if (e.network.asn !== undefined && !seen.asns.has(e.network.asn)) {
      novel.push(['asn', e.network.asn])
    }
    if (novel.length && ts - seen.firstTs >= warmupMs) out.push(alertFor(e, novel, ts - seen.firstTs))
    seen.hours.add(hour)
    if (e.kind === 'tool_call') {
      seen.resources.add(e.resource)
      seen.tools.add(e.tool)
    } else if (e.network.asn !== undefined) {
      seen.asns.add(e.network.asn)
    }
  }
  return out
}

function alertFor(e: AgentEvent | AgentEventInput, novel: [string, string | number][], historyMs: number): RiskEvent {
  const historyDays = Math.round((historyMs / DAY) * 10) / 10
  const detections: Detection[] = novel.map(([feature, value]) => ({
    detector: NAIVE_DETECTOR,
    score: 1,
    observation: 'first_seen',
    reason: `first ${feature.replace(/_/g, ' ')} ${value} after ${historyDays} days of history`,
    evidence: { feature, value, historyDays },
  }))
  const event: RiskEvent = {
    riskEventId: `naive-${e.eventId}`,
    tenantId: e.tenantId,
    agentId: e.agent.id,
    time: e.time,
    // Deterministic: the reference runs on event time only.
    detectedAt: e.time,
    riskLevel: 'medium',
    previousRiskLevel: 'none',
    riskScore: 50,
    detections,
    eventIds: [e.eventId],
    action: 'none',
  }
  if (e.agent.blueprintId) event.blueprintId = e.agent.blueprintId
  return event
}

/** UTC hour of the day, 0-23, of an epoch-ms time. */
function hourOfDay(ts: number): number {
  return Math.floor((((ts % DAY) + DAY) % DAY) / HOUR)
}
