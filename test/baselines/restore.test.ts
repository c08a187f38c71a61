import { describe, expect, it } from 'vitest'
import { Pipeline } from '../../src/pipeline/pipeline.ts'
import { Baselines } from '../../src/baselines/baselines.ts'
import type { AgentProfile, BlueprintProfile } from '../../src/baselines/profiles.ts'
import { benchFleet, decodeAll, defaultConfig } from '../../src/bench/data.ts'
import type { RiskEvent } from '../../schemas/risk.ts'
import type { SavedAgentRow } from '../../src/baselines/saved-profiles.ts'

const comparable = (r: RiskEvent) => JSON.stringify({ ...r, detectedAt: undefined })

describe('a profile saved as JSON and restored', () => {
  it('scores the rest of the stream exactly as if the pipeline had never stopped', () => {
    const events = decodeAll(benchFleet({ seed: 5, agents: 20, days: 9 }).raw)
    const cut = Math.floor(events.length * 0.6)
    const config = defaultConfig()
    const uninterrupted = new Pipeline(config)
    for (const e of events.slice(0, cut)) uninterrupted.process(e)

    // What a checkpoint writes (the state column) and a restore reads back.
    const baselines = new Baselines()
    for (const p of uninterrupted.baselines.agents.values()) baselines.restoreAgent(JSON.parse(JSON.stringify(p)) as AgentProfile)
    for (const b of uninterrupted.baselines.blueprints.values()) baselines.restoreBlueprint(JSON.parse(JSON.stringify(b)) as BlueprintProfile)
    const restored = new Pipeline(config, { baselines })
    restored.restoreElevated()
    // Redeliveries of what was processed just before the cut are still recognised (and change nothing).
    expect(events.slice(cut - 20, cut).map((e) => restored.process(e))).toEqual(new Array(20).fill('duplicate'))

    const a: RiskEvent[] = []
    const b: RiskEvent[] = []
    for (const e of events.slice(cut)) {
      uninterrupted.process(e, undefined, a)
      restored.process(e, undefined, b)
    }
    expect(a.length).toBeGreaterThan(0)
    expect(b.map(comparable)).toEqual(a.map(comparable))
    for (const p of uninterrupted.baselines.agents.values()) expect(JSON.stringify(restored.baselines.agents.get(p.agentId))).toBe(JSON.stringify(p))
  })
})

/** A profile as Store.forEachAgentRow hands its saved row over, its JSON amid other bytes of the page. */
function savedRow(p: AgentProfile): SavedAgentRow {
  const json = Buffer.from(JSON.stringify(p))
  const page = Buffer.concat([Buffer.from('before\t'), json, Buffer.from('\nafter')])
  return { agentId: p.agentId, partition: p.partition ?? -1, level: p.risk.level, lastTs: p.lastTs, bytes: page, start: 7, end: 7 + json.length }
}

describe('a restore that holds saved rows and revives them later', () => {
  it('scores the rest of the stream exactly as a restore that revives every profile at once', () => {
    const events = decodeAll(benchFleet({ seed: 5, agents: 20, days: 9 }).raw)
    const config = defaultConfig()
    const uninterrupted = new Pipeline(config)
    const levelOf = (i: number) => uninterrupted.baselines.agents.get(events[i]!.agent.id)!.risk.level
    // Cut past 60% of the stream, where some agent is at an elevated level.
    let cut = 0
    while (cut < events.length * 0.6 || levelOf(cut - 1) === 'none') uninterrupted.process(events[cut++]!)
    const profiles = [...uninterrupted.baselines.agents.values()]
    const elevated = profiles.filter((p) => p.risk.level !== 'none').map((p) => p.agentId)
    expect(elevated.length).toBeGreaterThan(0)
    expect(cut).toBeLessThan(events.length * 0.9)

    const baselines = new Baselines()
    for (const p of profiles) baselines.holdSaved(savedRow(p))
    for (const b of uninterrupted.baselines.blueprints.values()) baselines.restoreBlueprint(JSON.parse(JSON.stringify(b)) as BlueprintProfile)
    // Elevated agents are revived at once (the sweep must see them); the others are held as bytes.
    expect(baselines.agents.size).toBe(profiles.length)
    expect(baselines.agents.saved.size).toBe(profiles.length - elevated.length)
    expect([...baselines.agents.liveValues()].map((p) => p.agentId).sort()).toEqual([...elevated].sort())
    const restored = new Pipeline(config, { baselines })
    restored.restoreElevated()
    expect(restored.eventTime).toBe(uninterrupted.eventTime)

    const a: RiskEvent[] = []
    const b: RiskEvent[] = []
    events.slice(cut).forEach((e, i) => {
      uninterrupted.process(e, undefined, a)
      restored.process(e, undefined, b)
      // Half way, the background revival takes what is left; before, agents are revived by their events.
      if (i === Math.floor((events.length - cut) / 2)) while (baselines.agents.reviveSome(1));
    })
    expect(baselines.agents.saved.size).toBe(0)
    expect(a.length).toBeGreaterThan(0)
    expect(b.map(comparable)).toEqual(a.map(comparable))
    for (const p of uninterrupted.baselines.agents.values()) expect(JSON.stringify(baselines.agents.get(p.agentId))).toBe(JSON.stringify(p))
  })
})

describe('a large restore', () => {
  it('reserves the typed arrays of the agents still to come once the first thousand are restored', () => {
    const events = decodeAll(benchFleet({ seed: 5, agents: 4, days: 2 }).raw)
    const trained = new Pipeline(defaultConfig())
    for (const e of events) trained.process(e)
    const saved = [...trained.baselines.agents.values()].map((p) => JSON.stringify(p))
    const copy = (i: number) => ({ ...(JSON.parse(saved[i % saved.length]!) as AgentProfile), agentId: `copy-${i}` })

    const baselines = new Baselines()
    baselines.expectRestores(5_000)
    for (let i = 0; i < 1_000; i++) baselines.restoreAgent(copy(i))
    // From here on, once the 1 MiB slab in use is full, typed arrays come from the reservation:
    // one slab of several MiB, where slabs allocated as needed would be 1 MiB each.
    for (let i = 1_000; i < 2_000; i++) baselines.restoreAgent(copy(i))
    const later = [...baselines.agents.values()].slice(1_000)
    const slabs = new Set(later.map((p) => p.recentIds.buffer))
    expect(slabs.size).toBeLessThanOrEqual(2)
    expect(later[later.length - 1]!.recentIds.buffer.byteLength).toBeGreaterThan(2 << 20)
  })
})
