/**
 * The edge: raw messages from any source are decoded and validated once; invalid ones become dead
 * letters with their reason and untouched payload; valid ones go through the pipeline. `process`
 * is synchronous: when it returns, the batch's risk events, actions and dead letters are written to
 * their sinks (which send them on) and the pipeline's state includes the batch. It also records
 * the last offset processed per topic-partition, which a checkpoint snapshots together with the
 * baselines: the positions it may let sources commit once it is durable (see src/service.ts).
 */
import { decodeRaw } from '../../schemas/events.ts'
import type { RiskEvent } from '../../schemas/risk.ts'
import type { IngestOutcome, IngestResult } from '../api/deps.ts'
import type { RawMessage, SourcePosition } from '../sources/types.ts'
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
}

export class Ingestor {
  readonly counters = { accepted: 0, duplicates: 0, rejected: 0 }

  /** Last offset processed per `origin/partition`. */
  private readonly positions = new Map<string, SourcePosition>()

  constructor(private readonly deps: IngestDeps) {}

  /** The last offset processed on every topic-partition seen, as of now (a copy). */
  processedPositions(): SourcePosition[] {
    return [...this.positions.values()].map((p) => ({ ...p }))
  }

  /** Forget the positions of these partition numbers (revoked: another instance owns them now). */
  forgetPartitions(partitions: readonly number[]): void {
    const gone = new Set(partitions)
    for (const [key, p] of this.positions) if (gone.has(p.partition)) this.positions.delete(key)
  }

  private notePosition(m: RawMessage): void {
    if (m.partition === undefined || m.offset === undefined) return
    const key = `${m.origin}/${m.partition}`
    const offset = BigInt(m.offset)
    const p = this.positions.get(key)
    if (!p) this.positions.set(key, { origin: m.origin, partition: m.partition, offset })
    else if (offset > p.offset) p.offset = offset
  }

  process(messages: RawMessage[]): IngestResult {
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
    // Only once the whole batch went through: a batch that throws half way is delivered again.
    for (const m of messages) this.notePosition(m)
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
