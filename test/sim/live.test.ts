import { describe, expect, it } from 'vitest'
import { AgentEventSchema } from '../../schemas/events.ts'
import { liveFleet } from '../../src/cli/simulate.ts'
import type { AttackEpisode } from '../../src/sim/labels.ts'

const DAY_MS = 86_400_000
const MINUTE_MS = 60_000

describe('liveFleet', () => {
  it('sends the warm-up at once, then paces simulated time and starts with an attack', async () => {
    let clock = 1_000_000
    let slept = 0
    const episodes: AttackEpisode[] = []
    const stream = liveFleet({
      seed: 3,
      agents: 30,
      warmupDays: 2,
      secondsPerDay: 180,
      now: () => clock,
      sleep: async (ms) => {
        slept += ms
        clock += ms
      },
      onEpisode: (e) => episodes.push(e),
    })
    const liveStart = Date.parse('2026-03-02T00:00:00.000Z') + 2 * DAY_MS
    let warmup = 0
    let attackEvents = 0
    let previous = -Infinity
    for await (const e of stream) {
      expect(AgentEventSchema.safeParse(e).success).toBe(true)
      const t = Date.parse(e.time)
      expect(t).toBeGreaterThanOrEqual(previous)
      previous = t
      if (t < liveStart) {
        warmup++
        expect(slept).toBe(0)
      }
      if (episodes.some((ep) => ep.eventIds.includes(e.eventId))) attackEvents++
      if (t >= liveStart + 30 * MINUTE_MS) break
    }
    expect(warmup).toBeGreaterThan(1_000)
    expect(episodes.length).toBeGreaterThanOrEqual(1)
    expect(Date.parse(episodes[0].start) - liveStart).toBeLessThan(10 * MINUTE_MS)
    expect(attackEvents).toBeGreaterThan(0)
    // 180 s of wall time per simulated day: the clock has advanced to the last event's due time.
    const expected = ((previous - liveStart) / DAY_MS) * 180_000
    expect(previous - liveStart).toBeGreaterThanOrEqual(30 * MINUTE_MS)
    expect(Math.abs(slept - expected)).toBeLessThan(50)
  })

  it('stops when aborted', async () => {
    const controller = new AbortController()
    let n = 0
    for await (const _ of liveFleet({ seed: 1, agents: 10, warmupDays: 1, signal: controller.signal, sleep: async () => {} })) {
      if (++n === 100) controller.abort()
    }
    expect(n).toBeLessThan(2_200)
  })
})
