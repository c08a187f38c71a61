/**
 * No baseline grows with the number of distinct resources, tools, users, networks or sub-agents it
 * has seen: after 12,000 events that are all different, every detector's states hold no more values than
 * after the first 6,000 (both counts end on a whole hour, so hourly tallies compare like for like).
 */
import { describe, expect, it } from 'vitest'
import { DETECTORS } from '../../detectors/index.ts'
import { DetectorHarness } from '../../detectors/fixtures/harness.ts'
import { MINUTE, T0, signin, toolCall } from '../../detectors/fixtures/kit.ts'
import type { AgentEvent } from '../../schemas/events.ts'

/** Event i (minute i): a distinct resource, tool, user, network and sub-agent. */
function distinct(i: number): AgentEvent[] {
  const ts = T0 + i * MINUTE
  return [
    toolCall(ts, { tool: `tool.${i}`, resource: `res://${i}`, onBehalfOf: { userId: `user-${i}` }, traceId: `t-${i >> 1}`, records: i, bytes: i * 100 }),
    signin(ts + 1, { network: { ip: '10.0.0.1', asn: 10_000 + i, country: 'US', location: `loc-${i}` } }),
    toolCall(ts + 2, { agent: { id: `child-${i}`, blueprintId: 'bp-sub', parentId: i % 2 ? `child-${i - 1}` : 'root' } }),
  ]
}

/** Number of primitive values in a JSON value. */
function leaves(v: unknown): number {
  if (Array.isArray(v)) return v.reduce((n: number, x) => n + leaves(x), 0)
  if (v !== null && typeof v === 'object') return Object.values(v).reduce((n: number, x) => n + leaves(x), 0)
  return 1
}

describe.each(DETECTORS.map((d) => [d.name, d] as const))('%s', (_name, detector) => {
  it('keeps its states bounded over 12,000 distinct keys', () => {
    const h = new DetectorHarness(detector)
    for (let i = 0; i < 6_000; i++) h.learnAll(distinct(i))
    // Child agents each get their own small state; the agent and blueprint states must not
    // gain entries (fixed-size arrays fill with numbers but never lengthen).
    const entries = () => leaves([h.agents.get('agent-fx')?.state, h.blueprints.get('bp-fx')?.state, h.blueprints.get('bp-sub')?.state])
    const half = entries()
    for (let i = 6_000; i < 12_000; i++) h.learnAll(distinct(i))
    // Full tables shed a sixteenth at once (detectors/bounded.ts), so occupancy moves within about
    // 6%; a state that grew with distinct keys would double.
    expect(entries()).toBeLessThanOrEqual(half * 1.1)
    expect(half).toBeGreaterThan(0)
  })
})
