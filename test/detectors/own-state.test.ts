/**
 * An agent's own state carries nothing that only a blueprint's state uses (tables of adopting
 * agents, "agents doing X now" tallies, spawn windows): with a million agents resident, each empty
 * table or tally an agent carried cost it 50-100 bytes. Those fields are absent until a blueprint
 * state first writes them, and still absent in an agent's state after a save and a restore.
 */
import { describe, expect, it } from 'vitest'
import { DETECTORS } from '../../detectors/index.ts'
import { DetectorHarness } from '../../detectors/fixtures/harness.ts'
import { MINUTE, T0, signin, toolCall } from '../../detectors/fixtures/kit.ts'

const BLUEPRINT_ONLY = ['adopters', 'toolAdopters', 'opAdopters', 'spawns', 'depth', 'now', 'failingNow', 'probingNow', 'excessNow']

const json = (x: unknown): Record<string, unknown> => JSON.parse(JSON.stringify(x))

/** Three agents of one blueprint, a parent spawning sub-agents, failures and denials, over two days. */
function learned(detector: (typeof DETECTORS)[number]): DetectorHarness {
  const h = new DetectorHarness(detector)
  for (let i = 0; i < 2 * 24 * 6; i++) {
    const ts = T0 + i * 10 * MINUTE
    for (const id of ['agent-a', 'agent-b', 'agent-c']) {
      const agent = { id, blueprintId: 'bp-x' }
      h.learnAll([
        toolCall(ts, { agent, tool: `tool.${i % 3}`, resource: `res://x/${i % 4}`, onBehalfOf: { userId: `user-${i % 5}` }, outcome: i % 7 ? 'success' : 'denied', records: i, bytes: 100 * i }),
        signin(ts + 1, { agent, outcome: i % 9 ? 'success' : 'failure', network: { ip: '10.0.0.1', asn: 100 + (i % 3), country: 'US' } }),
      ])
    }
    h.learnAll([toolCall(ts + 2, { agent: { id: `child-${i}`, blueprintId: 'bp-x', parentId: 'agent-a' } })])
  }
  return h
}

describe.each(DETECTORS.map((d) => [d.name, d] as const))('%s', (_name, detector) => {
  it("keeps blueprint-only fields out of an agent's own state, before and after a restore", () => {
    const h = learned(detector)
    const own = h.agents.get('agent-a')!.state
    const blueprint = json(h.blueprints.get('bp-x')!.state)
    const saved = json(own)
    for (const key of BLUEPRINT_ONLY) expect(saved, key).not.toHaveProperty(key)
    const restored = json(detector.revive ? detector.revive(json(own)) : json(own))
    for (const key of BLUEPRINT_ONLY) expect(restored, key).not.toHaveProperty(key)
    // The blueprint's state does learn them (those this detector has): they are absent from the
    // agent's state because it never writes them, not because nothing does.
    const initKeys = Object.keys(json(detector.init()))
    const used = BLUEPRINT_ONLY.filter((k) => k in blueprint)
    expect(used.every((k) => !initKeys.includes(k))).toBe(true)
    if (['resource_novelty', 'tool_novelty', 'tool_sequence', 'signin_context', 'delegation', 'time_of_week'].includes(detector.name)) expect(used.length, `${detector.name} learns none`).toBeGreaterThan(0)
  })
})
