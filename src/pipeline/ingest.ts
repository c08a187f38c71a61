/**
 * The edge: raw messages from any source are decoded and validated once; invalid ones become dead
 * letters with their reason and untouched payload; valid ones go through the pipeline. `process`
 * is synchronous: when it returns, the batch's risk events, actions and dead letters are written to
 * their sinks (which send them on) and the pipeline's state includes the batch. It also records
 * the last offset processed per topic-partition, which a checkpoint snapshots together with the
 * baselines: the positions it may let sources commit once it is durable (see src/service.ts).
 */
import { decodeRaw, type AgentEvent } from '../../schemas/events.ts'
import type { RiskEvent } from '../../schemas/risk.ts'
import type { IngestOutcome, IngestResult } from '../api/deps.ts'
import type { RawMessage, SourcePosition } from '../sources/types.ts'
import type { DeadLetterSink, EventForwarder, ForwardedEvent, RiskSink } from '../sinks/types.ts'
import type { Pipeline, ProcessMeta } from './pipeline.ts'

/** Whether Kafka offset `a` is higher than `b`, both non-negative decimal integers without leading zeros. */
export function isHigherOffset(a: string, b: string): boolean {
  return a.length !== b.length ? a.length > b.length : a > b
}

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
  /** Messages by outcome; `forwarded`: received over HTTP and written to Kafka for their partition's instance. */
  readonly counters = { accepted: 0, duplicates: 0, rejected: 0, forwarded: 0 }

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

  /**
   * Note the highest offset of each topic-partition in `messages`. A batch is mostly one long run
   * of one partition's messages: the highest offset of each run is found by comparing the decimal
   * texts, and only that one is parsed and recorded.
   */
  private notePositions(messages: readonly RawMessage[]): void {
    let i = 0
    while (i < messages.length) {
      const m = messages[i]!
      i++
      if (m.partition === undefined || m.offset === undefined) continue
      let highest = m.offset
      while (i < messages.length && messages[i]!.origin === m.origin && messages[i]!.partition === m.partition && messages[i]!.offset !== undefined) {
        const o = messages[i]!.offset!
        if (isHigherOffset(o, highest)) highest = o
        i++
      }
      const key = `${m.origin}/${m.partition}`
      const offset = BigInt(highest)
      const p = this.positions.get(key)
      if (!p) this.positions.set(key, { origin: m.origin, partition: m.partition, offset })
      else if (offset > p.offset) p.offset = offset
    }
  }

  /** The event in `m`, or undefined after writing `m` to the dead letters and `results` as rejected. */
  private decode(m: RawMessage, index: number, results: IngestOutcome[]): AgentEvent | undefined {
    const decoded = decodeRaw(m.value)
    if (decoded.ok) return decoded.event
    results.push({ index, status: 'rejected', reason: decoded.reason })
    this.deps.deadLetters.write({
      origin: m.origin,
      partition: m.partition,
      offset: m.offset,
      key: m.key,
      receivedAt: Date.now(),
      reason: decoded.reason,
      // Untouched: a payload that is not even UTF-8 reaches the dead-letter topic byte for byte.
      payload: m.value,
    })
    return undefined
  }

  process(messages: RawMessage[]): IngestResult {
    const { pipeline } = this.deps
    const results: IngestOutcome[] = []
    const riskEvents: RiskEvent[] = []
    let accepted = 0
    let duplicates = 0
    let rejected = 0
    // One meta object for the batch, refilled per message: the pipeline reads it during the call only.
    const meta: ProcessMeta = { topic: undefined, partition: undefined, offset: undefined }
    for (let i = 0; i < messages.length; i++) {
      const m = messages[i]
      const e = this.decode(m, i, results)
      if (e === undefined) {
        rejected++
        continue
      }
      meta.topic = m.origin
      meta.partition = m.partition
      meta.offset = m.offset !== undefined ? Number(m.offset) : undefined
      const before = riskEvents.length
      const learnedBefore = pipeline.stats.learned
      const outcome = pipeline.process(e, meta, riskEvents)
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
    this.notePositions(messages)
    this.counters.accepted += accepted
    this.counters.duplicates += duplicates
    this.counters.rejected += rejected
    return { accepted, duplicates, rejected, results, riskEvents }
  }

  /**
   * Validate `messages` and write the valid ones onto their Kafka input topics (see
   * EventForwarder) instead of processing them here; invalid ones go to the dead letters. Resolves
   * once Kafka has acknowledged the valid ones and the dead letters are written: `accepted` then means
   * durably queued for the instance that holds each agent's partition, which dedupes and scores them
   * (their risk events come on the risk topic, not in this answer). Rejects when Kafka does not
   * acknowledge: then none of them counts as accepted, and sending the batch again is safe (a
   * redelivered eventId changes nothing).
   */
  async forward(messages: RawMessage[], to: EventForwarder): Promise<IngestResult> {
    const results: IngestOutcome[] = []
    const valid: ForwardedEvent[] = []
    for (let i = 0; i < messages.length; i++) {
      const e = this.decode(messages[i], i, results)
      if (e === undefined) continue
      valid.push({ kind: e.kind, agentId: e.agent.id, value: messages[i].value })
      results.push({ index: i, status: 'accepted', eventId: e.eventId })
    }
    const rejected = messages.length - valid.length
    await Promise.all([valid.length ? to.forward(valid) : undefined, rejected ? this.deps.deadLetters.flush() : undefined])
    this.counters.forwarded += valid.length
    this.counters.rejected += rejected
    return { accepted: valid.length, duplicates: 0, rejected, results, riskEvents: [], forwarded: true }
  }

  /** Risk events that arise outside ingest (feedback, sweeps) take the same way out. */
  publish(e: RiskEvent): void {
    this.deps.onRisk?.(e)
    this.deps.risk.write(e)
  }
}
