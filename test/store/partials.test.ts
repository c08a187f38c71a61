/**
 * Peer baselines across instances of one consumer group, without a broker: two services share one
 * Store (as instances share one ClickHouse server), the partitions are split between them by
 * calling what the Kafka source calls on assignment and revocation, and events come with their
 * partition and offset as the source hands them over.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createService, type Service } from '../../src/service.ts'
import type { Store } from '../../src/store/store.ts'
import type { BlueprintProfile } from '../../src/baselines/profiles.ts'
import type { RawMessage } from '../../src/sources/types.ts'
import type { AgentEvent } from '../../schemas/events.ts'
import { DAY, HOUR, MINUTE, T0, toolCall } from '../../detectors/fixtures/kit.ts'
import { testConfig } from '../helpers/store.ts'
import { twoInstances, type TwoInstances } from '../helpers/instances.ts'

const line = (e: AgentEvent) => JSON.stringify(e, (k, v) => (k === 'ts' ? undefined : v))
const offsets = new Map<number, number>()
const message = (e: AgentEvent, partition: number): RawMessage => {
  const offset = offsets.get(partition) ?? 0
  offsets.set(partition, offset + 1)
  return { value: line(e), origin: 'agent.tool-calls', partition, offset: String(offset) }
}

/** Weekday business hours, a call every 15 minutes, on the resources every agent of the blueprint uses. */
function routine(agentId: string, days: number): AgentEvent[] {
  const out: AgentEvent[] = []
  for (let d = 0; d < days; d++)
    for (let m = 0; m < 8 * 60; m += 15) {
      const resource = m % 30 === 0 ? 'sharepoint://sites/support' : 'servicenow://incidents'
      out.push(toolCall(T0 + d * DAY + 9 * HOUR + m * MINUTE, { agent: { id: agentId, blueprintId: 'bp-support' }, resource }))
    }
  return out
}

const counters = (b: BlueprintProfile | undefined) => ({ agents: b?.agents, established: b?.established, learned: b?.learned })

let two: TwoInstances
let store: Store
let a: Service
let b: Service
beforeAll(async () => {
  two = await twoInstances()
  ;({ store, a, b } = two)
})
afterAll(() => two.stop())

describe('two instances splitting the partitions', () => {
  // Four established agents of one blueprint, all on B's partitions.
  const peers = [
    ['support-1', 2],
    ['support-2', 2],
    ['support-3', 3],
    ['support-4', 3],
  ] as const
  const probeAt = T0 + 7 * DAY + 10 * HOUR

  it("judge a new agent on A against the blueprint's peers on B once B's partials reached ClickHouse and A refreshed", async () => {
    const events = peers.flatMap(([id, p]) => routine(id, 7).map((e) => message(e, p)))
    // Processed on B, not checkpointed yet: nothing of it is in ClickHouse.
    b.ingestor.process(events)
    expect(counters(b.pipeline.baselines.blueprints.get('bp-support'))).toEqual({ agents: 4, established: 4, learned: events.length })
    expect(await a.refreshPeers()).toBe(0)

    // A brand-new agent of the blueprint on A reads restricted data no peer uses: with no peers
    // known to A, it is not judged at all.
    const early = toolCall(probeAt, { agent: { id: 'newcomer-1', blueprintId: 'bp-support' }, resource: 'sql://hr/salaries', sensitivity: 'restricted', tool: 'sql.query' })
    const before = await a.deps.ingest([message(early, 0)])
    expect(before.riskEvents).toEqual([])
    expect(a.pipeline.baselines.agents.get('newcomer-1')?.risk.level).toBe('none')

    // B checkpoints its partials; A's next refresh merges them into its view.
    await b.commit()
    expect(await a.refreshPeers()).toBe(1)
    const view = a.pipeline.baselines.blueprints.get('bp-support')
    // B's four agents, and the newcomer A has learned (one agent, one event, not established).
    expect(counters(view)).toEqual({ agents: 5, established: 4, learned: events.length + 1 })
    // Nothing changed since: the next refresh loads nothing.
    expect(await a.refreshPeers()).toBe(0)

    const late = toolCall(probeAt + MINUTE, { agent: { id: 'newcomer-2', blueprintId: 'bp-support' }, resource: 'sql://finance/ledger', sensitivity: 'restricted', tool: 'sql.query' })
    const after = await a.deps.ingest([message(late, 1)])
    expect(after.riskEvents).toHaveLength(1)
    const [risk] = after.riskEvents
    expect(risk!.riskLevel).not.toBe('none')
    const novelty = risk!.detections.find((d) => d.detector === 'resource_novelty')
    expect(novelty?.evidence).toMatchObject({ resource: 'sql://finance/ledger', peerAgents: 4, peerAgentsUsingIt: 0 })
  })

  it('carry a partition\'s partial with the partition when it moves from B to A', async () => {
    const onB = JSON.parse(JSON.stringify(b.pipeline.baselines.partials.get('bp-support')?.get(2))) as BlueprintProfile
    const bView = counters(b.pipeline.baselines.blueprints.get('bp-support'))
    const aOwn = [0, 1].map((p) => a.pipeline.baselines.partials.get('bp-support')?.get(p))
    expect(counters(onB)).toEqual({ agents: 2, established: 2, learned: 2 * routine('x', 7).length })

    await b.releasePartitions([2])
    // B no longer learns partition 2, and its view still counts it (as a remote partial).
    expect(b.pipeline.baselines.partials.get('bp-support')?.has(2)).toBe(false)
    expect(b.pipeline.baselines.remote.get('bp-support')?.has(2)).toBe(true)
    expect(counters(b.pipeline.baselines.blueprints.get('bp-support'))).toEqual(bView)

    await a.restorePartitions([2])
    const moved = a.pipeline.baselines.partials.get('bp-support')?.get(2)
    expect(JSON.parse(JSON.stringify(moved))).toEqual(onB)
    expect(a.pipeline.baselines.remote.get('bp-support')?.has(2)).toBe(false)
    // A's view: the same peers as B's, plus A's own newcomers on partitions 0 and 1.
    const own = (k: 'agents' | 'learned') => aOwn.reduce((n, p) => n + (p?.[k] ?? 0), 0)
    expect(own('agents')).toBe(1)
    expect(counters(a.pipeline.baselines.blueprints.get('bp-support'))).toEqual({ agents: bView.agents! + own('agents'), established: bView.established, learned: bView.learned! + own('learned') })
    // The agents of partition 2 moved along, and their events are learned into A's partial of it.
    expect(a.pipeline.baselines.agents.has('support-1')).toBe(true)
    const next = toolCall(probeAt + HOUR, { agent: { id: 'support-1', blueprintId: 'bp-support' }, resource: 'sharepoint://sites/support' })
    await a.deps.ingest([message(next, 2)])
    expect(a.pipeline.baselines.partials.get('bp-support')?.get(2)?.learned).toBe(onB.learned + 1)
  })

  it('restore, after a restart, the partials of held partitions as their own and the others as remote', async () => {
    await a.commit()
    await b.commit()
    const viewOfA = counters(a.pipeline.baselines.blueprints.get('bp-support'))
    const c = await createService(testConfig({ kafka: { enabled: true } }), { store })
    try {
      // All saved partials are another instance's until assigned: the view counts every one.
      expect(c.pipeline.baselines.partials.size).toBe(0)
      expect(await c.refreshPeers()).toBe(0)
      expect(counters(c.pipeline.baselines.blueprints.get('bp-support'))).toEqual(viewOfA)
      await c.restorePartitions([3])
      expect([...(c.pipeline.baselines.partials.get('bp-support')?.keys() ?? [])]).toEqual([3])
      expect([...(c.pipeline.baselines.remote.get('bp-support')?.keys() ?? [])].sort()).toEqual([0, 1, 2])
      const metrics = await c.deps.metrics()
      expect(metrics).toContain('agentwatch_blueprint_partials{held="local"} 1\n')
      expect(metrics).toContain('agentwatch_blueprint_partials{held="remote"} 3\n')
      expect(counters(c.pipeline.baselines.blueprints.get('bp-support'))).toEqual(viewOfA)
    } finally {
      await c.stop()
    }
  })
})
