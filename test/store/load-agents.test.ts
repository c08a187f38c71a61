import { readdirSync } from 'node:fs'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { Store } from '../../src/store/store.ts'
import { Baselines } from '../../src/baselines/baselines.ts'
import { newAgentProfile, type AgentProfile } from '../../src/baselines/profiles.ts'
import { agentBaselineRow } from '../../src/store/rows.ts'
import { T0, toolCall } from '../../detectors/fixtures/kit.ts'
import { testConfig } from '../helpers/store.ts'

const cfg = testConfig()
let store: Store
beforeAll(async () => {
  store = await Store.open(cfg.store)
})
afterAll(async () => {
  await store.close()
})

function profile(id: string, partition: number, learned: number): AgentProfile {
  const p = newAgentProfile(toolCall(T0, { agent: { id } }))
  p.partition = partition
  p.learned = learned
  p.recentIds.seenOrRemember(`${id}-event`)
  return p
}

describe('loading agent baselines', () => {
  // Ids with characters that a text format could confuse: tab, newline, quote, backslash, non-ASCII.
  const ids = ['a', 'b\tc', 'd\ne', 'f"g', 'h\\i', 'ünï', ...Array.from({ length: 20 }, (_, i) => `agent-${i}`)]

  it('reads the latest version of every agent, across pages, and only the asked partitions', async () => {
    store.checkpoint(ids.map((id, i) => profile(id, i % 3, 1)), [])
    await store.flush()
    store.checkpoint(ids.map((id, i) => profile(id, i % 3, 2)), [])
    await store.flush()
    // An agent whose events moved to another partition belongs where its latest profile says.
    store.checkpoint([profile('moved', 0, 1)], [])
    await store.flush()
    store.checkpoint([profile('moved', 1, 2)], [])
    await store.flush()
    const onPartition = (p: number) => [...ids.filter((_, i) => i % 3 === p), ...(p === 1 ? ['moved'] : [])]

    for (const pageRows of [1, 7, 10_000]) {
      const all = await store.loadAgents(undefined, pageRows)
      expect(all.map((p) => p.agentId).sort()).toEqual([...ids, 'moved'].sort())
      expect(all.every((p) => p.learned === 2)).toBe(true)
      const some = await store.loadAgents([0, 2], pageRows)
      expect(some.map((p) => p.agentId).sort()).toEqual([...onPartition(0), ...onPartition(2)].sort())
      // Streaming: each row handed over as it is read, in agent id order, counted, and the count told first.
      const seen: string[] = []
      let expected = -1
      expect(await store.forEachAgentRow((row) => seen.push(row.agentId), [1], { pageRows, expect: (n) => (expected = n) })).toBe(seen.length)
      expect(seen).toEqual(onPartition(1).sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b))))
      expect(expected).toBe(seen.length)
      expect(await store.loadAgents([], pageRows)).toEqual([])
      expect(await store.loadAgents([7], pageRows)).toEqual([])
    }
    // A read leaves no result file behind in the data folder.
    expect(readdirSync(join(cfg.store.dataDir, 'result-files'))).toEqual([])
  })

  it('hands over each latest row with its partition, risk level and last event time, the profile as JSON bytes', async () => {
    const elevated = profile('elevated', 4, 3)
    elevated.risk.level = 'medium'
    elevated.lastTs = T0 + 61_001
    store.checkpoint([elevated], [])
    await store.flush()
    const rows = new Map<string, { partition: number; level: string; lastTs: number; profile: AgentProfile }>()
    const count = await store.forEachAgentRow(
      (row) => rows.set(row.agentId, { partition: row.partition, level: row.level, lastTs: row.lastTs, profile: JSON.parse(row.bytes.toString('utf8', row.start, row.end)) }),
      [1, 4],
      { pageRows: 2 },
    )
    expect(count).toBe(rows.size)
    expect([...rows.keys()].sort()).toEqual(['b\tc', 'elevated', 'moved', ...ids.filter((_, i) => i % 3 === 1 && i !== 1)].sort())
    expect(rows.get('elevated')).toEqual({ partition: 4, level: 'medium', lastTs: T0 + 61_001, profile: JSON.parse(JSON.stringify(elevated)) })
    expect(rows.get('moved')).toMatchObject({ partition: 1, level: 'none', lastTs: T0, profile: { agentId: 'moved', learned: 2 } })
  })

  it('restores a profile that dedupes the events it had seen', async () => {
    const [p] = (await store.loadAgents()).filter((x) => x.agentId === 'd\ne')
    const baselines = new Baselines()
    baselines.restoreAgent(p!)
    const restored = baselines.agents.get('d\ne')!
    expect(restored.recentIds.seenOrRemember('d\ne-event')).toBe(true)
    expect(restored.recentIds.seenOrRemember('another')).toBe(false)
  })

  it('skips and reports a damaged saved profile when asked to, and restores the others', async () => {
    const damaged = (agentId: string, state: string) => ({
      ...agentBaselineRow(profile(agentId, 0, 1), 1, T0),
      state,
    })
    await store.ch.client.insert({
      table: `${store.ch.database}.agent_baselines`,
      values: [damaged('broken\tjson', '{"agentId": "broken'), damaged('no-states', '{"agentId":"no-states"}')],
      format: 'JSONEachRow',
    })
    // Held as saved rows, as a restore holds them: a damaged profile is found when it is revived.
    const unreported = new Baselines()
    await store.forEachAgentRow((row) => unreported.holdSaved(row))
    // Without a report to make, reviving it throws.
    expect(() => [...unreported.agents.values()]).toThrow()

    const baselines = new Baselines()
    const reported: [string, string][] = []
    baselines.agents.unreadable = (id, reason) => reported.push([id, reason])
    // Every agent saved by the tests before: the ids, 'moved' and 'elevated', and the two damaged ones.
    expect(await store.forEachAgentRow((row) => baselines.holdSaved(row))).toBe(ids.length + 4)
    expect(reported).toEqual([])
    expect(baselines.agents.get('no-states')).toBeUndefined()
    // Reported and dropped; the others restored.
    expect([...baselines.agents.values()].length).toBe(ids.length + 2)
    expect(reported.map(([id]) => id).sort()).toEqual(['broken\tjson', 'no-states'])
    expect(reported.every(([, reason]) => reason.length > 0)).toBe(true)
    expect(baselines.agents.has('broken\tjson') || baselines.agents.has('no-states')).toBe(false)
    expect(baselines.agents.get('moved')!.learned).toBe(2)
  })
})
