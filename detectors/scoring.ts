/**
 * Scoring helpers shared by detectors, so that the same kind of evidence maps to the same score in
 * every detector (one detector's 0.9 should mean as much as another's).
 */
import { clamp01 } from './types.ts'

/**
 * What is left of a finding when a fraction `adoption` (0-1) of the blueprint's agents already does
 * the same thing: 1 when no peer does it, 0 at `quiet` and above. Squared so that a thing only one
 * or two peers do still counts as mostly unusual.
 */
export function peerDiscount(adoption: number, quiet: number): number {
  if (adoption <= 0) return 1
  if (quiet <= 0) return 0
  const r = adoption / quiet
  return r >= 1 ? 0 : 1 - r * r
}

/**
 * Maps an excess measured in doublings (log2 units above what is normal) to [0, 1): 0 at no excess,
 * 0.5 at `half` doublings, approaching 1. Each further `half` doublings halves the remaining doubt.
 */
export function fromDoublings(excess: number, half: number): number {
  return excess <= 0 ? 0 : 1 - Math.pow(2, -excess / half)
}

/** Noisy-OR of independent pieces of evidence, each in [0, 1]. */
export function anyOf(scores: readonly number[]): number {
  return clamp01(1 - scores.reduce((p, s) => p * (1 - clamp01(s)), 1))
}

/** How much an operation can change or expose, 0-1: a new admin or delete matters more than a new read. */
export const OPERATION_RISK = { read: 0, write: 0.3, execute: 0.5, delete: 0.7, admin: 1 } as const

const POW10 = [1, 10, 100, 1000, 10_000, 100_000, 1_000_000]

/**
 * `x` rounded to `digits` decimals, exactly as `Number(x.toFixed(digits))` (half away from zero on
 * the exact value of x), without building a string: `Math.round(x * 10^d) / 10^d` agrees with it
 * except when x * 10^d lands within rounding error of a half, where toFixed decides.
 */
export function round(x: number, digits = 3): number {
  const p = POW10[digits]
  if (p === undefined) return Number(x.toFixed(digits))
  // toFixed writes -0 as "0".
  if (x === 0) return 0
  const r = x * p
  const f = r - Math.floor(r)
  if (!(f < 0.499999 || f > 0.500001) || !(r < 1e9 && r > -1e9)) return Number(x.toFixed(digits))
  return Math.round(r) / p
}

/**
 * Distinct agents doing something in the window that is open now, tallied in the blueprint state.
 * `peer` is `[windowStart, agents]`; the agent's own state remembers the window it was last counted
 * in, so each agent counts once per window. Returns the agent's new mark.
 */
export function tallyAgent(peer: [number, number], ownMark: number, ts: number, windowMs: number): number {
  const start = Math.floor(ts / windowMs) * windowMs
  if (start > peer[0]) {
    peer[0] = start
    peer[1] = 0
  }
  if (start === peer[0] && ownMark !== start) {
    peer[1] += 1
    return start
  }
  return ownMark
}

/**
 * tallyAgent into the tally (`tallyOf`) of each state of `peers` (the view first) with the agent's
 * mark as it was before this event, so that every partial counts the agent exactly when the view
 * does. Returns the mark the view's tally gives; `ownMark` when there is none.
 */
export function tallyAgentIn<S>(peers: readonly S[], tallyOf: (s: S) => [number, number], ownMark: number, ts: number, windowMs: number): number {
  let mark = ownMark
  for (let i = 0; i < peers.length; i++) {
    const m = tallyAgent(tallyOf(peers[i]!), ownMark, ts, windowMs)
    if (i === 0) mark = m
  }
  return mark
}

/**
 * Fold the tally `from` into `into`, both `[windowStart, agents]` of disjoint agents: in the same
 * window the agents add; otherwise the newer window is the one open now and the older is over.
 * Either may be absent (a state that never tallied anyone); returns the merged tally.
 */
export function mergeTally(into: [number, number] | undefined, from: readonly [number, number] | undefined): [number, number] | undefined {
  if (!from) return into
  if (!into) return [from[0], from[1]]
  if (from[0] > into[0]) {
    into[0] = from[0]
    into[1] = from[1]
  } else if (from[0] === into[0]) into[1] += from[1]
  return into
}

/** Other agents (not this one) tallied in the window containing `ts`; 0 without a tally. */
export function othersNow(peer: readonly [number, number] | undefined, ownMark: number, ts: number, windowMs: number): number {
  const start = Math.floor(ts / windowMs) * windowMs
  if (!peer || peer[0] !== start) return 0
  return Math.max(0, peer[1] - (ownMark === start ? 1 : 0))
}

/** log2(1 + x) of a volume (records, bytes, calls), 0 for none or less: doublings above nothing. */
export const log2p = (x: number): number => Math.log2(1 + Math.max(0, x))

/**
 * A fixed-size histogram on a log2 scale: bucket i holds values x with log2(1 + x) in
 * [i * step, (i + 1) * step). Heavy tails land in a few buckets instead of dragging a mean.
 */
export function logBucket(x: number, step: number, buckets: number): number {
  return Math.min(buckets - 1, Math.max(0, Math.floor(Math.log2(1 + Math.max(0, x)) / step)))
}

export function addToLogHistogram(h: number[], x: number, step: number): void {
  h[logBucket(x, step, h.length)] += 1
}

/** Upper edge, in log2(1 + x) units, of the bucket holding quantile q (0-1); -1 when empty. */
export function logHistogramQuantile(h: ArrayLike<number>, q: number, step: number): number {
  let total = 0
  for (let i = 0; i < h.length; i++) total += h[i]!
  if (total === 0) return -1
  const target = q * total
  let seen = 0
  for (let i = 0; i < h.length; i++) {
    seen += h[i]
    if (seen >= target && h[i] > 0) return (i + 1) * step
  }
  return h.length * step
}

export const histogramTotal = (h: readonly number[]): number => h.reduce((a, b) => a + b, 0)

/** The k-th smallest (0-based) of a[0..n), in O(n) on average without sorting; reorders a[0..n). */
export function selectKth(a: Int32Array, n: number, k: number): number {
  let lo = 0
  let hi = n - 1
  while (lo < hi) {
    const pivot = a[(lo + hi) >> 1]!
    let i = lo
    let j = hi
    while (i <= j) {
      while (a[i]! < pivot) i++
      while (a[j]! > pivot) j--
      if (i <= j) {
        const t = a[i]!
        a[i] = a[j]!
        a[j] = t
        i++
        j--
      }
    }
    if (k <= j) hi = j
    else if (k >= i) lo = i
    else return a[k]!
  }
  return a[k]!
}
