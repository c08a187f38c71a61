/**
 * Replay: events in file order through an in-memory pipeline. Deterministic: the same input gives
 * the same risk events (apart from `detectedAt`, the wall clock).
 */
import type { AgentEvent } from '../../schemas/events.ts'
import type { Config } from '../../schemas/config.ts'
import type { RiskEvent } from '../../schemas/risk.ts'
import { Pipeline } from './pipeline.ts'

export function replayEvents(events: Iterable<AgentEvent>, config: Config, pipeline = new Pipeline(config)): RiskEvent[] {
  const out: RiskEvent[] = []
  for (const e of events) pipeline.process(e, {}, out)
  return out
}
