/**
 * A source delivers raw messages (one JSON event each) in batches. It hands a batch to the
 * pipeline's handler and acknowledges (commits) it only after the handler resolves, which happens
 * once the batch's effects are durable. Partition ownership is announced so the pipeline can
 * restore baselines on assignment and checkpoint them on revocation.
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

export interface SourceHandlers {
  /** Resolves once the batch's effects are durable; only then may the source commit. */
  onBatch(messages: RawMessage[]): Promise<void>
  /** Partitions this instance now owns; the pipeline restores their agents before their events flow. */
  onAssigned?(partitions: number[]): Promise<void>
  /** Partitions taken away; the pipeline checkpoints their agents. */
  onRevoked?(partitions: number[]): Promise<void>
}

export interface Source {
  readonly name: string
  start(handlers: SourceHandlers): Promise<void>
  stop(): Promise<void>
}
