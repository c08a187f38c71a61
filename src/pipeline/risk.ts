/**
 * Risk: findings of one event combine into an event score; an agent's accumulated score decays on
 * event time and absorbs each event score; the accumulated score maps to a level. All arithmetic is
 * on [0, 1]; the 0-100 risk score is that times 100, rounded.
 */
import type { Config } from '../../schemas/config.ts'
import type { Detection, RiskLevel } from '../../schemas/risk.ts'
import type { RiskState } from '../baselines/profiles.ts'

const LEVEL_RANK: Record<RiskLevel, number> = { none: 0, low: 1, medium: 2, high: 3 }
export const levelRank = (l: RiskLevel): number => LEVEL_RANK[l]

/**
 * Noisy-OR: independent pieces of evidence, each a probability-like score. Two findings of 0.5
 * give 0.75: more evidence raises the score, but never past 1.
 */
export function combine(scores: readonly number[]): number {
  let keep = 1
  for (const s of scores) keep *= 1 - s
  return 1 - keep
}

/** Accumulated risk decayed from `from` to `to` (event time, ms) with the configured half-life. */
export function decayed(score: number, from: number, to: number, halfLifeMinutes: number): number {
  if (to <= from || score === 0) return score
  return score * Math.pow(0.5, (to - from) / (halfLifeMinutes * 60_000))
}

export function levelOf(score01: number, t: Config['risk']['thresholds']): RiskLevel {
  const s = score01 * 100
  if (s >= t.high) return 'high'
  if (s >= t.medium) return 'medium'
  if (s >= t.low) return 'low'
  return 'none'
}

/**
 * Hysteresis: a level is left downwards only when the score falls this many points (0-100) below
 * the level's threshold, so an agent hovering at a threshold does not flap.
 */
export const HYSTERESIS_POINTS = 5

/** The level for `score01` given the current level, with hysteresis on the way down. */
export function nextLevel(current: RiskLevel, score01: number, t: Config['risk']['thresholds']): RiskLevel {
  const raw = levelOf(score01, t)
  if (levelRank(raw) >= levelRank(current)) return raw
  const lowered = levelOf(Math.min(1, score01 + HYSTERESIS_POINTS / 100), t)
  return levelRank(lowered) < levelRank(current) ? raw : current
}

/** Accumulated risk below which an agent's case is over and its explanations are dropped: under 1 point of 100. */
export const SETTLED_SCORE = 0.01

/** Keep the strongest findings that explain the current level. */
export const KEPT_DETECTIONS = 10
export const KEPT_EVENT_IDS = 20

/** The agent's accumulated risk at event time `at`: noisy-OR of each family's decayed strongest finding. */
export function scoreAt(state: RiskState, at: number, halfLifeMinutes: number): number {
  let keep = 1
  // for-in visits the own keys in the order Object.values lists them, without building an array.
  const families = state.families
  for (const family in families) {
    const [score, ts] = families[family]!
    keep *= 1 - decayed(score, ts, at, halfLifeMinutes)
  }
  return 1 - keep
}

/**
 * Fold one event's findings into the agent's risk: per family, the stronger of the decayed old
 * finding and the new one. Explanations keep the strongest distinct findings.
 */
export function absorb(state: RiskState, ts: number, familyScores: ReadonlyMap<string, number>, detections: Detection[], eventId: string, halfLifeMinutes: number): void {
  // A case that has decayed away leaves nothing to explain: its findings no longer weigh in the
  // score, and listing them under the next rise would send an analyst after evidence from days
  // ago. (It also frees the explanations of the many agents at rest.)
  if (state.eventIds.length > 0 && scoreAt(state, ts, halfLifeMinutes) < SETTLED_SCORE) {
    state.detections = []
    state.eventIds = []
  }
  for (const [family, score] of familyScores) {
    const old = state.families[family]
    const current = old ? decayed(old[0], old[1], ts, halfLifeMinutes) : 0
    if (score >= current) state.families[family] = [score, Math.max(ts, old?.[1] ?? 0)]
  }
  state.ts = Math.max(state.ts, ts)
  state.score = scoreAt(state, state.ts, halfLifeMinutes)
  if (detections.length > 0) {
    const byReason = new Map<string, Detection>()
    for (const d of [...detections, ...state.detections]) {
      const key = `${d.detector}\u0000${d.reason}`
      const kept = byReason.get(key)
      if (!kept || d.score > kept.score) byReason.set(key, d)
    }
    state.detections = [...byReason.values()].sort((a, b) => b.score - a.score).slice(0, KEPT_DETECTIONS)
    state.eventIds = [...state.eventIds, eventId].slice(-KEPT_EVENT_IDS)
  }
}

/** One event's score: noisy-OR over families of the strongest finding in each. */
export function familyMaxima(findings: readonly { family: string; score: number }[]): Map<string, number> {
  const out = new Map<string, number>()
  for (const f of findings) if (f.score > (out.get(f.family) ?? 0)) out.set(f.family, f.score)
  return out
}
