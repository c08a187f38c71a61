/**
 * When checkpoints start: once a burst is over and the stream stays quiet, not at the next
 * interval; a trickle, or the service being busy, leaves them to the interval.
 */
import { afterEach, beforeEach, expect, it, vi } from 'vitest'
import { Checkpointer } from '../../src/store/checkpointer.ts'

beforeEach(() => vi.useFakeTimers())
afterEach(() => vi.useRealTimers())

function checkpointer(runs: number[]) {
  return new Checkpointer({
    intervalMs: 1000,
    events: 20_000,
    idleMs: 100,
    idleEvents: 1000,
    maxPendingEvents: 100_000,
    run: async () => void runs.push(Date.now()),
  })
}

/** Batches of `events` every 10 ms for `ms`. */
async function stream(c: Checkpointer, events: number, ms: number) {
  for (let t = 0; t < ms; t += 10) {
    c.noteProcessed(events)
    await vi.advanceTimersByTimeAsync(10)
  }
}

it('starts a checkpoint once a burst is over and the stream stays quiet', async () => {
  const runs: number[] = []
  const c = checkpointer(runs)
  const t0 = Date.now()
  // 15,000 events in 300 ms: fewer than the 20,000 that start one.
  await stream(c, 500, 300)
  expect(runs).toEqual([])
  await vi.advanceTimersByTimeAsync(100)
  expect(runs).toHaveLength(1)
  expect(runs[0]! - t0).toBeLessThan(500)
  expect(c.pendingEvents).toBe(0)
  // And again after the next burst.
  await stream(c, 500, 100)
  await vi.advanceTimersByTimeAsync(100)
  expect(runs).toHaveLength(2)
  await c.stop()
})

it('leaves a trickle below idleEvents to the interval', async () => {
  const runs: number[] = []
  const c = checkpointer(runs)
  const t0 = Date.now()
  c.noteProcessed(10)
  await vi.advanceTimersByTimeAsync(500)
  expect(runs).toEqual([])
  await vi.advanceTimersByTimeAsync(600)
  expect(runs.map((t) => t - t0)).toEqual([1000])
  await c.stop()
})

it('takes no pause of a busy service for a quiet stream', async () => {
  const runs: number[] = []
  const c = checkpointer(runs)
  const t0 = Date.now()
  await stream(c, 100, 200)
  // The event loop blocked for 300 ms: the clock moves, no timer runs until it is free again,
  // and then the idle timer fires late, with batches waiting behind it.
  vi.setSystemTime(Date.now() + 300)
  await vi.advanceTimersByTimeAsync(100)
  await stream(c, 300, 200)
  expect(runs).toEqual([])
  // Quiet for real now.
  await vi.advanceTimersByTimeAsync(100)
  expect(runs).toHaveLength(1)
  expect(runs[0]! - t0).toBeLessThan(1000)
  await c.stop()
})
