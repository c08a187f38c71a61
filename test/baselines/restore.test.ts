import { describe, expect, it } from 'vitest'
import { Pipeline } from '../../src/pipeline/pipeline.ts'
import { Baselines } from '../../src/baselines/baselines.ts'
import type { AgentProfile, BlueprintProfile } from '../../src/baselines/profiles.ts'
import { benchFleet, decodeAll, defaultConfig } from '../../src/bench/data.ts'
import type { RiskEvent } from '../../schemas/risk.ts'

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
    for (const [id, p] of uninterrupted.baselines.agents) expect(JSON.stringify(restored.baselines.agents.get(id))).toBe(JSON.stringify(p))
  })
})
