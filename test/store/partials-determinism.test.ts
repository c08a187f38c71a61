/**
 * The peer baseline does not depend on how many instances run: the same input, processed by one
 * pipeline holding every partition and by two instances splitting them (sharing one Store, with
 * refreshes between days), gives the same merged view of the blueprint.
 *
 * What is compared is exact only where the learned events are the same: a baseline learns only
 * events that were not flagged, and before a refresh an instance judges against fewer peers, so
 * an input where one of them flags an event the other does not would learn differently. This
 * input is routine work of agents that started together (nothing is judged before they are
 * established, and nothing is new after), and the test asserts that nothing was flagged anywhere.
 */
import { afterAll, beforeAll, expect, it } from 'vitest'
import type { Service } from '../../src/service.ts'
import { Pipeline } from '../../src/pipeline/pipeline.ts'
import type { BlueprintProfile } from '../../src/baselines/profiles.ts'
import type { RawMessage } from '../../src/sources/types.ts'
import type { AgentEvent } from '../../schemas/events.ts'
import { DAY, HOUR, MINUTE, T0, toolCall } from '../../detectors/fixtures/kit.ts'
import { withPlainArrays } from '../../detectors/packed.ts'
import { testConfig } from '../helpers/store.ts'
import { twoInstances, type TwoInstances } from '../helpers/instances.ts'

const PARTITIONS = 4
const AGENTS = 8
const DAYS = 6
const line = (e: AgentEvent) => JSON.stringify(e, (k, v) => (k === 'ts' ? undefined : v))

/** Day `d` of every agent, in time order, each event with its partition (agent i on i % 4) and offset. */
function day(d: number, offsets: number[]): RawMessage[] {
  const out: { ts: number; m: RawMessage }[] = []
  for (let i = 0; i < AGENTS; i++) {
    const partition = i % PARTITIONS
    // Shared resources and one per team of agents, so that adopters differ per resource.
    const resources = ['sharepoint://sites/support', `servicenow://queues/team-${i % 3}`, 'confluence://spaces/kb']
    for (let m = 0; m < 8 * 60; m += 20) {
      const ts = T0 + d * DAY + 9 * HOUR + m * MINUTE + i * 1000
      const e = toolCall(ts, { agent: { id: `agent-${i}`, blueprintId: 'bp-det' }, resource: resources[(m / 20) % 3]! })
      out.push({ ts, m: { value: line(e), origin: 'agent.tool-calls', partition, offset: String(offsets[partition]!++) } })
    }
  }
  return out.sort((a, b) => a.ts - b.ts).map((x) => x.m)
}

const counters = (b: BlueprintProfile) => ({ agents: b.agents, established: b.established, learned: b.learned })
const novelty = (b: BlueprintProfile) => {
  const s = b.states.resource_novelty as { res: unknown; adopters: unknown; n: number }
  // As people read it: tables as key -> [count, first, last], where key order does not matter.
  return JSON.parse(JSON.stringify(withPlainArrays({ res: s.res, adopters: s.adopters, n: s.n })))
}

let two: TwoInstances
let a: Service
let b: Service
beforeAll(async () => {
  two = await twoInstances()
  ;({ a, b } = two)
})
afterAll(() => two.stop())

it('one instance and two give the same merged peer baseline', async () => {
  const single = new Pipeline(testConfig())
  const offsets = new Array(PARTITIONS).fill(0)
  for (let d = 0; d < DAYS; d++) {
    const messages = day(d, offsets)
    for (const m of messages) {
      const e = JSON.parse(String(m.value)) as AgentEvent
      single.process({ ...e, ts: Date.parse(e.time) }, { topic: m.origin, partition: m.partition, offset: Number(m.offset) })
    }
    await a.deps.ingest(messages.filter((m) => m.partition! < 2))
    await b.deps.ingest(messages.filter((m) => m.partition! >= 2))
    await a.refreshPeers()
    await b.refreshPeers()
  }
  await a.commit()
  await b.commit()
  await a.refreshPeers()
  await b.refreshPeers()

  expect(single.stats.flagged + a.pipeline.stats.flagged + b.pipeline.stats.flagged).toBe(0)
  const want = single.baselines.blueprints.get('bp-det')!
  expect(counters(want)).toEqual({ agents: AGENTS, established: AGENTS, learned: single.stats.learned })
  for (const s of [a, b]) {
    const view = s.pipeline.baselines.blueprints.get('bp-det')!
    expect(counters(view)).toEqual(counters(want))
    expect(novelty(view)).toEqual(novelty(want))
  }
})
