/**
 * The service assembled: store, baselines, pipeline, enforcement, sinks and the ports the control
 * API uses. `createService` opens and restores; `start` begins consuming (Kafka when configured;
 * HTTP ingest always); `stop` drains and checkpoints.
 *
 * Durability. Batches are processed as they come; risk events, actions and dead letters are
 * written to their sinks at once (the Kafka sinks send them on without waiting; subscribers dedupe
 * by id). A checkpoint runs on a cadence (`store.checkpointMs`, `store.checkpointEvents`) and on
 * request; it (1) snapshots, synchronously, the changed baselines (serialised) and the last offset
 * processed per partition, (2) flushes every output (ClickHouse tables but the baselines, Kafka
 * topics), (3) writes the snapshot's baselines, (4) lets the sources commit the snapshot's offsets.
 * A crash anywhere before (4) redelivers from the previous commit onto the previous baselines, so
 * the same risk events come out again with the same ids; nothing is lost. HTTP ingest, feedback
 * and manual actions answer after a checkpoint that covers them.
 */
import type { Config } from '../schemas/config.ts'
import type { RiskEvent, RiskLevel } from '../schemas/risk.ts'
import type { AgentSummary, AppDeps, FeedbackInput, IngestResult } from './api/deps.ts'
import { HttpError } from './api/errors.ts'
import { ConfigHolder } from './config/holder.ts'
import { EnforcementStore, enforcementPort } from './enforcement/store.ts'
import { createLogNotifier } from './enforcement/notifier.ts'
import type { AgentProfile } from './baselines/profiles.ts'
import { Ingestor } from './pipeline/ingest.ts'
import { Pipeline } from './pipeline/pipeline.ts'
import { levelRank } from './pipeline/risk.ts'
import { RiskHub } from './sinks/risk-hub.ts'
import { fanOut, type ActionSink, type DeadLetterSink, type EventForwarder, type RiskSink, type Sink } from './sinks/types.ts'
import type { RawMessage, Source } from './sources/types.ts'
import { Checkpointer } from './store/checkpointer.ts'
import { Store, type BaselineRows } from './store/store.ts'
import { renderMetrics } from './metrics.ts'
import { log } from './util/log.ts'
import { projectAgents } from './util/heap.ts'
import { describeError, isRetriable } from './util/errors.ts'
import { withPlainArrays } from '../detectors/packed.ts'

export interface ServiceOptions {
  /** Extra destinations, e.g. the Kafka topics; ClickHouse and the live hub are always there. */
  riskSinks?: RiskSink[]
  actionSinks?: ActionSink[]
  deadLetterSinks?: DeadLetterSink[]
  /** Sources started by `start()`; HTTP ingest needs none. */
  sources?: Source[]
  /**
   * With Kafka as the source: HTTP-ingested events are validated here and written onto the input
   * topics (see EventForwarder), not processed by this instance, which may not hold their agents.
   */
  eventForwarder?: EventForwarder
  /**
   * An open store to share (several instances in one process: chDB binds one data folder per
   * process). The service then flushes it but never closes it; its owner does.
   */
  store?: Store
  /** How often the dormancy sweep passes over the live agents (see scheduleDormancy); tests shorten it. Milliseconds. */
  dormancySweepMs?: number
}

export interface Service {
  readonly config: ConfigHolder
  readonly store: Store
  readonly pipeline: Pipeline
  readonly ingestor: Ingestor
  readonly enforcement: EnforcementStore
  readonly hub: RiskHub
  readonly deps: AppDeps
  start(): Promise<void>
  stop(): Promise<void>
  /** Checkpoint: flush every output, then changed baselines, then commit source offsets. After this, a restart loses nothing processed before the call. */
  commit(): Promise<void>
  readonly checkpointer: Checkpointer
  /** Restore the agents of these Kafka partitions (on assignment). */
  restorePartitions(partitions: number[]): Promise<number>
  /** Checkpoint and drop the agents of these Kafka partitions (on revocation). */
  releasePartitions(partitions: number[]): Promise<number>
  /**
   * Load the partial peer baselines other instances saved since the last refresh, for the
   * partitions this instance does not hold, and rebuild the views they change. Runs every
   * `baselines.peerRefreshSeconds` with Kafka; returns the blueprints rebuilt.
   */
  refreshPeers(): Promise<number>
}

export async function createService(initial: Config, opts: ServiceOptions = {}): Promise<Service> {
  const shared = opts.store !== undefined
  const store = opts.store ?? (await Store.open(initial.store))
  // A shared store's sinks outlive this service: closing them only flushes.
  const storeSink = <T>(s: Sink<T>): Sink<T> => (shared ? { name: s.name, write: (x) => s.write(x), flush: () => s.flush(), close: () => s.flush() } : s)
  const restoredVersions = await store.loadConfigVersions()
  const config = new ConfigHolder(initial, {
    restored: restoredVersions,
    persistence: { saveVersion: (v) => store.saveConfigVersion(v) },
  })
  const audit: AppDeps['audit'] = {
    record: async (entry) => store.writeAudit({ ...entry, at: new Date().toISOString() }),
    query: (q) => store.queryAudit(q),
  }

  const hub = new RiskHub()
  const riskSink = fanOut('risk', [storeSink(store.riskSink), hub, ...(opts.riskSinks ?? [])])
  const actionSink = fanOut('actions', [storeSink(store.actionSink), ...(opts.actionSinks ?? [])])
  const deadLetterSink = fanOut('dead-letters', [storeSink(store.deadLetterSink), ...(opts.deadLetterSinks ?? [])])

  const enforcement = new EnforcementStore({ sink: actionSink, notifier: createLogNotifier({ audit }), audit })
  enforcement.restore(await store.loadEnforcementChanges())

  const pipeline = new Pipeline(config.current())
  // With Kafka, partials of the partitions assigned later become this instance's own; until then
  // every saved partial is another instance's, and the views are built from all of them.
  if (initial.kafka.enabled) pipeline.baselines.holdAssignedOnly()
  pipeline.baselines.restorePartials(await store.loadPartials(), pipeline.mergeProfiles)
  // With Kafka, agents are restored per partition on assignment; otherwise all of them now.
  // How a restore goes: told how many agents come before the first, it reserves their typed arrays;
  // once every row is held (outside the heap), it checks that the agents fit once revived, those
  // idle long enough as dormant; a damaged saved profile is logged and skipped.
  const checkHeap = (agents: number) => {
    const dormant = pipeline.baselines.agents.saved.size - pipeline.baselines.heldToRevive()
    const heap = projectAgents(agents, undefined, Math.min(agents, dormant))
    if (!heap.fits) {
      const mib = (bytes: number) => Math.round(bytes / 2 ** 20)
      log.warn(
        { agents, dormant, neededMiB: mib(heap.neededBytes), usedMiB: mib(heap.usedBytes), limitMiB: mib(heap.limitBytes), suggestedMiB: heap.suggestedMiB },
        `these baselines may not fit in the heap; start node with --max-old-space-size=${heap.suggestedMiB} (NODE_OPTIONS)`,
      )
    }
  }
  pipeline.baselines.agents.unreadable = (agentId, reason) =>
    log.error({ agentId, reason }, 'saved baseline unreadable, skipped: the agent starts afresh, judged against its peers (the row stays in agent_baselines)')
  // A restore holds each agent's saved row as it is read and revives the profile when the agent is
  // first needed or when the background revival reaches it (src/baselines/agent-profiles.ts), so
  // events are taken as soon as the rows are read.
  const restoreAgents = async (partitions?: readonly number[]) => {
    const agents = await store.forEachAgentRow((row) => pipeline.baselines.holdSaved(row), partitions, { expect: (n) => pipeline.baselines.expectRestores(n) })
    checkHeap(agents)
    return agents
  }
  // Work done between turns of the event loop (the background revival below, a checkpoint's
  // encoding) runs at most about this long at a time, so an event waits no longer than that behind
  // it. Milliseconds.
  const SLICE_MS = 4
  // Background revival: a slice of saved profiles at a time until none is left; `revived` resolves then.
  let revived: Promise<void> = Promise.resolve()
  let reviving = false
  let stopping = false
  const reviveInBackground = () => {
    if (reviving || stopping || pipeline.baselines.agents.saved.size === 0) return
    reviving = true
    const began = performance.now()
    revived = (async () => {
      try {
        // Agents idle long enough go dormant instead of live (their JSON deflated as it was read).
        while (!stopping && pipeline.baselines.agents.reviveSome(SLICE_MS, pipeline.dormantBefore)) await yieldToEventLoop()
        if (!stopping) log.info({ seconds: Math.round(performance.now() - began) / 1000, agents: pipeline.baselines.agents.size }, 'saved baselines revived')
      } finally {
        reviving = false
      }
    })()
  }
  // Dormancy: every 10 s of wall time, one pass over the live profiles freezes the idle ones
  // (Baselines.freezeIdle), a slice at a time between turns of the event loop. A pass that freezes
  // none takes ~20 ms per 100,000 live agents; freezing one takes ~0.3 ms (docs/benchmarks.md).
  const dormancySweepMs = opts.dormancySweepMs ?? 10_000
  let dormancyTimer: NodeJS.Timeout | undefined
  let freezing: Promise<void> = Promise.resolve()
  const scheduleDormancy = () => {
    dormancyTimer = setTimeout(() => {
      freezing = (async () => {
        const before = pipeline.dormantBefore
        if (before === -Infinity) return
        const dormant = pipeline.baselines.agents.dormant.size
        while (!stopping && pipeline.baselines.freezeIdle(before, SLICE_MS)) await yieldToEventLoop()
        const frozen = pipeline.baselines.agents.dormant.size - dormant
        if (frozen > 0) log.debug({ frozen, dormant: pipeline.baselines.agents.dormant.size }, 'idle agents made dormant')
      })()
        .catch((err) => log.warn({ err: describeError(err) }, 'making idle agents dormant failed; they stay live until the next pass'))
        .finally(() => {
          if (dormancyTimer && !stopping) scheduleDormancy()
        })
    }, dormancySweepMs)
    dormancyTimer.unref()
  }
  if (!initial.kafka.enabled) await restoreAgents()
  pipeline.restoreElevated()
  config.onChange((next) => pipeline.setConfig(next))

  const ingestor = new Ingestor({
    pipeline,
    deadLetters: deadLetterSink,
    risk: riskSink,
    onRisk: (e) => {
      enforcement.applyRisk(e, config.current().policy)
    },
    recordEvent: (e, riskScore, learned) => store.writeEvent(e, riskScore, learned),
  })

  const sources = opts.sources ?? []
  // Baseline rows of checkpoints that failed before writing them: written with the next one.
  let unwritten: BaselineRows[] = []
  // Test hook: hold each checkpoint between its outputs and its baselines, so a test can kill the
  // process there.
  const holdMs = Number(process.env.AGENTWATCH_TEST_CHECKPOINT_HOLD_MS ?? 0)
  const checkpoint = (): Promise<void> => {
    // (1) The snapshot, at one instant: no event is processed between these lines, so the
    // baselines cover exactly the positions. Agents are encoded as they are at this instant, a
    // slice at a time while events keep flowing; one about to change is encoded first.
    const snap = pipeline.baselines.beginSnapshot((p) => store.agentRow(p))
    const partials = store.baselineRows([], snap.partials).partials
    const positions = ingestor.processedPositions()
    const encoded = (async () => {
      try {
        while (!snap.agents.step(SLICE_MS)) await yieldToEventLoop()
        unwritten.push({ agents: snap.agents.rows, partials })
      } finally {
        pipeline.baselines.endSnapshot(snap.agents)
      }
    })()
    return (async () => {
      // (2) Outputs first: the baselines mark these events as applied (dedupe on redelivery), so
      // their risk events, actions, dead letters and event rows must be out before.
      const outputs = Promise.all([store.flushOutputs(), riskSink.flush(), actionSink.flush(), deadLetterSink.flush()])
      // Awaited after the encoding, which must finish before the next checkpoint starts either way.
      outputs.catch(() => undefined)
      await encoded
      await outputs
      if (holdMs > 0) await new Promise((r) => setTimeout(r, holdMs))
      // (3) Baselines. Once queued, the writer keeps them until inserted (it retries).
      for (const r of unwritten) store.writeBaselines(r)
      unwritten = []
      await store.flushBaselines()
      // (4) Offsets, only up to what this snapshot covers.
      await Promise.all(sources.map((s) => s.acknowledge?.(positions)))
    })()
  }
  const cfg = initial.store
  const checkpointer = new Checkpointer({
    intervalMs: cfg.checkpointMs,
    events: cfg.checkpointEvents,
    idleMs: cfg.checkpointIdleMs,
    idleEvents: cfg.checkpointIdleEvents,
    maxPendingEvents: cfg.maxPendingEvents,
    run: checkpoint,
  })
  const commit = () => checkpointer.request()

  // Processing is serialised with restores, releases, feedback and manual actions (they are async),
  // so a checkpoint's snapshot always sees whole batches.
  let chain: Promise<unknown> = Promise.resolve()
  const serial = <T>(fn: () => Promise<T>): Promise<T> => {
    const next = chain.then(fn, fn)
    chain = next.catch(() => {})
    return next
  }

  /**
   * Saved partials of partitions not held that are newer than the copies in memory: a query of
   * versions, then one for the states of the changed ones only. No baseline is touched here.
   */
  const loadStaleRemote = async () => {
    const stale = pipeline.baselines.staleRemote(await store.partialVersions())
    return stale.length ? store.loadPartials({ keys: stale }) : []
  }
  const refreshPeers = async (): Promise<number> => {
    // Queried outside the processing order, so events keep flowing meanwhile; applied in order.
    const loaded = await loadStaleRemote()
    if (loaded.length === 0) return 0
    const rebuilt = await serial(async () => pipeline.baselines.refresh(loaded, pipeline.mergeProfiles))
    if (rebuilt > 0) log.info({ partials: loaded.length, blueprints: rebuilt }, 'peer baselines refreshed from other instances')
    return rebuilt
  }
  // With Kafka, views take in what other instances learned: on a wall-clock period read anew from
  // the config each time, so a change applies from the next refresh.
  let refreshTimer: NodeJS.Timeout | undefined
  let refreshing: Promise<unknown> = Promise.resolve()
  const scheduleRefresh = () => {
    refreshTimer = setTimeout(() => {
      refreshing = refreshPeers()
        .catch((err) => log.warn({ err: describeError(err) }, 'peer baseline refresh failed; views keep what they had until the next one'))
        .finally(() => {
          if (refreshTimer) scheduleRefresh()
        })
    }, config.current().baselines.peerRefreshSeconds * 1000)
    refreshTimer.unref()
  }

  const publishAll = (events: RiskEvent[]) => events.forEach((e) => ingestor.publish(e))
  const processBatch = (messages: Parameters<Ingestor['process']>[0]) => {
    const result = ingestor.process(messages)
    checkpointer.noteProcessed(messages.length)
    return result
  }

  const feedback = async (input: FeedbackInput, by: string) => {
    const result = await serial(async () => {
      if (!pipeline.baselines.agents.has(input.agentId)) throw new NotFoundError(`agent ${input.agentId} is not known`)
      const out: RiskEvent[] = []
      let applied: string
      if (input.verdict === 'dismiss') {
        pipeline.dismiss(input.agentId, out)
        applied = 'risk reset to none; the flagged events stay out of the baseline'
      } else if (input.verdict === 'confirm_safe') {
        pipeline.confirmSafe(input.agentId, out)
        applied = 'flagged events learned into the baseline; risk reset to none'
      } else {
        pipeline.confirmCompromised(input.agentId)
        enforcement.quarantine(input.agentId, `confirmed compromised${input.note ? `: ${input.note}` : ''}`, by)
        applied = 'agent quarantined; its events no longer enter any baseline'
      }
      publishAll(out)
      return { applied }
    })
    await commit()
    return result
  }

  const forwardToKafka = async (messages: RawMessage[], to: EventForwarder): Promise<IngestResult> => {
    try {
      return await ingestor.forward(messages, to)
    } catch (err) {
      if (!isRetriable(err)) throw err
      throw new HttpError(503, 'unavailable', `${describeError(err)}; no event of this request is accepted: send it again (an event already delivered changes nothing)`, undefined, { 'retry-after': '1' })
    }
  }

  /** Run a change in order with ingest, answer once a checkpoint covers it. */
  const durably = async <T>(fn: () => T): Promise<T> => {
    const result = await serial(async () => fn())
    await commit()
    return result
  }

  const deps: AppDeps = {
    config,
    // HTTP ingest answers once its events are durable: processed and checkpointed here, or, with
    // Kafka, acknowledged on the input topics for the instance that holds their agents.
    ingest: (messages) => (opts.eventForwarder ? forwardToKafka(messages, opts.eventForwarder) : durably(() => processBatch(messages))),
    agents: {
      list: async ({ limit, offset, level, blueprintId }) => {
        // Every agent is listed: wait for the background revival rather than block on it.
        await revived
        const agents = pipeline.baselines.agents
        // Rows a restore still holds (one of a partition assigned since): taken in as the background revival would.
        agents.reviveAll(pipeline.dormantBefore)
        const all: Listed[] = []
        for (const p of agents.liveValues()) {
          if ((level ? p.risk.level === level : true) && (blueprintId ? p.blueprintId === blueprintId : true)) all.push({ agentId: p.agentId, level: p.risk.level, score: p.risk.score, profile: p })
        }
        // Dormant agents are at level none (Baselines.freezeIdle): listed by their records, and
        // read only when on the page, so a listing neither wakes a fleet nor reads all of it.
        if (!level || level === 'none') {
          for (const d of agents.dormant.entries()) {
            if (!blueprintId || d.blueprintId === blueprintId) all.push({ agentId: d.agentId, level: 'none', score: d.riskScore })
          }
        }
        all.sort((a, b) => levelRank(b.level) - levelRank(a.level) || b.score - a.score || (a.agentId < b.agentId ? -1 : 1))
        const items = all.slice(offset, offset + limit).flatMap((a) => {
          const item = a.profile ? summary(a.profile) : agents.readDormant(a.agentId, summary)
          return item ? [item] : []
        })
        return { items, total: all.length }
      },
      // Views of one agent read a dormant one without waking it.
      get: (id) => pipeline.baselines.agents.view(id, summary),
      baseline: (id) =>
        pipeline.baselines.agents.view(id, (p) => {
          const bp = p.blueprintId ? pipeline.baselines.blueprints.get(p.blueprintId) : undefined
          return {
            agent: summary(p),
            learnedEvents: p.learned,
            historyDays: p.learned ? (p.lastTs - p.firstLearnedTs) / 86_400_000 : 0,
            flaggedEventsKept: p.flagged.length,
            // Counts as numbers, not the base64 they are saved as.
            detectors: withPlainArrays(p.states),
            blueprint: bp ? { blueprintId: bp.blueprintId, agents: bp.agents, learnedEvents: bp.learned, detectors: withPlainArrays(bp.states) } : null,
          }
        }),
    },
    riskEvents: {
      query: (f) => store.queryRiskEvents(f),
      subscribe: (l) => hub.subscribe(l),
    },
    deadLetters: { query: (q) => store.queryDeadLetters(q) },
    enforcement: {
      ...enforcementPort(enforcement),
      // Manual actions are durable before the API answers.
      quarantine: (...a) => durably(() => enforcement.quarantine(...a)),
      throttle: (...a) => durably(() => enforcement.throttle(...a)),
      release: (...a) => durably(() => enforcement.release(...a)),
    },
    feedback,
    audit,
    metrics: () => renderMetrics({ pipeline, ingestor, store, hub, enforcement }),
    ready: () => ready,
  }

  let ready = !initial.kafka.enabled

  const service: Service = {
    config,
    store,
    pipeline,
    ingestor,
    enforcement,
    hub,
    deps,
    checkpointer,
    commit,
    async start() {
      for (const s of sources) {
        await s.start({
          // Processed, not yet durable: the checkpoint acknowledges it later. Waits (holding the
          // partition) while too much processed work is not durable.
          onBatch: async (messages) => {
            // One batch per turn of the event loop: kafkajs hands over every batch of a fetch
            // (up to 1 MiB per partition) through promises only, so without this the risk events
            // of the first batch would wait, unsent, until the last batch of the fetch is processed.
            await serial(async () => {
              await yieldToEventLoop()
              processBatch(messages)
            })
            await checkpointer.admit()
          },
          onAssigned: async (partitions) => {
            await service.restorePartitions(partitions)
          },
          onRevoked: async (partitions) => {
            await service.releasePartitions(partitions)
          },
        })
      }
      if (initial.kafka.enabled && !refreshTimer) scheduleRefresh()
      reviveInBackground()
      if (!dormancyTimer) scheduleDormancy()
      ready = true
      log.info({ agents: pipeline.baselines.agents.size, blueprints: pipeline.baselines.blueprints.size, sources: sources.map((s) => s.name) }, 'service started')
    },
    async stop() {
      ready = false
      stopping = true
      await revived
      clearTimeout(dormancyTimer)
      dormancyTimer = undefined
      await freezing
      clearTimeout(refreshTimer)
      refreshTimer = undefined
      // A refresh under way finishes before the store may close.
      await refreshing
      // Each source revokes what it holds: a checkpoint, whose offsets it commits before leaving.
      for (const s of sources) await s.stop()
      await serial(() => checkpointer.stop())
      await Promise.all([riskSink.close(), actionSink.close(), deadLetterSink.close()])
      if (shared) await store.flush()
      else await store.close()
      log.info({}, 'service stopped')
    },
    restorePartitions: (partitions) =>
      serial(async () => {
        // Each agent is held as it is read (a restore that fails half way is done again, whole,
        // by the retry of the assignment: holding an agent's row twice gives the same profile).
        const agents = await restoreAgents(partitions)
        // Peer baselines span every partition: the partials of the assigned partitions (their
        // previous holder saved them on revocation) become this instance's, and the others'
        // newer partials are taken in, before any event of these partitions is processed.
        const own = await store.loadPartials({ partitions })
        let rebuilt = pipeline.baselines.assign(partitions, own, pipeline.mergeProfiles)
        rebuilt += pipeline.baselines.refresh(await loadStaleRemote(), pipeline.mergeProfiles)
        pipeline.restoreElevated()
        reviveInBackground()
        log.info({ partitions, agents, partials: own.length, blueprintsRebuilt: rebuilt }, 'baselines restored for assigned partitions')
        return agents
      }),
    releasePartitions: (partitions) =>
      serial(async () => {
        await commit()
        const owned = new Set(partitions)
        const gone = pipeline.baselines.agents.idsOn(owned)
        pipeline.baselines.evict(gone)
        // Saved by the commit above; from now on another instance's, merged from ClickHouse.
        pipeline.baselines.revoke(partitions)
        ingestor.forgetPartitions(partitions)
        log.info({ partitions, agents: gone.length }, 'baselines checkpointed and released for revoked partitions')
        return gone.length
      }),
    refreshPeers,
  }
  return service
}

const yieldToEventLoop = (): Promise<void> => new Promise((resolve) => setImmediate(resolve))

export class NotFoundError extends Error {
  readonly statusCode = 404
}

/** An agent as a listing sorts it: a live one with its profile, a dormant one without. */
interface Listed {
  agentId: string
  level: RiskLevel
  score: number
  profile?: AgentProfile
}

function summary(p: AgentProfile): AgentSummary {
  return {
    agentId: p.agentId,
    tenantId: p.tenantId,
    ...(p.blueprintId ? { blueprintId: p.blueprintId } : {}),
    ...(p.ownerId ? { ownerId: p.ownerId } : {}),
    events: p.seen,
    firstSeen: new Date(p.firstTs).toISOString(),
    lastSeen: new Date(p.lastTs).toISOString(),
    riskLevel: p.risk.level as RiskLevel,
    riskScore: Math.round(p.risk.score * 100),
    compromised: p.compromised,
  }
}
