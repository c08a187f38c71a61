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
    // Every hour of the day is known after the first day: nothing but the new resource alerts.
    expect(alerts).toHaveLength(1)
    const late = alerts
    expect(late[0].eventIds).toEqual([novel.eventId])
    expect(late[0].riskLevel).toBe('medium')
    expect(late[0].previousRiskLevel).toBe('none')
    expect(late[0].detections.map((d) => d.evidence.feature)).toEqual(['resource'])
  })

  it('alerts on a first-seen hour of the day, not on a known hour of a new weekday', () => {
    const office: AgentEventInput[] = []
    for (let d = 0; d < 4; d++) for (let h = 9; h < 17; h++) office.push(call(T0 + d * DAY + h * HOUR, 'sql://known'))
    const sameHourNewDay = call(T0 + 5 * DAY + 10 * HOUR, 'sql://known')
    const night = call(T0 + 5 * DAY + 3 * HOUR + 60_000, 'sql://known')
    const alerts = naiveReference([...office, night, sameHourNewDay])
    expect(alerts.map((a) => a.eventIds)).toEqual([[night.eventId]])
    expect(alerts[0].detections.map((d) => d.evidence)).toEqual([{ feature: 'hour_of_day', value: 3, historyDays: 4.8 }])
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
