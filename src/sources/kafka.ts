/**
 * Kafka source: a kafkajs consumer group over the sign-in and tool-call topics.
 *
 * Delivery is at least once. A batch (one topic-partition's fetched messages) is handed to
 * `onBatch`; once it resolves (processed) its last offset is resolved, so the consumer fetches on,
 * but nothing is committed then. Offsets are committed only by `acknowledge`, which the service
 * calls after a checkpoint with the positions that checkpoint made durable. A failed, abandoned or
 * interrupted batch, and anything processed but not yet acknowledged, is fetched again, by this
 * instance or by whichever instance owns the partition next; the pipeline drops what its restored
 * state has already applied (per-partition offsets in each agent's profile, then eventId).
 *
 * Failures of `onBatch` never crash the consumer and never skip messages:
 *  - retriable (isRetriable: overload, a store briefly down): the partition is paused and resumed
 *    by itself after an exponential backoff with full jitter, then the same batch is redelivered.
 *    Other partitions keep flowing.
 *  - not retriable (a bug, something unexpected): logged at error level with the batch position,
 *    then retried the same way, so the problem is visible and nothing is lost.
 *
 * Partition ownership. Events are keyed by agent id on every topic and the topics have the same
 * partition count, so partition N of each topic holds the same agents. The consumer uses a
 * co-partitioning range assignor (below) so one instance owns partition N of every topic, and
 * `onAssigned` / `onRevoked` speak of partition numbers.
 *
 * kafkajs (2.2) uses the eager rebalance protocol and has no revoke callback; it reports only the
 * new assignment, in the GROUP_JOIN event, after the rejoin. The source therefore derives changes
 * by comparing each GROUP_JOIN's assignment with the previous one: numbers that disappeared are
 * revoked, new ones assigned. Revocation is thus reported after the partition may already have a
 * new owner; this is safe because every committed offset was durable before the commit, so the
 * new owner restores a state that includes everything up to the committed offset, and `onRevoked`
 * only needs to drop (or best-effort checkpoint) in-memory state. `acknowledge` commits only
 * partitions still owned: a late checkpoint never moves a new owner's committed offset. When the member id
 * changes (the member was evicted, e.g. after a session timeout, and others may have processed its
 * partitions meanwhile) or the consumer restarts after a crash, everything held is revoked and the
 * new assignment is reported in full, so no stale in-memory state survives. `stop()` pauses fetching, lets
 * the batches in flight finish, revokes all while still a member (the final checkpoint's offsets
 * can still be committed), then leaves the group.
 * Batches wait until the assignment callbacks have resolved, so a partition's agents are restored
 * before its first event is processed.
 */
import { AssignerProtocol, type Assigner, type Consumer, type EachBatchPayload, type Kafka, type PartitionAssigner } from 'kafkajs'
import type { Config } from '../../schemas/config.ts'
import { AgentWatchError, RetriableError, describeError, isRetriable } from '../util/errors.ts'
import { log as baseLog, type Logger } from '../util/log.ts'
import { backoffDelay, retry, type BackoffOptions } from '../util/retry.ts'
import { createKafkaClient } from '../util/kafka.ts'
import type { RawMessage, Source, SourceHandlers, SourcePosition } from './types.ts'

export interface KafkaSourceOptions {
  /** Topics to consume. Default: the sign-in and tool-call topics from config. */
  topics?: string[]
  /** Group id; default from config. */
  groupId?: string
  /** Overrides config brokers and KAFKA_BROKERS. */
  brokers?: string[]
  /** A new group with no committed offsets starts at the earliest message (true, default) or the latest. */
  fromBeginning?: boolean
  /** The broker evicts a member it has not heard from for this long. Milliseconds. Default 10 000. */
  sessionTimeoutMs?: number
  /** How often the member tells the broker it is alive, also during a long batch. Milliseconds. Default 1000. */
  heartbeatIntervalMs?: number
  /**
   * Partitions processed at once (different partitions hold different agents; processing itself is
   * serial, this overlaps one partition's fetch and backpressure wait with another's processing).
   * Default 6.
   */
  partitionsConsumedConcurrently?: number
  /**
   * A fetch returns once this much data waits, or after `maxWaitTimeMs`. Bytes. Default 64 KiB
   * (~150 events). kafkajs fetches again as soon as the last fetch is processed; with 1 byte, a
   * service that keeps up fetches a handful of events at a time, hundreds of times a second, and
   * the fixed cost of each fetch (the broker's and kafkajs' work over every partition, a batch per
   * partition) takes more CPU than the events.
   */
  minBytes?: number
  /**
   * Longest a fetch waits on the broker for `minBytes`. Milliseconds. Default 10: the most a quiet
   * stream's event waits before it is fetched. Also bounds how late a paused partition resumes,
   * since a resume takes effect with the next fetch.
   */
  maxWaitTimeMs?: number
  /** Largest fetch per partition. Bytes. Default 1 MiB. */
  maxBytesPerPartition?: number
  /** Backoff between redeliveries of a failed batch. Default 200 ms doubling up to 30 s. */
  backoff?: BackoffOptions
  /** On stop(), how long to wait for a batch in flight before abandoning it uncommitted. Milliseconds. Default 30 000. */
  stopGraceMs?: number
  logger?: Logger
  /** A kafkajs client to reuse; by default one is built from config. */
  kafka?: Kafka
}

const ASSIGNER_NAME = 'AgentWatchCoPartitioned'

/**
 * Range assignment per topic over members sorted by id, so partition N of every topic goes to the
 * same member when the topics have equal partition counts (as Kafka's RangeAssignor does). kafkajs'
 * default round-robin spreads topic-partitions and would split one agent's sign-ins and tool calls
 * across instances.
 */
export const coPartitionedAssigner: PartitionAssigner = ({ cluster, logger }): Assigner => ({
  name: ASSIGNER_NAME,
  version: 0,
  async assign({ members, topics }) {
    const ids = members.map((m) => m.memberId).sort()
    const assignment = new Map<string, Record<string, number[]>>(ids.map((id) => [id, {}]))
    const counts = new Set<number>()
    for (const topic of topics) {
      const partitions = cluster
        .findTopicPartitionMetadata(topic)
        .map((p) => p.partitionId)
        .sort((a, b) => a - b)
      counts.add(partitions.length)
      const per = Math.floor(partitions.length / ids.length)
      const extra = partitions.length % ids.length
      let next = 0
      ids.forEach((id, i) => {
        const take = per + (i < extra ? 1 : 0)
        assignment.get(id)![topic] = partitions.slice(next, next + take)
        next += take
      })
    }
    if (counts.size > 1) {
      logger.warn('topics have different partition counts; an agent\'s events may be split across instances', { topics })
    }
    return ids.map((memberId) => ({
      memberId,
      memberAssignment: AssignerProtocol.MemberAssignment.encode({ version: 0, assignment: assignment.get(memberId)!, userData: Buffer.alloc(0) }),
    }))
  },
  protocol({ topics }) {
    return { name: ASSIGNER_NAME, metadata: AssignerProtocol.MemberMetadata.encode({ version: 0, topics, userData: Buffer.alloc(0) }) }
  },
})

/** Kafka error types that mean "the group is rebalancing": kafkajs must see them to rejoin. */
const REBALANCE_TYPES = new Set(['REBALANCE_IN_PROGRESS', 'NOT_COORDINATOR_FOR_GROUP', 'ILLEGAL_GENERATION', 'UNKNOWN_MEMBER_ID'])
function isRebalanceError(err: unknown): boolean {
  return typeof err === 'object' && err !== null && REBALANCE_TYPES.has((err as { type?: string }).type ?? '')
}

export class KafkaSource implements Source {
  readonly name = 'kafka'
  private readonly kafka: Kafka
  private readonly topics: string[]
  private readonly groupId: string
  private readonly log: Logger
  private readonly opts: KafkaSourceOptions
  private consumer: Consumer | undefined
  private handlers: SourceHandlers | undefined
  private stopping = false
  private readonly stopController = new AbortController()
  /** Partition numbers this instance owns, as last reported to the handlers. */
  private owned = new Set<number>()
  private memberId: string | undefined
  /** Assignment callbacks run in order; batches wait for them. */
  private assignmentChain: Promise<void> = Promise.resolve()
  /** Consecutive failures per topic-partition, for the backoff. */
  private readonly failures = new Map<string, number>()
  private readonly resumeTimers = new Set<NodeJS.Timeout>()
  private restartTimer: NodeJS.Timeout | undefined
  private restarts = 0
  /** Batches handed to onBatch and not finished. */
  private readonly inFlight = new Set<Promise<unknown>>()
  /** Next offset committed per topic-partition by this consumer, to commit only forward. */
  private readonly committed = new Map<string, bigint>()
  private commitChain: Promise<void> = Promise.resolve()

  constructor(config: Config['kafka'], opts: KafkaSourceOptions = {}) {
    this.opts = opts
    this.topics = opts.topics ?? [config.topics.signins, config.topics.toolCalls]
    this.groupId = opts.groupId ?? config.groupId
    this.log = (opts.logger ?? baseLog).child({ component: 'kafka-source', groupId: this.groupId })
    this.kafka = opts.kafka ?? createKafkaClient(config, { brokers: opts.brokers, logger: opts.logger })
  }

  /** Partition numbers currently owned (after the handlers were told). */
  assignedPartitions(): number[] {
    return [...this.owned].sort((a, b) => a - b)
  }

  async start(handlers: SourceHandlers): Promise<void> {
    if (this.handlers) throw new AgentWatchError('KafkaSource already started', { retriable: false })
    this.handlers = handlers
    await this.runConsumer()
  }

  private async runConsumer(): Promise<void> {
    const o = this.opts
    const consumer = this.kafka.consumer({
      groupId: this.groupId,
      partitionAssigners: [coPartitionedAssigner],
      sessionTimeout: o.sessionTimeoutMs ?? 10_000,
      heartbeatInterval: o.heartbeatIntervalMs ?? 1000,
      maxBytesPerPartition: o.maxBytesPerPartition ?? 1024 * 1024,
      minBytes: o.minBytes ?? 64 * 1024,
      maxWaitTimeInMs: o.maxWaitTimeMs ?? 10,
      allowAutoTopicCreation: false,
      // kafkajs restarts itself after retriable crashes; the CRASH listener handles the rest.
      retry: { retries: 8, restartOnFailure: async () => !this.stopping },
    })
    this.consumer = consumer
    consumer.on(consumer.events.GROUP_JOIN, (e) => this.onGroupJoin(e.payload.memberId, e.payload.memberAssignment, e.payload.duration))
    consumer.on(consumer.events.REBALANCING, () => this.log.info('group rebalancing'))
    consumer.on(consumer.events.CRASH, (e) => this.onCrash(consumer, e.payload.error, e.payload.restart))

    try {
      await consumer.connect()
      await consumer.subscribe({ topics: this.topics, fromBeginning: o.fromBeginning ?? true })
      await consumer.run({
        autoCommit: false,
        eachBatchAutoResolve: false,
        partitionsConsumedConcurrently: o.partitionsConsumedConcurrently ?? 6,
        eachBatch: (payload) => this.trackInFlight(this.eachBatch(payload)),
      })
    } catch (err) {
      await consumer.disconnect().catch(() => undefined)
      throw new RetriableError(`Kafka consumer could not start on ${this.topics.join(', ')}: ${describeError(err)}`, err)
    }
    this.log.info({ topics: this.topics }, 'consuming')
  }

  private onGroupJoin(memberId: string, assignment: Record<string, number[]>, durationMs: number): void {
    const next = new Set(Object.values(assignment).flat())
    const prev = this.memberId === memberId ? this.owned : new Set<number>()
    // A new member id means this instance was out of the group for a while: drop everything held.
    const revoked = this.memberId === memberId ? [...this.owned].filter((p) => !next.has(p)) : [...this.owned]
    const assigned = [...next].filter((p) => !prev.has(p))
    const sameMember = this.memberId === memberId
    this.memberId = memberId
    this.owned = next
    // Forget what this member committed for partitions it lost (all of them under a new member
    // id), so a later owner's commits are never compared with them.
    if (!sameMember) this.committed.clear()
    else for (const key of [...this.committed.keys()]) if (!next.has(Number(key.slice(key.lastIndexOf('/') + 1)))) this.committed.delete(key)
    this.log.info({ memberId, assignment, revoked, assigned, durationMs }, 'joined group')
    this.queueOwnershipChange(revoked.sort((a, b) => a - b), assigned.sort((a, b) => a - b))
  }

  private queueOwnershipChange(revoked: number[], assigned: number[]): void {
    const h = this.handlers
    if (!h) return
    const call = (what: string, fn: (() => Promise<void>) | undefined) =>
      fn
        ? retry(fn, {
            attempts: Infinity,
            retryAll: true,
            baseMs: 200,
            maxMs: 30_000,
            signal: this.stopController.signal,
            onRetry: (attempt, err, delayMs) => this.log.error({ err: describeError(err), attempt, delayMs }, `${what} failed; retrying`),
          })
        : Promise.resolve()
    this.assignmentChain = this.assignmentChain
      .then(() => (revoked.length ? call('onRevoked', h.onRevoked && (() => h.onRevoked!(revoked))) : undefined))
      .then(() => (assigned.length ? call('onAssigned', h.onAssigned && (() => h.onAssigned!(assigned))) : undefined))
      .catch((err) => this.log.error({ err: describeError(err) }, 'partition ownership callback abandoned'))
  }

  private onCrash(consumer: Consumer, error: Error, restart: boolean): void {
    this.log.error({ err: describeError(error), restart }, 'consumer crashed')
    // Whatever happens next, the group has moved on without this member: nothing is held any more.
    this.queueOwnershipChange([...this.owned].sort((a, b) => a - b), [])
    this.owned = new Set()
    this.committed.clear()
    this.memberId = undefined
    if (restart || this.stopping) return
    // kafkajs gives up on non-retriable errors; the source does not: a fresh consumer after a backoff.
    const delay = backoffDelay(this.restarts++, { baseMs: 1000, maxMs: 60_000 })
    this.log.warn({ delayMs: delay }, 'restarting consumer')
    this.restartTimer = setTimeout(() => {
      this.restartTimer = undefined
      if (this.stopping) return
      void consumer.disconnect().catch(() => undefined)
      this.runConsumer().then(
        () => {
          this.restarts = 0
        },
        (err) => this.onCrash(consumer, err as Error, false),
      )
    }, delay)
  }

  private async eachBatch(p: EachBatchPayload): Promise<void> {
    const { batch } = p
    if (batch.messages.length === 0 || !p.isRunning() || p.isStale()) return
    await this.assignmentChain
    const h = this.handlers
    if (!h || this.stopping || !p.isRunning()) return

    const { topic, partition } = batch
    const key = `${topic}/${partition}`
    const messages: RawMessage[] = batch.messages.map((m) => ({
      value: m.value ?? Buffer.alloc(0),
      origin: topic,
      partition,
      offset: m.offset,
      key: m.key?.toString('utf8'),
    }))
    const first = batch.messages[0]!.offset
    const last = batch.messages[batch.messages.length - 1]!.offset

    // Keep the membership alive while onBatch runs; kafkajs sends at most one heartbeat per interval.
    let heartbeatError: unknown
    const hb = setInterval(() => {
      p.heartbeat().catch((err) => {
        heartbeatError ??= err
      })
    }, Math.max(100, Math.floor((this.opts.heartbeatIntervalMs ?? 1000) / 2)))

    let outcome: 'done' | 'abandoned'
    try {
      outcome = await this.untilStopped(h.onBatch(messages))
    } catch (err) {
      clearInterval(hb)
      this.scheduleRedelivery(p, key, err, first, last, messages.length)
      return
    }
    clearInterval(hb)
    if (outcome === 'abandoned') {
      this.log.warn({ topic, partition, first, last }, 'stopping: batch in flight abandoned uncommitted; it will be redelivered')
      return
    }
    this.failures.delete(key)
    // Processed: fetch on from the next offset. Committing waits for acknowledge().
    p.resolveOffset(last)
    if (isRebalanceError(heartbeatError)) throw heartbeatError
  }

  private trackInFlight(work: Promise<void>): Promise<void> {
    const tracked = work.catch(() => undefined)
    this.inFlight.add(tracked)
    void tracked.then(() => this.inFlight.delete(tracked))
    return work
  }

  /**
   * Commit the next offset after each position, for the topics this source reads and the
   * partitions it owns, and only forward. Commits run one at a time. A failed commit (typically a
   * rebalance in progress) is logged: those messages are only delivered again.
   */
  acknowledge(positions: readonly SourcePosition[]): Promise<void> {
    const run = this.commitChain.then(() => this.commitPositions(positions))
    this.commitChain = run.catch(() => undefined)
    return run
  }

  private async commitPositions(positions: readonly SourcePosition[]): Promise<void> {
    const consumer = this.consumer
    if (!consumer || !this.memberId) return
    const next = new Map<string, { topic: string; partition: number; offset: bigint }>()
    for (const pos of positions) {
      if (!this.topics.includes(pos.origin) || !this.owned.has(pos.partition)) continue
      const key = `${pos.origin}/${pos.partition}`
      const offset = pos.offset + 1n
      if ((this.committed.get(key) ?? -1n) >= offset || (next.get(key)?.offset ?? -1n) >= offset) continue
      next.set(key, { topic: pos.origin, partition: pos.partition, offset })
    }
    if (next.size === 0) return
    const memberId = this.memberId
    try {
      await consumer.commitOffsets([...next.values()].map((c) => ({ topic: c.topic, partition: c.partition, offset: c.offset.toString() })))
      if (this.memberId !== memberId) return
      for (const [key, c] of next) if (this.owned.has(c.partition)) this.committed.set(key, c.offset)
    } catch (err) {
      this.log.warn({ partitions: [...next.keys()], err: describeError(err) }, 'offset commit failed; those messages may be delivered again')
    }
  }

  /** Resolves with onBatch, or with 'abandoned' when stop() has waited its grace period. */
  private untilStopped(work: Promise<void>): Promise<'done' | 'abandoned'> {
    const signal = this.stopController.signal
    return new Promise((resolve, reject) => {
      let graceTimer: NodeJS.Timeout | undefined
      const onStop = () => {
        graceTimer = setTimeout(() => resolve('abandoned'), this.opts.stopGraceMs ?? 30_000)
      }
      if (signal.aborted) onStop()
      else signal.addEventListener('abort', onStop, { once: true })
      work.then(
        () => {
          clearTimeout(graceTimer)
          signal.removeEventListener('abort', onStop)
          resolve('done')
        },
        (err) => {
          clearTimeout(graceTimer)
          signal.removeEventListener('abort', onStop)
          reject(err)
        },
      )
    })
  }

  private scheduleRedelivery(p: EachBatchPayload, key: string, err: unknown, first: string, last: string, count: number): void {
    const attempt = this.failures.get(key) ?? 0
    this.failures.set(key, attempt + 1)
    const delayMs = backoffDelay(attempt, { baseMs: 200, maxMs: 30_000, ...this.opts.backoff })
    const where = { topic: p.batch.topic, partition: p.batch.partition, first, last, count, attempt: attempt + 1, delayMs }
    if (isRetriable(err)) this.log.warn({ ...where, err: describeError(err) }, 'batch failed (retriable); partition paused, will redeliver')
    else this.log.error({ ...where, err: describeError(err) }, 'batch failed (not retriable); partition paused, will redeliver')
    // Nothing is resolved, so after resume kafkajs fetches the same offsets again.
    const resume = p.pause()
    const timer = setTimeout(() => {
      this.resumeTimers.delete(timer)
      if (!this.stopping) resume()
    }, delayMs)
    this.resumeTimers.add(timer)
  }

  async stop(): Promise<void> {
    if (this.stopping) return
    this.stopping = true
    this.stopController.abort()
    if (this.restartTimer) clearTimeout(this.restartTimer)
    for (const t of this.resumeTimers) clearTimeout(t)
    this.resumeTimers.clear()
    // No new batches (eachBatch returns at once while stopping); the ones in flight finish or are
    // abandoned after stopGraceMs.
    try {
      this.consumer?.pause(this.topics.map((topic) => ({ topic })))
    } catch {
      /* not running: nothing to pause */
    }
    await Promise.all([...this.inFlight])
    await this.assignmentChain
    // Revoke while still a member, so the final checkpoint's offsets can be committed.
    const held = this.assignedPartitions()
    if (held.length && this.handlers?.onRevoked) {
      await this.handlers.onRevoked(held).catch((err) => this.log.error({ err: describeError(err) }, 'onRevoked failed at stop'))
    }
    await this.commitChain
    this.owned = new Set()
    this.committed.clear()
    await this.consumer?.disconnect().catch((err) => this.log.warn({ err: describeError(err) }, 'consumer disconnect failed'))
    this.log.info('stopped')
  }
}
