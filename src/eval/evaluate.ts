/**
 * Detection quality of a stream of risk events against simulator labels. Pure: no I/O, no clock.
 *
 * Definitions (all times are event time):
 * - An alert is a risk event whose level rises to medium or high (previous level lower).
 * - An episode is detected when any risk event at medium or high for one of its agents has `time`
 *   in [start, end + grace]; time to detect = the first such time - episode start.
 * - An alert is attributed to an episode when its agent is one of the episode's and its time is in
 *   [start, end + grace]. Precision = attributed alerts / alerts.
 * - A false alert is an alert attributed to no episode. Rates are per 100 agent-days, where
 *   agent-days = agents x days of the run. False alerts inside a benign window are reported by the
 *   window's type (the most specific when windows overlap: rollout, incident, new agents, weekend);
 *   the rest are "unexplained".
 * - Per scenario, precision and false alerts look only at the agents of that scenario's episodes:
 *   of all alerts on those agents over the whole run, how many fell inside one of its episodes.
 */
import type { RiskEvent, RiskLevel } from '../../schemas/risk.ts'
import { BENIGN_TYPES, SCENARIOS, type AttackEpisode, type BenignType, type BenignWindow, type Labels, type Scenario } from '../sim/labels.ts'

export interface EvaluateOptions {
  /** Risk raised this long after an episode's last event still counts for it. Minutes. Default 30. */
  graceMinutes?: number
}

export interface EpisodeResult {
  episodeId: string
  scenario: Scenario
  agentIds: string[]
  start: string
  end: string
  detected: boolean
  /** First medium+ risk event time - episode start. Milliseconds; null when not detected. */
  timeToDetectMs: number | null
  /** Alerts attributed to this episode. */
  alerts: number
}

export interface Row {
  scenario: Scenario | 'overall'
  episodes: number
  detected: number
  /** detected / episodes; null without episodes. */
  recall: number | null
  /** Alerts considered for this row (all alerts for overall; alerts on the scenario's agents otherwise). */
  alerts: number
  attributedAlerts: number
  /** attributedAlerts / alerts; null without alerts. */
  precision: number | null
  /** Median time to detect over detected episodes. Minutes; null when none was detected. */
  medianTimeToDetectMinutes: number | null
  falseAlerts: number
  /** Agent-days the false-alert rate is taken over. */
  agentDays: number
  falseAlertsPer100AgentDays: number | null
}

export type FalseAlertCause = BenignType | 'unexplained'
export const FALSE_ALERT_CAUSES: readonly FalseAlertCause[] = [...BENIGN_TYPES, 'unexplained']

export interface Report {
  graceMinutes: number
  agentDays: number
  overall: Row
  scenarios: Row[]
  falseAlertsByCause: Record<FalseAlertCause, { count: number; per100AgentDays: number | null }>
  /** False alerts from day 7 on, when attacks can happen and baselines have had a week to form. */
  falseAlertsAfterFirstWeek: { count: number; agentDays: number; per100AgentDays: number | null }
  episodes: EpisodeResult[]
}

const MINUTE_MS = 60_000
const DAY_MS = 24 * 60 * MINUTE_MS
/** Days at the start of a run without attacks (the simulator's clean week). */
const FIRST_WEEK_DAYS = 7
const RANK: Record<RiskLevel, number> = { none: 0, low: 1, medium: 2, high: 3 }

export function isMediumOrHigh(r: Pick<RiskEvent, 'riskLevel'>): boolean {
  return RANK[r.riskLevel] >= RANK.medium
}

/** A risk event whose level rises to medium or high. */
export function isAlert(r: Pick<RiskEvent, 'riskLevel' | 'previousRiskLevel'>): boolean {
  return isMediumOrHigh(r) && RANK[r.riskLevel] > RANK[r.previousRiskLevel]
}

interface Span {
  start: number
  /** End including the grace period. */
  until: number
}

function span(w: { start: string; end: string }, graceMs: number): Span {
  return { start: Date.parse(w.start), until: Date.parse(w.end) + graceMs }
}

const inside = (t: number, s: Span) => t >= s.start && t <= s.until

function median(values: number[]): number | null {
  if (!values.length) return null
  const sorted = values.slice().sort((a, b) => a - b)
  const mid = Math.floor(sorted.length / 2)
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2
}

const ratio = (a: number, b: number): number | null => (b > 0 ? a / b : null)
const per100 = (count: number, agentDays: number): number | null => (agentDays > 0 ? (100 * count) / agentDays : null)

/** Order in which overlapping benign windows claim a false alert: most specific first. */
const CAUSE_ORDER: readonly BenignType[] = ['tool_rollout', 'incident_burst', 'new_agents_like_peers', 'weekend']

export function evaluate(labels: Labels, riskEvents: readonly RiskEvent[], opts: EvaluateOptions = {}): Report {
  const graceMinutes = opts.graceMinutes ?? 30
  const graceMs = graceMinutes * MINUTE_MS
  const agentDays = labels.fleet.agents * labels.fleet.days

  const episodes = labels.episodes.map((ep) => ({ ep, span: span(ep, graceMs), firstDetection: Infinity, alerts: 0 }))
  const episodesByAgent = new Map<string, typeof episodes>()
  for (const e of episodes) {
    for (const id of e.ep.agentIds) {
      const list = episodesByAgent.get(id) ?? []
      list.push(e)
      episodesByAgent.set(id, list)
    }
  }
  const benign = CAUSE_ORDER.flatMap((type) =>
    labels.benign.filter((w) => w.type === type).map((w: BenignWindow) => ({ w, span: span(w, graceMs), agents: new Set(w.agentIds) })),
  )

  const causes = Object.fromEntries(FALSE_ALERT_CAUSES.map((c) => [c, 0])) as Record<FalseAlertCause, number>
  /** Per agent: alerts, and alerts attributed to no episode. */
  const alertsByAgent = new Map<string, { alerts: number; unattributed: number; attributedTo: Set<string>[] }>()
  let alerts = 0
  let attributed = 0
  let lateFalseAlerts = 0
  const firstWeekEnd = Date.parse(labels.fleet.start) + FIRST_WEEK_DAYS * DAY_MS

  for (const r of riskEvents) {
    const t = Date.parse(r.time)
    const mine = episodesByAgent.get(r.agentId) ?? []
    const matching = mine.filter((e) => inside(t, e.span))
    if (isMediumOrHigh(r)) for (const e of matching) e.firstDetection = Math.min(e.firstDetection, t)
    if (!isAlert(r)) continue
    alerts++
    const perAgent = alertsByAgent.get(r.agentId) ?? { alerts: 0, unattributed: 0, attributedTo: [] }
    alertsByAgent.set(r.agentId, perAgent)
    perAgent.alerts++
    perAgent.attributedTo.push(new Set(matching.map((e) => e.ep.episodeId)))
    if (matching.length) {
      attributed++
      for (const e of matching) e.alerts++
      continue
    }
    perAgent.unattributed++
    if (t >= firstWeekEnd) lateFalseAlerts++
    const window = benign.find((b) => (b.w.fleetWide || b.agents.has(r.agentId)) && inside(t, b.span))
    causes[window ? window.w.type : 'unexplained']++
  }

  const results: EpisodeResult[] = episodes.map((e) => ({
    episodeId: e.ep.episodeId,
    scenario: e.ep.scenario,
    agentIds: e.ep.agentIds,
    start: e.ep.start,
    end: e.ep.end,
    detected: Number.isFinite(e.firstDetection),
    timeToDetectMs: Number.isFinite(e.firstDetection) ? e.firstDetection - e.span.start : null,
    alerts: e.alerts,
  }))

  const falseAlerts = alerts - attributed
  const overall: Row = {
    scenario: 'overall',
    ...detectionStats(results),
    alerts,
    attributedAlerts: attributed,
    precision: ratio(attributed, alerts),
    falseAlerts,
    agentDays,
    falseAlertsPer100AgentDays: per100(falseAlerts, agentDays),
  }

  const scenarios: Row[] = SCENARIOS.map((scenario) => {
    const eps = labels.episodes.filter((e: AttackEpisode) => e.scenario === scenario)
    const ids = new Set(eps.map((e) => e.episodeId))
    const agents = new Set(eps.flatMap((e) => e.agentIds))
    let rowAlerts = 0
    let rowAttributed = 0
    let rowFalse = 0
    for (const id of agents) {
      const a = alertsByAgent.get(id)
      if (!a) continue
      rowAlerts += a.alerts
      rowFalse += a.unattributed
      for (const to of a.attributedTo) if ([...to].some((x) => ids.has(x))) rowAttributed++
    }
    const rowAgentDays = agents.size * labels.fleet.days
    return {
      scenario,
      ...detectionStats(results.filter((r) => r.scenario === scenario)),
      alerts: rowAlerts,
      attributedAlerts: rowAttributed,
      precision: ratio(rowAttributed, rowAlerts),
      falseAlerts: rowFalse,
      agentDays: rowAgentDays,
      falseAlertsPer100AgentDays: per100(rowFalse, rowAgentDays),
    }
  })

  return {
    graceMinutes,
    agentDays,
    overall,
    scenarios,
    falseAlertsByCause: causeTable(causes, agentDays),
    falseAlertsAfterFirstWeek: lateRate(lateFalseAlerts, labels.fleet.agents * Math.max(0, labels.fleet.days - FIRST_WEEK_DAYS)),
    episodes: results,
  }
}

function lateRate(count: number, agentDays: number): Report['falseAlertsAfterFirstWeek'] {
  return { count, agentDays, per100AgentDays: per100(count, agentDays) }
}

function detectionStats(results: EpisodeResult[]): Pick<Row, 'episodes' | 'detected' | 'recall' | 'medianTimeToDetectMinutes'> {
  const detected = results.filter((r) => r.detected)
  const ttd = median(detected.map((r) => r.timeToDetectMs ?? 0))
  return {
    episodes: results.length,
    detected: detected.length,
    recall: ratio(detected.length, results.length),
    medianTimeToDetectMinutes: ttd === null ? null : ttd / MINUTE_MS,
  }
}

function causeTable(counts: Record<FalseAlertCause, number>, agentDays: number): Report['falseAlertsByCause'] {
  return Object.fromEntries(FALSE_ALERT_CAUSES.map((c) => [c, { count: counts[c], per100AgentDays: per100(counts[c], agentDays) }])) as Report['falseAlertsByCause']
}

/** Pool several runs (for example several seeds): counts add up, medians are taken over all episodes. */
export function combineReports(reports: readonly Report[]): Report {
  if (!reports.length) throw new Error('nothing to combine')
  const episodes = reports.flatMap((r) => r.episodes)
  const agentDays = reports.reduce((a, r) => a + r.agentDays, 0)
  const pool = (rows: Row[], scenario: Row['scenario'], results: EpisodeResult[]): Row => {
    const sum = (k: 'alerts' | 'attributedAlerts' | 'falseAlerts' | 'agentDays') => rows.reduce((a, r) => a + r[k], 0)
    const alerts = sum('alerts')
    const rowAgentDays = sum('agentDays')
    return {
      scenario,
      ...detectionStats(results),
      alerts,
      attributedAlerts: sum('attributedAlerts'),
      precision: ratio(sum('attributedAlerts'), alerts),
      falseAlerts: sum('falseAlerts'),
      agentDays: rowAgentDays,
      falseAlertsPer100AgentDays: per100(sum('falseAlerts'), rowAgentDays),
    }
  }
  const causes = Object.fromEntries(FALSE_ALERT_CAUSES.map((c) => [c, reports.reduce((a, r) => a + r.falseAlertsByCause[c].count, 0)])) as Record<FalseAlertCause, number>
  return {
    graceMinutes: reports[0].graceMinutes,
    agentDays,
    overall: pool(reports.map((r) => r.overall), 'overall', episodes),
    scenarios: SCENARIOS.map((s) => pool(reports.flatMap((r) => r.scenarios.filter((x) => x.scenario === s)), s, episodes.filter((e) => e.scenario === s))),
    falseAlertsByCause: causeTable(causes, agentDays),
    falseAlertsAfterFirstWeek: lateRate(
      reports.reduce((a, r) => a + r.falseAlertsAfterFirstWeek.count, 0),
      reports.reduce((a, r) => a + r.falseAlertsAfterFirstWeek.agentDays, 0),
    ),
    episodes,
  }
}
