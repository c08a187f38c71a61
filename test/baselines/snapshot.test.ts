import { describe, expect, it } from 'vitest'
import { Pipeline } from '../../src/pipeline/pipeline.ts'
import type { AgentProfile } from '../../src/baselines/profiles.ts'
import { benchFleet, decodeAll, defaultConfig } from '../../src/bench/data.ts'

/** What a checkpoint row of an agent holds: its whole profile as JSON. */
const encode = (p: AgentProfile) => ({ agentId: p.agentId, state: JSON.stringify(p) })

describe('a checkpoint snapshot encoded a slice at a time', () => {
  it('holds every changed agent exactly as it was at the snapshot, while events keep changing them', () => {
    const events = decodeAll(benchFleet({ seed: 3, agents: 30, days: 4 }).raw)
    const cut = Math.floor(events.length / 2)
    const config = defaultConfig()
    const live = new Pipeline(config)
    for (const e of events.slice(0, cut)) live.process(e)
    // What an encoding in one go, at the instant of the snapshot, would hold.
    const atInstant = new Map([...live.baselines.agents.values()].map((p) => [p.agentId, JSON.stringify(p)]))

    const snap = live.baselines.beginSnapshot(encode)
    expect(snap.agents.remaining).toBe(atInstant.size)
    // Events keep flowing between slices of the encoding, changing agents not encoded yet.
    let next = cut
    while (!snap.agents.step(0)) for (const e of events.slice(next, (next += 50))) live.process(e)
    live.baselines.endSnapshot(snap.agents)
    expect(next).toBeGreaterThan(cut + 50)

    const rows = new Map(snap.agents.rows.map((r) => [r.agentId, r.state]))
    expect(rows.size).toBe(atInstant.size)
    for (const [id, state] of atInstant) expect(rows.get(id), id).toBe(state)
    // The agents did change meanwhile: the snapshot is not simply their state now.
    const changed = [...atInstant].filter(([id, state]) => JSON.stringify(live.baselines.agents.get(id)) !== state)
    expect(changed.length).toBeGreaterThan(0)
  })

  it('an agent changed by an analyst or a sweep before its turn is encoded first', () => {
    const events = decodeAll(benchFleet({ seed: 3, agents: 10, days: 3 }).raw)
    const live = new Pipeline(defaultConfig())
    for (const e of events) live.process(e)
    const agent = [...live.baselines.agents.values()][0]!
    const before = JSON.stringify(agent)
    const snap = live.baselines.beginSnapshot(encode)
    live.confirmCompromised(agent.agentId)
    expect(agent.compromised).toBe(true)
    while (!snap.agents.step(1)) {}
    live.baselines.endSnapshot(snap.agents)
    expect(snap.agents.rows.find((r) => r.agentId === agent.agentId)?.state).toBe(before)
    // Changed since: the next snapshot has it, as it is now.
    const again = live.baselines.beginSnapshot(encode)
    while (!again.agents.step(1)) {}
    expect(again.agents.rows.map((r) => r.agentId)).toEqual([agent.agentId])
    expect(JSON.parse(again.agents.rows[0]!.state).compromised).toBe(true)
  })

  it('one snapshot at a time', () => {
    const live = new Pipeline(defaultConfig())
    for (const e of decodeAll(benchFleet({ seed: 3, agents: 5, days: 1 }).raw)) live.process(e)
    const snap = live.baselines.beginSnapshot(encode)
    expect(snap.agents.remaining).toBeGreaterThan(0)
    expect(() => live.baselines.beginSnapshot(encode)).toThrow(/still being encoded/)
  })
})
