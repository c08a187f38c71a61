/**
 * Kafka sinks: risk events, enforcement changes and dead letters; and events received over HTTP,
 * forwarded onto their input topics.
 *
 * `write` queues and starts a send on the next turn of the event loop: a risk event goes out as
 * soon as it is decided, not with the next checkpoint. One send is in flight per topic; what is
 * written meanwhile goes out together in the next one. `flush` resolves once everything written
 * before it is acknowledged (acks=-1, all in-sync replicas); a checkpoint awaits it before it writes
 * baselines and commits offsets. Sends are retried with backoff; if they still fail the messages
 * go back to the head of the queue (nothing is dropped, order is kept), a send is tried again
 * after `retryMs`, and `flush` rejects with a retriable error, so the checkpoint fails and offsets
 * stay where they are. Delivery is at least once: consumers of these topics drop duplicates by the
 * `riskEventId` / `changeId` header.
 *
 * All sinks built from one `KafkaProducerClient` share a single producer connection.
 */
import { Partitioners, type IHeaders, type Kafka, type Message, type Producer } from 'kafkajs'
import type { Config } from '../../schemas/config.ts'
import type { RiskEvent } from '../../schemas/risk.ts'
import type { EnforcementChange } from '../enforcement/types.ts'
import { RetriableError, describeError } from '../util/errors.ts'
import { createKafkaClient } from '../util/kafka.ts'
import { log as baseLog, type Logger } from '../util/log.ts'
import { retry, type BackoffOptions } from '../util/retry.ts'
import type { ActionSink, DeadLetter, DeadLetterSink, EventForwarder, RiskSink, Sink } from './types.ts'

export interface KafkaProducerOptions {
  /** Overrides config brokers and KAFKA_BROKERS. */
  brokers?: string[]
  logger?: Logger
  kafka?: Kafka
  /** Send attempts per flush before it rejects. Default 5. */
  attempts?: number
  /** Backoff between send attempts. Default 100 ms doubling up to 5 s. */
  backoff?: BackoffOptions
  /** How long the broker may take to acknowledge a send. Milliseconds. Default 30 000. */
  ackTimeoutMs?: number
  /** After a send failed all its attempts, the next background send waits this long. Milliseconds. Default 1000. */
  retryMs?: number
}

/** One producer, connected once on first use, shared by the sinks built from it. */
export class KafkaProducerClient {
  readonly producer: Producer
  readonly log: Logger
  readonly opts: KafkaProducerOptions
  private connecting: Promise<void> | undefined
  private users = 0
  private closed = false

  constructor(config: Config['kafka'], opts: KafkaProducerOptions = {}) {
    this.opts = opts
    this.log = (opts.logger ?? baseLog).child({ component: 'kafka-sink' })
    const kafka = opts.kafka ?? createKafkaClient(config, { brokers: opts.brokers, logger: opts.logger })
    this.producer = kafka.producer({
      // Java-compatible murmur2 on the key: an agent lands on the same partition number as with
      // any other client, and on every topic with the same partition count.
      createPartitioner: Partitioners.DefaultPartitioner,
      allowAutoTopicCreation: false,
      // kafkajs retries a whole produce request when one of its partitions fails (typically a
      // leader that just moved), which without idempotence writes the other partitions' messages
      // twice. With it the broker drops those repeats by sequence number. Only a send this sink
      // retries itself, after kafkajs gave up, can still repeat a message (dedupe by riskEventId).
      idempotent: true,
      // One request in flight per broker (required for idempotence in kafkajs): a retried request
      // cannot overtake a later one, so the events of one agent stay in order.
      maxInFlightRequests: 1,
    })
  }

  /** Connects on the first call; later calls share the same connection. */
  connect(): Promise<void> {
    if (this.closed) return Promise.reject(new RetriableError('Kafka producer is closed'))
    this.connecting ??= this.producer.connect().catch((err) => {
      this.connecting = undefined // the next flush tries again
      throw new RetriableError(`Kafka producer could not connect: ${describeError(err)}`, err)
    })
    return this.connecting
  }

  async send(topic: string, messages: Message[]): Promise<void> {
    await retry(
      async () => {
        await this.connect()
        await this.producer.send({ topic, messages, acks: -1, timeout: this.opts.ackTimeoutMs ?? 30_000 })
      },
      {
        attempts: this.opts.attempts ?? 5,
        baseMs: 100,
        maxMs: 5000,
        ...this.opts.backoff,
        // A failed send is retried whatever kafkajs says: the sink must not lose messages.
        retryAll: true,
        onRetry: (attempt, err, delayMs) =>
          this.log.warn({ topic, count: messages.length, attempt, delayMs, err: describeError(err) }, 'send failed; retrying'),
      },
    )
  }

  acquire(): void {
    this.users++
  }

  async release(): Promise<void> {
    if (--this.users > 0 || this.closed) return
    this.closed = true
    if (this.connecting) await this.producer.disconnect().catch(() => undefined)
  }
}

/** A queue in front of one topic. */
class KafkaTopicSink<T> implements Sink<T> {
  private queue: Message[] = []
  private flushing: Promise<void> = Promise.resolve()
  /** A background send is scheduled (next turn, or after a failure's retry delay). */
  private scheduled: NodeJS.Immediate | NodeJS.Timeout | undefined
  private closed = false

  constructor(
    readonly name: string,
    private readonly client: KafkaProducerClient,
    readonly topic: string,
    private readonly encode: (item: T) => Message,
  ) {
    client.acquire()
  }

  write(item: T): void {
    this.queue.push(this.encode(item))
    if (!this.scheduled && !this.closed) this.scheduled = setImmediate(() => this.sendInBackground())
  }

  private sendInBackground(): void {
    this.scheduled = undefined
    this.flush().catch((err) => {
      this.client.log.warn({ topic: this.topic, pending: this.queue.length, err: describeError(err) }, 'background send failed; trying again later')
      if (!this.scheduled && !this.closed) {
        this.scheduled = setTimeout(() => this.sendInBackground(), this.client.opts.retryMs ?? 1000)
        this.scheduled.unref()
      }
    })
  }

  /** Flushes run one after another, so each resolves only when everything written before it is sent. */
  flush(): Promise<void> {
    const run = this.flushing.then(() => this.sendQueued())
    this.flushing = run.catch(() => undefined)
    return run
  }

  private async sendQueued(): Promise<void> {
    if (this.queue.length === 0) return
    const batch = this.queue
    this.queue = []
    try {
      await this.client.send(this.topic, batch)
    } catch (err) {
      this.queue = batch.concat(this.queue)
      throw new RetriableError(`${this.name}: ${batch.length} messages not acknowledged by Kafka topic ${this.topic}`, err, 'KAFKA_SEND')
    }
  }

  /** Messages written but not yet acknowledged. */
  pending(): number {
    return this.queue.length
  }

  async close(): Promise<void> {
    this.closed = true
    if (this.scheduled) {
      clearTimeout(this.scheduled as NodeJS.Timeout)
      clearImmediate(this.scheduled as NodeJS.Immediate)
      this.scheduled = undefined
    }
    try {
      await this.flush()
    } finally {
      await this.client.release()
    }
  }
}

function headers(fields: Record<string, string | number | undefined>): IHeaders {
  const out: IHeaders = {}
  for (const [k, v] of Object.entries(fields)) if (v !== undefined) out[k] = String(v)
  return out
}

/** Risk events on `agent.risk`: key = agent id, value = the risk event as JSON, header riskEventId. */
export function kafkaRiskSink(client: KafkaProducerClient, topic: string): RiskSink {
  return new KafkaTopicSink<RiskEvent>('kafka-risk', client, topic, (e) => ({
    key: e.agentId,
    value: JSON.stringify(e),
    headers: headers({ riskEventId: e.riskEventId, riskLevel: e.riskLevel, tenantId: e.tenantId }),
  }))
}

/** Enforcement changes on `agent.actions`: key = agent id, value JSON, header changeId (and riskEventId). */
export function kafkaActionSink(client: KafkaProducerClient, topic: string): ActionSink {
  return new KafkaTopicSink<EnforcementChange>('kafka-actions', client, topic, (c) => ({
    key: c.agentId,
    value: JSON.stringify(c),
    headers: headers({ changeId: c.changeId, riskEventId: c.riskEventId, mode: c.to }),
  }))
}

/**
 * Dead letters on `agent.dead-letter`: the value is the original payload, untouched, and the key the
 * original key; why and where it came from travel in headers (reason, origin, partition, offset,
 * receivedAt in epoch ms), so the message can be fixed and replayed onto its origin topic as is.
 * A Buffer payload is sent byte for byte; a string payload as its UTF-8 bytes.
 */
export function kafkaDeadLetterSink(client: KafkaProducerClient, topic: string): DeadLetterSink {
  return new KafkaTopicSink<DeadLetter>('kafka-dead-letter', client, topic, (d) => {
    return {
      key: d.key ?? null,
      value: Buffer.isBuffer(d.payload) ? d.payload : Buffer.from(d.payload, 'utf8'),
      headers: headers({
        // Header values are bytes; a reason is capped so one bad message cannot make a huge header.
        reason: d.reason.length > 4096 ? `${d.reason.slice(0, 4093)}...` : d.reason,
        origin: d.origin,
        partition: d.partition,
        offset: d.offset,
        receivedAt: d.receivedAt,
      }),
    }
  })
}

/** Events onto the input topics from config (see EventForwarder), on the sinks' shared producer. */
export function kafkaEventForwarder(client: KafkaProducerClient, topics: Config['kafka']['topics']): EventForwarder & { close(): Promise<void> } {
  client.acquire()
  return {
    async forward(events) {
      const byTopic = new Map<string, Message[]>()
      for (const e of events) {
        const topic = e.kind === 'signin' ? topics.signins : topics.toolCalls
        const messages = byTopic.get(topic) ?? byTopic.set(topic, []).get(topic)!
        messages.push({ key: e.agentId, value: e.value })
      }
      try {
        await Promise.all([...byTopic].map(([topic, messages]) => client.send(topic, messages)))
      } catch (err) {
        throw new RetriableError(`${events.length} events not acknowledged by Kafka`, err, 'KAFKA_SEND')
      }
    },
    close: () => client.release(),
  }
}

export interface KafkaSinks {
  risk: RiskSink
  actions: ActionSink
  deadLetter: DeadLetterSink
  /** HTTP-ingested events onto the input topics. */
  events: EventForwarder
  /** Flushes and closes all of them, then disconnects the shared producer. */
  close(): Promise<void>
}

/** The three Kafka sinks on the topics from config, sharing one producer. */
export function createKafkaSinks(config: Config['kafka'], opts: KafkaProducerOptions = {}): KafkaSinks {
  const client = new KafkaProducerClient(config, opts)
  const risk = kafkaRiskSink(client, config.topics.risk)
  const actions = kafkaActionSink(client, config.topics.actions)
  const deadLetter = kafkaDeadLetterSink(client, config.topics.deadLetter)
  const events = kafkaEventForwarder(client, config.topics)
  return {
    risk,
    actions,
    deadLetter,
    events,
    close: async () => {
      await Promise.all([risk.close(), actions.close(), deadLetter.close(), events.close()])
    },
  }
}
