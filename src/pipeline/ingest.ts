/**
 * The edge: raw messages from any source are decoded and validated once; invalid ones become dead
 * letters with their reason and untouched payload; valid ones go through the pipeline. A batch is
 * acknowledged (the returned promise resolves) only once its effects are durable: events, dead
 * letters, risk events and baseline checkpoints flushed to every sink.
 */
import { decodeRaw } from '../../schemas/events.ts'
import type { RiskEvent } from '../../schemas/risk.ts'
import type { IngestOutcome, IngestResult } from '../api/deps.ts'
import type { RawMessage } from '../sources/types.ts'
import type { DeadLetterSink, RiskSink } from '../sinks/types.ts'
import type { Pipeline } from './pipeline.ts'

export interface IngestDeps {
  pipeline: Pipeline
  deadLetters: DeadLetterSink
  risk: RiskSink
  /** Called for every risk event before it is published, e.g. to apply the policy's action. */
  onRisk?: (e: RiskEvent) => void
  /** Record a processed event (raw event table); `learned` says whether it entered the baseline. */
  recordEvent?: (e: import('../../schemas/events.ts').AgentEvent, riskScore: number, learned: boolean) => void
  /** Make every queued effect durable (checkpoint baselines, flush tables and topics). */
  commit(): Promise<void>
}

export class Ingestor {
  readonly counters = { accepted: 0, duplicates: 0, rejected: 0 }

  constructor(private readonly deps: IngestDeps) {}

  async ingest(messages: RawMessage[]): Promise<IngestResult> {
    const { pipeline, deadLetters } = this.deps
    const results: IngestOutcome[] = []
    const riskEvents: RiskEvent[] = []
    let accepted = 0
    let duplicates = 0
    let rejected = 0
    for (let i = 0; i < messages.length; i++) {
      const m = messages[i]
      const decoded = decodeRaw(m.value)
      if (!decoded.ok) {
        rejected++
        results.push({ index: i, status: 'rejected', reason: decoded.reason })
        deadLetters.write({
          origin: m.origin,
          partition: m.partition,
          offset: m.offset,
          key: m.key,
          receivedAt: Date.now(),
          reason: decoded.reason,
          // Untouched: a payload that is not even UTF-8 reaches the dead-letter topic byte for byte.
          payload: m.value,
        })
        continue
      }
      const e = decoded.event
      const offset = m.offset !== undefined ? Number(m.offset) : undefined
      const before = riskEvents.length
      const learnedBefore = pipeline.stats.learned
      const outcome = pipeline.process(e, { topic: m.origin, partition: m.partition, offset }, riskEvents)
      if (outcome === 'duplicate') {
        duplicates++
        results.push({ index: i, status: 'duplicate', eventId: e.eventId })
        continue
      }
      accepted++
      results.push({ index: i, status: 'accepted', eventId: e.eventId })
      const agent = pipeline.baselines.agents.get(e.agent.id)
      this.deps.recordEvent?.(e, agent ? Math.round(agent.risk.score * 100) : 0, pipeline.stats.learned > learnedBefore)
      for (let k = before; k < riskEvents.length; k++) this.publish(riskEvents[k])
    }
    await this.deps.commit()
    this.counters.accepted += accepted
    this.counters.duplicates += duplicates
    this.counters.rejected += rejected
    return { accepted, duplicates, rejected, results, riskEvents }
  }

  /** Risk events that arise outside ingest (feedback, sweeps) take the same way out. */
  publish(e: RiskEvent): void {
    this.deps.onRisk?.(e)
    this.deps.risk.write(e)
  }
}
