/**
 * The service assembled: store, baselines, pipeline, enforcement, sinks and the ports the control
 * API uses. `createService` opens and restores; `start` begins consuming (Kafka when configured;
 * HTTP ingest always); `stop` drains and checkpoints.
 */
import type { Config } from '../schemas/config.ts'
import type { RiskEvent, RiskLevel } from '../schemas/risk.ts'
import type { AgentSummary, AppDeps, FeedbackInput } from './api/deps.ts'
import { ConfigHolder } from './config/holder.ts'
import { EnforcementStore, enforcementPort } from './enforcement/store.ts'
import { createLogNotifier } from './enforcement/notifier.ts'
import type { AgentProfile } from './baselines/profiles.ts'
import { Ingestor } from './pipeline/ingest.ts'
import { Pipeline } from './pipeline/pipeline.ts'
import { levelRank } from './pipeline/risk.ts'
import { RiskHub } from './sinks/risk-hub.ts'
import { fanOut, type ActionSink, type DeadLetterSink, type RiskSink, type Sink } from './sinks/types.ts'
import type { Source } from './sources/types.ts'
import { Store } from './store/store.ts'
import { renderMetrics } from './metrics.ts'
import { log } from './util/log.ts'

export interface ServiceOptions {
  /** Extra destinations, e.g. the Kafka topics; ClickHouse and the live hub are always there. */
  riskSinks?: RiskSink[]
  actionSinks?: ActionSink[]
  deadLetterSinks?: DeadLetterSink[]
  /** Sources started by `start()`; HTTP ingest needs none. */
  sources?: Source[]
  /**
   * An open store to share (several instances in one process: chDB binds one data folder per
   * process). The service then flushes it but never closes it; its owner does.
   */
  store?: Store
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
  /** Checkpoint changed baselines and flush every sink: after this, a restart loses nothing. */
  commit(): Promise<void>
  /** Restore the agents of these Kafka partitions (on assignment). */
  restorePartitions(partitions: number[]): Promise<number>
  /** Checkpoint and drop the agents of these Kafka partitions (on revocation). */
  releasePartitions(partitions: number[]): Promise<number>
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
  for (const b of await store.loadBlueprints()) pipeline.baselines.restoreBlueprint(b)
  // With Kafka, agents are restored per partition on assignment; otherwise all of them now.
  if (!initial.kafka.enabled) for (const p of await store.loadAgents()) pipeline.baselines.restoreAgent(p)
  pipeline.restoreElevated()
  config.onChange((next) => pipeline.setConfig(next))

  const commit = async (): Promise<void> => {
    // Outputs first, baselines last: a checkpoint marks the batch's events as seen (dedupe), so by
    // then their risk events and dead letters must already be out. A crash in between redelivers
    // the batch, and the same risk events go out again with the same ids.
    await Promise.all([store.flush(), riskSink.flush(), actionSink.flush(), deadLetterSink.flush()])
    const dirty = pipeline.baselines.takeDirty()
    store.checkpoint(dirty.agents, dirty.blueprints)
    await store.flush()
  }

  const ingestor = new Ingestor({
    pipeline,
    deadLetters: deadLetterSink,
    risk: riskSink,
    onRisk: (e) => {
      enforcement.applyRisk(e, config.current().policy)
    },
    recordEvent: (e, riskScore, learned) => store.writeEvent(e, riskScore, learned),
    commit,
  })

  // Ingest is serialised: batches from HTTP and Kafka never interleave, so a batch's commit covers
  // exactly the effects of the events before it.
  let chain: Promise<unknown> = Promise.resolve()
  const serial = <T>(fn: () => Promise<T>): Promise<T> => {
    const next = chain.then(fn, fn)
    chain = next.catch(() => {})
    return next
  }

  const publishAll = (events: RiskEvent[]) => events.forEach((e) => ingestor.publish(e))

  const feedback = (input: FeedbackInput, by: string) =>
    serial(async () => {
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
      await commit()
      return { applied }
    })

  const deps: AppDeps = {
    config,
    ingest: (messages) => serial(() => ingestor.ingest(messages)),
    agents: {
      list: ({ limit, offset, level, blueprintId }) => {
        const all = [...pipeline.baselines.agents.values()]
          .filter((p) => (level ? p.risk.level === level : true) && (blueprintId ? p.blueprintId === blueprintId : true))
          .sort((a, b) => levelRank(b.risk.level) - levelRank(a.risk.level) || b.risk.score - a.risk.score || (a.agentId < b.agentId ? -1 : 1))
        return { items: all.slice(offset, offset + limit).map(summary), total: all.length }
      },
      get: (id) => {
        const p = pipeline.baselines.agents.get(id)
        return p ? summary(p) : undefined
      },
      baseline: (id) => {
        const p = pipeline.baselines.agents.get(id)
        if (!p) return undefined
        const bp = p.blueprintId ? pipeline.baselines.blueprints.get(p.blueprintId) : undefined
        return {
          agent: summary(p),
          learnedEvents: p.learned,
          historyDays: p.learned ? (p.lastTs - p.firstLearnedTs) / 86_400_000 : 0,
          flaggedEventsKept: p.flagged.length,
          detectors: p.states,
          blueprint: bp ? { blueprintId: bp.blueprintId, agents: bp.agents, learnedEvents: bp.learned, detectors: bp.states } : null,
        }
      },
    },
    riskEvents: {
      query: (f) => store.queryRiskEvents(f),
      subscribe: (l) => hub.subscribe(l),
    },
    deadLetters: { query: (q) => store.queryDeadLetters(q) },
    enforcement: {
      ...enforcementPort(enforcement),
      // Manual actions are durable before the API answers.
      quarantine: (...a) =>
        serial(async () => {
          const change = enforcement.quarantine(...a)
          await commit()
          return change
        }),
      throttle: (...a) =>
        serial(async () => {
          const change = enforcement.throttle(...a)
          await commit()
          return change
        }),
      release: (...a) =>
        serial(async () => {
          const change = enforcement.release(...a)
          await commit()
          return change
        }),
    },
    feedback,
    audit,
    metrics: () => renderMetrics({ pipeline, ingestor, store, hub, enforcement }),
    ready: () => ready,
  }

  let ready = !initial.kafka.enabled
  const sources = opts.sources ?? []

  const service: Service = {
    config,
    store,
    pipeline,
    ingestor,
    enforcement,
    hub,
    deps,
    commit: () => serial(commit),
    async start() {
      for (const s of sources) {
        await s.start({
          onBatch: async (messages) => {
            await deps.ingest(messages)
          },
          onAssigned: async (partitions) => {
            await service.restorePartitions(partitions)
          },
          onRevoked: async (partitions) => {
            await service.releasePartitions(partitions)
          },
        })
      }
      ready = true
      log.info({ agents: pipeline.baselines.agents.size, blueprints: pipeline.baselines.blueprints.size, sources: sources.map((s) => s.name) }, 'service started')
    },
    async stop() {
      ready = false
      for (const s of sources) await s.stop()
      await serial(commit)
      await Promise.all([riskSink.close(), actionSink.close(), deadLetterSink.close()])
      if (shared) await store.flush()
      else await store.close()
      log.info({}, 'service stopped')
    },
    restorePartitions: (partitions) =>
      serial(async () => {
        const profiles = await store.loadAgents(partitions)
        // Blueprint baselines span every partition: refresh them from what all instances saved.
        for (const b of await store.loadBlueprints()) pipeline.baselines.mergeBlueprint(b)
        for (const p of profiles) pipeline.baselines.restoreAgent(p)
        pipeline.restoreElevated()
        log.info({ partitions, agents: profiles.length }, 'baselines restored for assigned partitions')
        return profiles.length
      }),
    releasePartitions: (partitions) =>
      serial(async () => {
        await commit()
        const owned = new Set(partitions)
        const gone = [...pipeline.baselines.agents.values()].filter((p) => p.partition !== undefined && owned.has(p.partition)).map((p) => p.agentId)
        pipeline.baselines.evict(gone)
        log.info({ partitions, agents: gone.length }, 'baselines checkpointed and released for revoked partitions')
        return gone.length
      }),
  }
  return service
}

export class NotFoundError extends Error {
  readonly statusCode = 404
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
