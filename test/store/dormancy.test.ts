import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createService, type Service } from '../../src/service.ts'
import { testConfig } from '../helpers/store.ts'
import { HOUR, MINUTE, T0, toolCall } from '../../detectors/fixtures/kit.ts'
import type { AgentEvent } from '../../schemas/events.ts'

const line = (e: AgentEvent) => JSON.stringify(e, (k, v) => (k === 'ts' ? undefined : v))
const msg = (e: AgentEvent) => ({ value: line(e), origin: 'http' })

/** Resolves once `check` holds, polling every 20 ms; fails after `ms`. */
async function until(check: () => boolean, ms = 10_000): Promise<void> {
  const began = Date.now()
  while (!check()) {
    if (Date.now() - began > ms) throw new Error('timed out')
    await new Promise((r) => setTimeout(r, 20))
  }
}

let service: Service
beforeAll(async () => {
  service = await createService(testConfig({ baselines: { dormantAfterMinutes: 60 } }), { dormancySweepMs: 50 })
  await service.start()
})
afterAll(async () => {
  await service.stop()
})

describe('the service keeps idle agents dormant', () => {
  it('freezes an agent idle for longer than dormantAfterMinutes, and wakes it with the state it had', async () => {
    const sleeper = Array.from({ length: 20 }, (_, i) => toolCall(T0 + 9 * HOUR + i * MINUTE, { agent: { id: 'sleeper', blueprintId: 'bp-night' } }))
    const busy = Array.from({ length: 20 }, (_, i) => toolCall(T0 + 12 * HOUR + i * MINUTE, { agent: { id: 'busy' } }))
    await service.deps.ingest([...sleeper, ...busy].map(msg))
    const agents = service.pipeline.baselines.agents
    // Its ring of recent ids aside: a dormant record keeps only the newest 16 of them (baselines.dormantRecentIds).
    const withoutRing = (p: object | undefined) => JSON.stringify({ ...p, recentIds: undefined })
    const before = withoutRing(agents.get('sleeper'))

    // Idle for three hours of event time at the latest event: frozen by a pass of the sweep.
    await until(() => agents.dormant.has('sleeper'))
    expect(agents.dormant.has('busy')).toBe(false)
    expect(service.deps.metrics()).toContain('agentwatch_agents_dormant 1\n')
    expect(service.deps.metrics()).toContain('agentwatch_agents{level="none"} 2\n')

    // Listed without being woken: by its record, read only when on the page.
    const listed = await service.deps.agents.list({ limit: 10, offset: 0 })
    expect(listed.total).toBe(2)
    expect(listed.items.find((a) => a.agentId === 'sleeper')).toMatchObject({ agentId: 'sleeper', events: 20, riskLevel: 'none', blueprintId: 'bp-night' })
    expect((await service.deps.agents.list({ limit: 10, offset: 0, blueprintId: 'bp-night' })).items.map((a) => a.agentId)).toEqual(['sleeper'])
    expect((await service.deps.agents.list({ limit: 10, offset: 0, level: 'high' })).total).toBe(0)
    // So is an analyst's view of it.
    expect(service.deps.agents.get('sleeper')).toMatchObject({ agentId: 'sleeper', events: 20 })
    expect(service.deps.agents.baseline('sleeper')).toMatchObject({ learnedEvents: 20, agent: { agentId: 'sleeper' } })
    expect(agents.dormant.has('sleeper')).toBe(true)
    expect(service.deps.metrics()).toContain('agentwatch_agents_dormancy_total{change="frozen"} 1\n')
    expect(service.deps.metrics()).toContain('agentwatch_agents_dormancy_total{change="thawed"} 0\n')
    // One blueprint froze an agent: one dictionary.
    expect(service.deps.metrics()).toContain(`agentwatch_agents_dormant_dictionary_bytes ${28 * 1024}\n`)

    // A redelivered event of the dormant agent changes nothing: the newest ids of its dedupe ring were kept.
    const again = await service.deps.ingest([msg(sleeper.at(-1)!)])
    expect(again.results[0]).toMatchObject({ status: 'duplicate' })
    expect(withoutRing(agents.get('sleeper'))).toBe(before)

    // Frozen again once saved; its next event wakes it and is learned.
    await until(() => agents.dormant.has('sleeper'))
    const next = await service.deps.ingest([msg(toolCall(T0 + 13 * HOUR, { agent: { id: 'sleeper', blueprintId: 'bp-night' } }))])
    expect(next.results[0]).toMatchObject({ status: 'accepted' })
    expect(agents.get('sleeper')!.learned).toBe(21)
    // Woken at least by the redelivery and by the next event, frozen again in between.
    expect(agents.dormant.counts.thawed).toBeGreaterThanOrEqual(2)
    expect(agents.dormant.counts.frozen).toBeGreaterThanOrEqual(2)
  })
})
