/**
 * A source delivers raw messages (one JSON event each) in batches. Two steps are kept apart:
 *
 * - **processed**: `onBatch` resolves once the batch went through the pipeline, its risk events,
 *   actions and dead letters are decided and queued (risk events are already on their way out).
 *   The source may fetch on, but must not acknowledge (commit) anything on this alone.
 * - **durable**: the service checkpoints on a cadence (outputs flushed, then baselines, see
 *   `src/service.ts`) and then calls `acknowledge` with the positions that checkpoint covers; only
 *   up to those may the source commit. A crash in between redelivers, and the pipeline drops what
 *   its restored state has already applied.
 *
 * Partition ownership is announced so the pipeline can restore baselines on assignment and
 * checkpoint them on revocation.
 */
export interface RawMessage {
  /** The message body, untouched: one JSON event. */
  value: Buffer | string
  /** Where it came from, for dead letters and logs (topic, file name, "http"). */
  origin: string
  partition?: number
  offset?: string
  key?: string
}

/** The last message processed on one topic-partition (inclusive). */
export interface SourcePosition {
  origin: string
  partition: number
  offset: bigint
}

export interface SourceHandlers {
  /**
   * Process the batch. Resolves once it is processed, not once it is durable (see `acknowledge`);
   * it may resolve late when the service applies backpressure (outputs or ClickHouse lagging), which
   * holds the partition's consumption meanwhile. A rejection means "deliver the batch again".
   */
  onBatch(messages: RawMessage[]): Promise<void>
  /** Partitions this instance now owns; the pipeline restores their agents before their events flow. */
  onAssigned?(partitions: number[]): Promise<void>
  /**
   * Partitions taken away (or all of them at stop); the pipeline checkpoints their agents, which
   * acknowledges what is durable while the source may still commit, then drops them.
   */
  onRevoked?(partitions: number[]): Promise<void>
}

export interface Source {
  readonly name: string
  start(handlers: SourceHandlers): Promise<void>
  /**
   * Everything processed up to and including these positions is durable: the source may commit
   * it. Positions of other sources, or of partitions the source no longer owns, are ignored. A
   * failed commit is not an error for the caller: the messages are only delivered again.
   */
  acknowledge?(positions: readonly SourcePosition[]): Promise<void>
  stop(): Promise<void>
}
