import { describe, expect, it } from 'vitest'
import type { AgentEventInput } from '../../schemas/events.ts'
import { naiveReference } from '../../src/eval/naive.ts'
import { evaluate } from '../../src/eval/evaluate.ts'
import type { Labels } from '../../src/sim/labels.ts'

const HOUR = 3_600_000
const DAY = 24 * HOUR
const T0 = Date.parse('2026-03-02T00:00:00.000Z')
let n = 0

function call(t: number, resource: string, tool = 'sql.query'): AgentEventInput {
  return {
    eventId: `e${++n}`,
    kind: 'tool_call',
    time: new Date(t).toISOString(),
    tenantId: 't',
    agent: { id: 'agent-1', blueprintId: 'bp' },
    tool,
    resource,
    operation: 'read',
    outcome: 'success',
  }
}

/** Every hour of a whole week on one resource, so hours of the week are all known by day 7. */
function week(): AgentEventInput[] {
  const out: AgentEventInput[] = []
  for (let h = 0; h < 7 * 24; h++) out.push(call(T0 + h * HOUR, 'sql://known'))
  return out
}

describe('naiveReference', () => {
  it('stays quiet during the first three days, even on first-seen resources', () => {
    const events = [call(T0, 'sql://a'), call(T0 + 1 * DAY, 'sql://b'), call(T0 + 2.9 * DAY, 'sql://c', 'new.tool')]
    expect(naiveReference(events)).toEqual([])
  })

  it('alerts on a first-seen resource after three days of history, and not on a known one', () => {
    const history = week()
    const known = call(T0 + 7 * DAY + 10 * HOUR, 'sql://known')
    const novel = call(T0 + 7 * DAY + 11 * HOUR, 'sql://payroll')
    const alerts = naiveReference([...history, known, novel])
    // The first week: every hour of days 3-6 is a first-seen hour of the week.
    const late = alerts.filter((a) => Date.parse(a.time) >= T0 + 7 * DAY)
    expect(late).toHaveLength(1)
    expect(late[0].eventIds).toEqual([novel.eventId])
    expect(late[0].riskLevel).toBe('medium')
    expect(late[0].previousRiskLevel).toBe('none')
    expect(late[0].detections.map((d) => d.evidence.feature)).toEqual(['resource'])
    const early = alerts.filter((a) => Date.parse(a.time) < T0 + 7 * DAY)
    expect(early.every((a) => Date.parse(a.time) >= T0 + 3 * DAY)).toBe(true)
    expect(early.every((a) => a.detections.every((d) => d.evidence.feature === 'hour_of_week'))).toBe(true)
  })

  it('alerts on a first-seen sign-in ASN and tool', () => {
    const history = week()
    const signin: AgentEventInput = {
      eventId: 'si-1',
      kind: 'signin',
      time: new Date(T0 + 7 * DAY + HOUR).toISOString(),
      tenantId: 't',
      agent: { id: 'agent-1' },
      credential: 'secret',
      network: { ip: '185.220.1.2', asn: 9009 },
      resource: 'https://graph.microsoft.com',
      scopes: [],
      outcome: 'success',
    }
    const tool = call(T0 + 7 * DAY + 2 * HOUR, 'sql://known', 'http.post')
    const late = naiveReference([...history, signin, tool]).filter((a) => Date.parse(a.time) >= T0 + 7 * DAY)
    expect(late.map((a) => a.detections.map((d) => d.evidence.feature))).toEqual([['asn'], ['tool']])
  })

  it('is scored by the same evaluation', () => {
    const history = week()
    const novel = call(T0 + 7 * DAY + 11 * HOUR, 'sql://payroll')
    const labels: Labels = {
      version: 1,
      fleet: { seed: 0, agents: 1, days: 8, start: new Date(T0).toISOString(), end: new Date(T0 + 8 * DAY).toISOString(), distinctAgents: 1, events: 0, attacks: true },
      episodes: [{ episodeId: 'ep', scenario: 'slow_drift_restricted', agentIds: ['agent-1'], start: novel.time, end: novel.time, description: '', eventIds: [novel.eventId] }],
      benign: [],
    }
    const report = evaluate(labels, naiveReference([...history, novel]))
    expect(report.overall.detected).toBe(1)
    expect(report.overall.medianTimeToDetectMinutes).toBe(0)
  })
})
