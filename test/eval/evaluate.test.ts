import { describe, expect, it } from 'vitest'
import type { RiskEvent, RiskLevel } from '../../schemas/risk.ts'
import { combineReports, evaluate, isAlert } from '../../src/eval/evaluate.ts'
import type { Labels } from '../../src/sim/labels.ts'

const MIN = 60_000
const DAY = 24 * 60 * MIN
const T0 = Date.parse('2026-03-02T00:00:00.000Z')
const iso = (t: number) => new Date(t).toISOString()

/** 10 agents x 10 days = 100 agent-days, so false alerts per 100 agent-days equal the count. */
function labels(): Labels {
  const a1 = T0 + 8 * DAY + 3 * 60 * MIN
  const b1 = T0 + 8 * DAY + 14 * 60 * MIN
  const c1 = T0 + 9 * DAY + 10 * 60 * MIN
  return {
    version: 1,
    fleet: { seed: 1, agents: 10, days: 10, start: iso(T0), end: iso(T0 + 10 * DAY), distinctAgents: 10, events: 0, attacks: true },
    episodes: [
      { episodeId: 'ep-a', scenario: 'offhours_hr_access', agentIds: ['agent-a'], start: iso(a1), end: iso(a1 + 10 * MIN), description: '', eventIds: [] },
      { episodeId: 'ep-b', scenario: 'bulk_exfil_read', agentIds: ['agent-b'], start: iso(b1), end: iso(b1 + 20 * MIN), description: '', eventIds: [] },
      { episodeId: 'ep-c', scenario: 'offhours_hr_access', agentIds: ['agent-c'], start: iso(c1), end: iso(c1 + 5 * MIN), description: '', eventIds: [] },
    ],
    benign: [
      { windowId: 'w-roll', type: 'tool_rollout', agentIds: ['agent-r'], fleetWide: false, start: iso(T0 + 8 * DAY), end: iso(T0 + 10 * DAY), description: '' },
      { windowId: 'w-weekend', type: 'weekend', agentIds: [], fleetWide: true, start: iso(T0 + 5 * DAY), end: iso(T0 + 7 * DAY), description: '' },
    ],
  }
}

let n = 0
function risk(agentId: string, t: number, riskLevel: RiskLevel, previousRiskLevel: RiskLevel): RiskEvent {
  n++
  return { riskEventId: `r${n}`, tenantId: 't', agentId, time: iso(t), detectedAt: iso(t), riskLevel, previousRiskLevel, riskScore: 60, detections: [], eventIds: [], action: 'none' }
}

describe('isAlert', () => {
  it('counts only rises to medium or high', () => {
    expect(isAlert({ riskLevel: 'medium', previousRiskLevel: 'none' })).toBe(true)
    expect(isAlert({ riskLevel: 'high', previousRiskLevel: 'medium' })).toBe(true)
    expect(isAlert({ riskLevel: 'medium', previousRiskLevel: 'high' })).toBe(false)
    expect(isAlert({ riskLevel: 'low', previousRiskLevel: 'none' })).toBe(false)
  })
})

describe('evaluate', () => {
  const l = labels()
  const a1 = Date.parse(l.episodes[0].start)
  const b1 = Date.parse(l.episodes[1].start)
  const bEnd = Date.parse(l.episodes[1].end)
  const c1 = Date.parse(l.episodes[2].start)
  const cEnd = Date.parse(l.episodes[2].end)
  const events: RiskEvent[] = [
    risk('agent-a', a1 - 5 * MIN, 'low', 'none'), // low: neither detection nor alert
    risk('agent-a', a1 + 4 * MIN, 'medium', 'low'), // detects ep-a after 4 minutes, attributed
    risk('agent-a', a1 + 12 * MIN, 'high', 'medium'), // a second attributed alert (in grace)
    risk('agent-b', bEnd + 30 * MIN, 'medium', 'none'), // exactly at the end of the grace: detects ep-b
    risk('agent-c', cEnd + 31 * MIN, 'medium', 'none'), // one minute too late: ep-c missed, a false alert
    risk('agent-r', T0 + 8 * DAY + 60 * MIN, 'medium', 'none'), // rollout window
    risk('agent-x', T0 + 5 * DAY + 60 * MIN, 'high', 'none'), // weekend
    risk('agent-x', T0 + 5 * DAY + 90 * MIN, 'medium', 'high'), // a fall: not an alert
    risk('agent-y', T0 + 2 * DAY, 'medium', 'none'), // unexplained, first week
  ]
  const report = evaluate(l, events)

  it('detects an episode with a medium+ risk event inside [start, end + 30 min], not a minute later', () => {
    const byId = Object.fromEntries(report.episodes.map((e) => [e.episodeId, e]))
    expect(byId['ep-a'].detected).toBe(true)
    expect(byId['ep-a'].timeToDetectMs).toBe(4 * MIN)
    expect(byId['ep-a'].alerts).toBe(2)
    expect(byId['ep-b'].detected).toBe(true)
    expect(byId['ep-b'].timeToDetectMs).toBe(bEnd + 30 * MIN - b1)
    expect(byId['ep-c'].detected).toBe(false)
    expect(byId['ep-c'].timeToDetectMs).toBeNull()
    expect(c1).toBeLessThan(cEnd)
  })

  it('computes recall, precision, median time to detect and false alerts overall', () => {
    const o = report.overall
    expect(o.episodes).toBe(3)
    expect(o.detected).toBe(2)
    expect(o.recall).toBeCloseTo(2 / 3)
    // Alerts: a(2), b, c, r, x (rise), y = 7; attributed: a(2), b = 3.
    expect(o.alerts).toBe(7)
    expect(o.attributedAlerts).toBe(3)
    expect(o.precision).toBeCloseTo(3 / 7)
    // Median of 4 minutes and 50 minutes.
    expect(o.medianTimeToDetectMinutes).toBeCloseTo((4 + 50) / 2)
    expect(o.falseAlerts).toBe(4)
    expect(o.agentDays).toBe(100)
    expect(o.falseAlertsPer100AgentDays).toBeCloseTo(4)
  })

  it('breaks false alerts down by benign window', () => {
    const c = report.falseAlertsByCause
    expect(c.tool_rollout.count).toBe(1)
    expect(c.weekend.count).toBe(1)
    expect(c.unexplained.count).toBe(2)
    expect(c.incident_burst.count).toBe(0)
    expect(c.new_agents_like_peers.count).toBe(0)
    // From day 7 on: agent-c's late alert and the rollout alert, over 10 agents x 3 days.
    expect(report.falseAlertsAfterFirstWeek).toEqual({ count: 2, agentDays: 30, per100AgentDays: (2 / 30) * 100 })
  })

  it('reports per scenario, precision over the scenario\'s own agents', () => {
    const offhours = report.scenarios.find((s) => s.scenario === 'offhours_hr_access')!
    expect(offhours.episodes).toBe(2)
    expect(offhours.detected).toBe(1)
    expect(offhours.recall).toBe(0.5)
    expect(offhours.medianTimeToDetectMinutes).toBe(4)
    // Agents a and c: 3 alerts, 2 attributed (a), 1 false (c) over 2 agents x 10 days.
    expect(offhours.alerts).toBe(3)
    expect(offhours.precision).toBeCloseTo(2 / 3)
    expect(offhours.falseAlertsPer100AgentDays).toBeCloseTo(5)
    const spawn = report.scenarios.find((s) => s.scenario === 'spawn_burst')!
    expect(spawn.episodes).toBe(0)
    expect(spawn.recall).toBeNull()
    expect(spawn.medianTimeToDetectMinutes).toBeNull()
  })

  it('honours another grace period', () => {
    const strict = evaluate(l, events, { graceMinutes: 10 })
    expect(strict.episodes.find((e) => e.episodeId === 'ep-b')!.detected).toBe(false)
    expect(strict.graceMinutes).toBe(10)
  })

  it('pools runs: counts add up, medians over all episodes', () => {
    const pooled = combineReports([report, report])
    expect(pooled.overall.episodes).toBe(6)
    expect(pooled.overall.detected).toBe(4)
    expect(pooled.overall.precision).toBeCloseTo(3 / 7)
    expect(pooled.agentDays).toBe(200)
    expect(pooled.overall.falseAlertsPer100AgentDays).toBeCloseTo(4)
    expect(pooled.overall.medianTimeToDetectMinutes).toBeCloseTo(27)
    expect(pooled.falseAlertsByCause.unexplained.count).toBe(4)
  })

  it('reports no detections on an empty risk stream', () => {
    const empty = evaluate(l, [])
    expect(empty.overall.recall).toBe(0)
    expect(empty.overall.precision).toBeNull()
    expect(empty.overall.falseAlertsPer100AgentDays).toBe(0)
  })
})
