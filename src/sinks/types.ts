/**
 * Sinks receive what the pipeline produces. `write` never blocks the per-event path (it queues; a
 * sink may start sending at once, as the Kafka sinks do); `flush` resolves once everything written
 * before it is durable at the destination, and is what a checkpoint waits for before it writes
 * baselines and lets sources commit.
 */
import type { RiskEvent } from '../../schemas/risk.ts'
import type { EnforcementChange } from '../enforcement/types.ts'

export interface Sink<T> {
  readonly name: string
  write(item: T): void
  flush(): Promise<void>
  close(): Promise<void>
}

export type RiskSink = Sink<RiskEvent>
export type ActionSink = Sink<EnforcementChange>

/** A message that failed decoding or validation, kept with its reason and the payload untouched. */
export interface DeadLetter {
  origin: string
  partition?: number
  offset?: string
  key?: string
  /** Wall clock, epoch ms. */
  receivedAt: number
  reason: string
  /** As received: a Buffer keeps bytes that are not valid UTF-8 exactly. */
  payload: string | Buffer
}
export type DeadLetterSink = Sink<DeadLetter>

/** Fan one stream out to several sinks. */
export function fanOut<T>(name: string, sinks: Sink<T>[]): Sink<T> {
  return {
    name,
    write: (item) => {
      for (const s of sinks) s.write(item)
    },
    flush: async () => {
      await Promise.all(sinks.map((s) => s.flush()))
    },
    close: async () => {
      await Promise.all(sinks.map((s) => s.close()))
    },
  }
}

/** An event received elsewhere (HTTP ingest), validated, for its input topic. */
export interface ForwardedEvent {
  kind: 'signin' | 'tool_call'
  /** The message key: the agent id, as producers key these topics. */
  agentId: string
  /** The event as it was received, untouched. */
  value: string | Buffer
}

/**
 * Writes events onto their input topics (sign-ins or tool calls, by `kind`), keyed by agent id. With
 * Kafka as the source, an event that arrives over HTTP goes this way instead of into this instance's
 * pipeline: the instance holding the agent's partition processes it, in order with the agent's other
 * events, exactly as if the producer had sent it to Kafka.
 */
export interface EventForwarder {
  /** Resolves once Kafka has acknowledged every event (acks=-1); rejects with a retriable error otherwise. */
  forward(events: readonly ForwardedEvent[]): Promise<void>
}
