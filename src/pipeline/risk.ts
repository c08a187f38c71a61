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

/** Keep the strongest findings that explain the current level. */
export const KEPT_DETECTIONS = 10
export const KEPT_EVENT_IDS = 20

export function absorb(state: RiskState, ts: number, eventScore: number, detections: Detection[], eventId: string, halfLifeMinutes: number): void {
  const base = decayed(state.score, state.ts, ts, halfLifeMinutes)
  state.score = 1 - (1 - base) * (1 - eventScore)
  state.ts = Math.max(state.ts, ts)
  if (detections.length > 0) {
    state.detections = [...detections, ...state.detections].sort((a, b) => b.score - a.score).slice(0, KEPT_DETECTIONS)
    state.eventIds = [...state.eventIds, eventId].slice(-KEPT_EVENT_IDS)
  }
}
