/** Prometheus text exposition (format 0.0.4) of the service's counters and gauges. */
import { getHeapStatistics } from 'node:v8'
import type { Pipeline } from './pipeline/pipeline.ts'
import type { Ingestor } from './pipeline/ingest.ts'
import type { Store } from './store/store.ts'
import type { RiskHub } from './sinks/risk-hub.ts'
import type { EnforcementStore } from './enforcement/store.ts'

interface Parts {
  pipeline: Pipeline
  ingestor: Ingestor
  store: Store
  hub: RiskHub
  enforcement: EnforcementStore
}

export function renderMetrics({ pipeline, ingestor, store, hub, enforcement }: Parts): string {
  const lines: string[] = []
  const metric = (name: string, type: 'counter' | 'gauge', help: string, samples: [Record<string, string>, number][]) => {
    lines.push(`# HELP ${name} ${help}`, `# TYPE ${name} ${type}`)
    for (const [labels, v] of samples) {
      const l = Object.entries(labels).map(([k, x]) => `${k}="${x.replace(/["\\\n]/g, '_')}"`).join(',')
      lines.push(`${name}${l ? `{${l}}` : ''} ${v}`)
    }
  }
  metric('agentwatch_events_total', 'counter', 'Messages ingested, by outcome.', [
    [{ outcome: 'accepted' }, ingestor.counters.accepted],
    [{ outcome: 'duplicate' }, ingestor.counters.duplicates],
    [{ outcome: 'rejected' }, ingestor.counters.rejected],
    // Received over HTTP and written to the Kafka input topics; counted again as accepted (or
    // duplicate) by the instance that processes them.
    [{ outcome: 'forwarded' }, ingestor.counters.forwarded],
  ])
  metric('agentwatch_events_learned_total', 'counter', 'Events learned into baselines.', [[{}, pipeline.stats.learned]])
  metric('agentwatch_events_flagged_total', 'counter', 'Events scored medium or higher and kept out of baselines.', [[{}, pipeline.stats.flagged]])
  metric('agentwatch_risk_events_total', 'counter', 'Risk level changes emitted.', [[{}, pipeline.stats.riskEvents]])
  const byLevel: Record<string, number> = { none: 0, low: 0, medium: 0, high: 0 }
  // Profiles a restore holds saved, not revived yet, are all at level none (Baselines.holdSaved), as
  // are dormant ones (Baselines.freezeIdle).
  const saved = pipeline.baselines.agents.saved
  const dormant = pipeline.baselines.agents.dormant
  byLevel.none = saved.size + dormant.size
  for (const a of pipeline.baselines.agents.liveValues()) byLevel[a.risk.level]++
  metric('agentwatch_agents', 'gauge', 'Agents held in memory, by risk level.', Object.entries(byLevel).map(([level, n]) => [{ level }, n]))
  metric('agentwatch_agents_saved', 'gauge', 'Of those, agents restored but not revived yet: held as the bytes of their saved profile until first needed or revived in the background.', [[{}, saved.size]])
  metric('agentwatch_agents_saved_bytes', 'gauge', 'Bytes of the saved profiles held for those agents.', [[{}, saved.bytes]])
  metric('agentwatch_agents_dormant', 'gauge', 'Of those, agents kept dormant: no event for `baselines.dormantAfterMinutes`, their profile deflated until their next event.', [[{}, dormant.size]])
  metric('agentwatch_agents_dormant_bytes', 'gauge', 'Bytes of the deflated profiles of dormant agents.', [[{}, dormant.bytes]])
  metric('agentwatch_agents_dormant_dictionary_bytes', 'gauge', 'Bytes of the dictionaries they are deflated against: one per blueprint, 28 KiB each.', [[{}, dormant.dictionaryBytes]])
  metric('agentwatch_agents_dormancy_total', 'counter', 'Agents made dormant (frozen) and woken again (thawed) by their next event or a change such as feedback.', [
    [{ change: 'frozen' }, dormant.counts.frozen],
    [{ change: 'thawed' }, dormant.counts.thawed],
  ])
  metric('agentwatch_blueprints', 'gauge', 'Blueprint peer baselines held in memory.', [[{}, pipeline.baselines.blueprints.size]])
  const partials = pipeline.baselines.partialCounts()
  metric('agentwatch_blueprint_partials', 'gauge', 'Partial peer baselines held in memory: learned here from partitions held (local), or loaded as saved by other instances (remote).', [
    [{ held: 'local' }, partials.local],
    [{ held: 'remote' }, partials.remote],
  ])
  const modes: Record<string, number> = { throttled: 0, quarantined: 0 }
  for (const s of enforcement.active()) if (s.mode in modes) modes[s.mode]++
  metric('agentwatch_enforced_agents', 'gauge', 'Agents under an enforcement action, by mode.', Object.entries(modes).map(([mode, n]) => [{ mode }, n]))
  metric('agentwatch_clickhouse_rows_written_total', 'counter', 'Rows inserted into ClickHouse, by table.', Object.entries(store.rowsWritten).map(([table, n]) => [{ table }, n]))
  metric('agentwatch_clickhouse_pending_rows', 'gauge', 'Rows queued for ClickHouse.', [[{}, store.pendingRows]])
  metric('agentwatch_sse_subscribers', 'gauge', 'Live risk stream subscribers.', [[{}, hub.subscribers]])
  // Against the limit: a large fleet needs node started with a larger --max-old-space-size (src/util/heap.ts).
  const heap = getHeapStatistics()
  metric('agentwatch_heap_used_bytes', 'gauge', 'V8 heap in use (the baselines are most of it), bytes.', [[{}, heap.used_heap_size]])
  metric('agentwatch_heap_limit_bytes', 'gauge', 'V8 heap limit (--max-old-space-size), bytes.', [[{}, heap.heap_size_limit]])
  metric('agentwatch_event_time_watermark_seconds', 'gauge', 'Latest event time processed, Unix seconds.', [[{}, pipeline.eventTime / 1000]])
  return lines.join('\n') + '\n'
}
