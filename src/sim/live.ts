/**
 * A live simulated fleet for demos: a week of history delivered at once (so baselines exist), then
 * the fleet runs in compressed time, by default one simulated day every three minutes, with an
 * attack a few simulated minutes in so that risk appears within seconds of the history being
 * absorbed, and a few more attacks every simulated day.
 */
import { setTimeout as delay } from 'node:timers/promises'
import type { AgentEventInput } from '../../schemas/events.ts'
import { AttackPlanner, type Episode } from './attacks.ts'
import { byTime, type SimEvent } from './events.ts'
import { buildPlan, DAY_MS, MINUTE_MS, type FleetPlan } from './fleet.ts'
import { normalDay } from './generate.ts'
import { SCENARIOS, type AttackEpisode, type Scenario } from './labels.ts'
import { hashSeed, Rng } from './random.ts'

export interface LiveFleetOptions {
  seed?: number
  /** Agents in the initial fleet. Default 60. */
  agents?: number
  /** Days of history sent without pacing before the live part starts. Default 7. */
  warmupDays?: number
  /** Wall-clock seconds one simulated day takes once live. Default 180. */
  secondsPerDay?: number
  /** Simulated days after the warm-up; default: until aborted (up to ten years). */
  liveDays?: number
  /** Episodes started per simulated live day, besides the two leading ones. Default 3. */
  attacksPerDay?: number
  start?: string
  signal?: AbortSignal
  /** Called when an episode is scheduled, before its first event is yielded. */
  onEpisode?: (label: AttackEpisode) => void
  /** Injectable clock and sleep (tests). Milliseconds. */
  now?: () => number
  sleep?: (ms: number, signal?: AbortSignal) => Promise<void>
}

/** Events yielded between two yields to the event loop during the warm-up, so a consumer stays responsive. */
const WARMUP_BATCH = 2_000
/** Pacing sleeps shorter than this are skipped and caught up on the next event. Milliseconds. */
const MIN_SLEEP_MS = 5

const defaultSleep = (ms: number, signal?: AbortSignal): Promise<void> =>
  delay(ms, undefined, { signal }).catch(() => undefined)

/** The scenarios that lead the live part: both show up within minutes of simulated time. */
const LEAD: readonly [Scenario, number][] = [
  ['unfamiliar_signin', 2],
  ['privilege_probing', 6],
]

export async function* liveFleet(opts: LiveFleetOptions = {}): AsyncGenerator<AgentEventInput> {
  const seed = opts.seed ?? 1
  const warmupDays = opts.warmupDays ?? 7
  const secondsPerDay = opts.secondsPerDay ?? 180
  const liveDays = opts.liveDays ?? 3650
  const attacksPerDay = opts.attacksPerDay ?? 3
  const now = opts.now ?? Date.now
  const sleep = opts.sleep ?? defaultSleep
  const plan: FleetPlan = buildPlan({ seed, agents: opts.agents ?? 60, days: warmupDays + liveDays, start: opts.start })
  const planner = new AttackPlanner(plan)
  const rng = new Rng(hashSeed(seed, 'live'))
  const liveStart = plan.start + warmupDays * DAY_MS
  let carry: SimEvent[] = []

  const schedule = (episode: Episode | undefined) => {
    if (!episode) return
    opts.onEpisode?.(episode.label)
    for (const e of episode.events) carry.push(e)
  }

  let wallStart = 0
  for (let day = 0; day < plan.days; day++) {
    if (opts.signal?.aborted) return
    const dayStart = plan.start + day * DAY_MS
    if (day === warmupDays) {
      for (const [scenario, minutes] of LEAD) schedule(planner.plan(scenario, liveStart + minutes * MINUTE_MS, liveStart + (minutes + 1) * MINUTE_MS))
    }
    if (day > warmupDays) {
      for (let i = 0; i < attacksPerDay; i++) {
        const scenario = rng.pick(SCENARIOS)
        // A slow drift needs several days to unfold.
        const window = scenario === 'slow_drift_restricted' ? 4 * DAY_MS : DAY_MS
        schedule(planner.plan(scenario, dayStart, dayStart + window))
      }
    }
    const events = carry.concat(normalDay(plan, day)).sort(byTime)
    const dayEnd = dayStart + DAY_MS
    const cut = events.findIndex((e) => e.ts >= dayEnd)
    carry = cut < 0 ? [] : events.slice(cut)
    const due = cut < 0 ? events : events.slice(0, cut)

    if (day < warmupDays) {
      for (let i = 0; i < due.length; i++) {
        yield due[i].event
        if (i % WARMUP_BATCH === WARMUP_BATCH - 1) {
          await new Promise<void>((resolve) => setImmediate(resolve))
          if (opts.signal?.aborted) return
        }
      }
      continue
    }
    if (!wallStart) wallStart = now()
    for (const e of due) {
      const dueAt = wallStart + ((e.ts - liveStart) / DAY_MS) * secondsPerDay * 1000
      const wait = dueAt - now()
      if (wait > MIN_SLEEP_MS) await sleep(wait, opts.signal)
      if (opts.signal?.aborted) return
      yield e.event
    }
  }
}
