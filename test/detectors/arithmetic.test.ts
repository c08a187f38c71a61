/**
 * The arithmetic helpers agree exactly with the definitions they replace: `Number(x.toFixed(d))`
 * and the hour of the week read from a `Date`; volume's median kept across hours is the one computed
 * afresh, and so is its usual excess.
 */
import { expect, it } from 'vitest'
import { round, selectKth } from '../../detectors/scoring.ts'
import { hourOfWeek } from '../../detectors/types.ts'
import { activeMedian, computeActiveMedian, usualExcess, usualExcessOf, volume } from '../../detectors/volume.ts'
import { DetectorHarness } from '../../detectors/fixtures/harness.ts'
import { DAY, HOUR, T0, toolCall } from '../../detectors/fixtures/kit.ts'
it('round agrees with Number(x.toFixed(d)), halves included', () => {
  let s = 1
  const r = () => ((s = (s * 16807) % 2147483647) / 2147483647)
  for (let i = 0; i < 300_000; i++) {
    const d = i % 4
    const scale = [1, 10, 1000, 1e6, 1e-3][i % 5]
    let x = (r() - 0.3) * scale
    if (i % 7 === 0) x = Math.round(x * 10 ** d * 2) / 2 / 10 ** d // near-halves
    if (i % 11 === 0) x = (Math.floor(r() * 2000) + 0.5) / 10 ** (d + 1)
    expect(round(x, d)).toBe(Number(x.toFixed(d)))
  }
  for (const x of [0, -0, 0.0005, -0.0005, 1.0005, 2.5, -2.5, 1e12, NaN, Infinity, -Infinity, 1.005, 8.345, 0.125, -0.125]) for (const d of [0, 1, 2, 3, 4]) expect(Object.is(round(x, d), Number(x.toFixed(d)))).toBe(true)
})
it('hourOfWeek agrees with the Date-based hour of the week, before and after 1970', () => {
  const ref = (ts: number) => { const d = new Date(ts); return ((d.getUTCDay() + 6) % 7) * 24 + d.getUTCHours() }
  for (let ts = -5e12; ts < 5e12; ts += 1_234_567_891) expect(hourOfWeek(ts)).toBe(ref(ts))
  for (let i = 0; i < 100000; i++) { const ts = Date.UTC(2026, 0, 1) + i * 1_799_999; expect(hourOfWeek(ts)).toBe(ref(ts)) }
})

it('selectKth gives the element a sort puts at index k, duplicates and every k included', () => {
  let seed = 7
  const r = () => ((seed = (seed * 16807) % 2147483647) / 2147483647)
  for (let trial = 0; trial < 2_000; trial++) {
    const n = 1 + Math.floor(r() * 168)
    // Few distinct values in some trials (many ties), many in others.
    const range = trial % 3 === 0 ? 4 : 65_536
    const values = Array.from({ length: n }, () => Math.floor(r() * range))
    const sorted = [...values].sort((a, b) => a - b)
    const k = trial % 5 === 0 ? n - 1 : trial % 7 === 0 ? 0 : Math.floor(r() * n)
    const a = new Int32Array(168)
    a.set(values)
    expect(selectKth(a, n, k)).toBe(sorted[k])
  }
})

it("volume's kept median of the active hour slots and usual excess are the ones computed afresh, over hours, gaps and weeks", () => {
  // An agent and its blueprint learn two months of calls at random hours, some weeks busy and some
  // silent (slots entering and leaving the active set), the volumes drifting (slots crossing the median).
  // Every seventh call follows a restore, whose states start with nothing kept.
  let seed = 11
  const r = () => ((seed = (seed * 16807) % 2147483647) / 2147483647)
  const h = new DetectorHarness(volume)
  let ts = T0
  let checks = 0
  let kept = 0
  let calls = 0
  while (ts < T0 + 60 * DAY) {
    if (++calls % 7 === 0) h.roundTrip()
    const week = Math.floor((ts - T0) / (7 * DAY))
    ts += week % 3 === 2 ? Math.floor(r() * 30 * HOUR) : Math.floor(r() * 3 * HOUR)
    const scale = week % 2 === 0 ? 1 : 50
    h.learn(toolCall(ts, { records: Math.floor(r() * 100 * scale), bytes: Math.floor(r() * 1e5 * scale) }))
    for (const book of [h.agents.get('agent-fx')!, h.blueprints.get('bp-fx')!]) {
      const state = book.state as Parameters<typeof activeMedian>[0]
      for (let m = 0; m < 3; m++) {
        const fresh = computeActiveMedian(state, m)
        if (activeMedian(state, m) === fresh) kept++
        checks++
      }
      if (usualExcessOf(state) === usualExcess(state.excess)) kept++
      checks++
    }
  }
  expect(checks).toBeGreaterThan(2_000)
  expect(kept).toBe(checks)
})
