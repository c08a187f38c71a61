import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { Store } from '../../src/store/store.ts'
import { Baselines } from '../../src/baselines/baselines.ts'
import { newAgentProfile, type AgentProfile } from '../../src/baselines/profiles.ts'
import { T0, toolCall } from '../../detectors/fixtures/kit.ts'
import { testConfig } from '../helpers/store.ts'

let store: Store
beforeAll(async () => {
  store = await Store.open(testConfig().store)
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

    for (const pageRows of [1, 7, 10_000]) {
      const all = await store.loadAgents(undefined, pageRows)
      expect(all.map((p) => p.agentId).sort()).toEqual([...ids].sort())
      expect(all.every((p) => p.learned === 2)).toBe(true)
      const some = await store.loadAgents([0, 2], pageRows)
      expect(some.map((p) => p.agentId).sort()).toEqual(ids.filter((_, i) => i % 3 !== 1).sort())
      // Streaming: each profile handed over as it is read, in agent id order, and counted.
      const seen: string[] = []
      expect(await store.forEachAgent((p) => seen.push(p.agentId), [1], pageRows)).toBe(seen.length)
      expect(seen).toEqual(ids.filter((_, i) => i % 3 === 1).sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b))))
    }
  })

  it('restores a profile that dedupes the events it had seen', async () => {
    const [p] = (await store.loadAgents()).filter((x) => x.agentId === 'd\ne')
    const baselines = new Baselines()
    baselines.restoreAgent(p!)
    const restored = baselines.agents.get('d\ne')!
    expect(restored.recentIds.seenOrRemember('d\ne-event')).toBe(true)
    expect(restored.recentIds.seenOrRemember('another')).toBe(false)
  })
})
