/**
 * Demo mode: a simulated fleet fed into the running service through the same ingest path as HTTP.
 * A week of history goes in at once, then the fleet runs in compressed time (a simulated day per
 * three minutes) with an unfamiliar sign-in and privilege probing in the first simulated minutes,
 * so a new user sees risk events within a minute of `npm start`.
 */
import { liveFleet } from '../sim/live.ts'
import type { Service } from '../service.ts'
import { log } from '../util/log.ts'

/** Events per ingest call, and the longest a partial batch waits. Events, milliseconds. */
const BATCH = 1_000
const MAX_WAIT_MS = 200

export function startDemo(service: Service): { stop(): Promise<void> } {
  const abort = new AbortController()
  const DAY_MS = 86_400_000
  // Event time continues from wall clock a week back, and the seed from the clock, so a restart
  // on the same data folder continues the story instead of replaying old event ids.
  const start = new Date(Math.floor((Date.now() - 7 * DAY_MS) / DAY_MS) * DAY_MS).toISOString()
  const done = (async () => {
    let batch: string[] = []
    let last = Date.now()
    const flush = async () => {
      if (!batch.length) return
      const messages = batch.map((value) => ({ value, origin: 'demo' }))
      batch = []
      last = Date.now()
      await service.deps.ingest(messages)
    }
    for await (const e of liveFleet({
      seed: Date.now() % 2 ** 31,
      start,
      signal: abort.signal,
      onEpisode: (l) => log.info({ scenario: l.scenario, agents: l.agentIds, start: l.start }, 'demo: attack scheduled'),
    })) {
      batch.push(JSON.stringify(e))
      if (batch.length >= BATCH || Date.now() - last >= MAX_WAIT_MS) await flush()
    }
    await flush()
  })().catch((err: unknown) => {
    if (!abort.signal.aborted) log.error({ err }, 'demo feed stopped')
  })
  log.info({ start }, 'demo: feeding a simulated fleet (a week of history, then a simulated day every 3 minutes)')
  return {
    async stop() {
      abort.abort()
      await done
    },
  }
}
