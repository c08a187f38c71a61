import { describe, expect, it } from 'vitest'
import { AgentProfiles } from '../../src/baselines/agent-profiles.ts'
import { newAgentProfile, type AgentProfile } from '../../src/baselines/profiles.ts'
import { T0, toolCall } from '../../detectors/fixtures/kit.ts'

function profile(id: string, partition?: number, lastTs = T0): AgentProfile {
  const p = newAgentProfile(toolCall(lastTs, { agent: { id } }))
  if (partition !== undefined) p.partition = partition
  return p
}

/** Profiles revived as JSON.parse gives them, counting revivals. */
function profiles(): { agents: AgentProfiles; revived: string[] } {
  const revived: string[] = []
  const agents = new AgentProfiles((json) => {
    const p = JSON.parse(json) as AgentProfile
    revived.push(p.agentId)
    return p
  })
  return { agents, revived }
}

/** Hold `p` as a restore does: its JSON copied out of a page that also holds other bytes. */
function hold(agents: AgentProfiles, p: AgentProfile, json = JSON.stringify(p)): void {
  const page = Buffer.from(`xx\t${json}\tyy`)
  agents.hold(p.agentId, p.partition ?? -1, p.lastTs, page, 3, page.length - 3)
}

describe('agent profiles held saved', () => {
  it('are counted and known without being revived, and revived once when first read', () => {
    const { agents, revived } = profiles()
    const held = ['a', 'b', 'ünï\tc'].map((id, i) => profile(id, i, T0 + i))
    for (const p of held) hold(agents, p)
    agents.set('live', profile('live'))

    expect(agents.size).toBe(4)
    expect(agents.has('b') && agents.has('live') && !agents.has('nobody')).toBe(true)
    expect(agents.saved.size).toBe(3)
    expect(agents.saved.bytes).toBe(held.reduce((n, p) => n + Buffer.byteLength(JSON.stringify(p)), 0))
    expect(agents.saved.latestTs).toBe(T0 + 2)
    expect(agents.get('nobody')).toBeUndefined()
    expect(revived).toEqual([])

    expect(agents.get('ünï\tc')).toEqual(JSON.parse(JSON.stringify(held[2])))
    expect(agents.get('ünï\tc')).toBe(agents.get('ünï\tc'))
    expect(revived).toEqual(['ünï\tc'])
    expect(agents.size).toBe(4)
    expect(agents.saved.size).toBe(2)
  })

  it('are replaced by a profile set or held later, and deleted from either form', () => {
    const { agents } = profiles()
    hold(agents, { ...profile('a'), learned: 1 })
    agents.set('a', { ...profile('a'), learned: 2 })
    expect(agents.saved.size).toBe(0)
    expect(agents.get('a')!.learned).toBe(2)
    // A restore of the agent's saved row replaces what memory held, as restoring its parsed profile does.
    hold(agents, { ...profile('a'), learned: 3 })
    expect(agents.size).toBe(1)
    expect(agents.get('a')!.learned).toBe(3)

    hold(agents, profile('b'))
    agents.set('c', profile('c'))
    expect(agents.delete('b')).toBe(true)
    expect(agents.delete('c')).toBe(true)
    expect(agents.delete('b')).toBe(false)
    expect(agents.size).toBe(1)
    expect(agents.saved.bytes).toBe(0)
  })

  it('are revived in the background in the order held, all of them by `values`', () => {
    const { agents, revived } = profiles()
    const ids = Array.from({ length: 50 }, (_, i) => `agent-${i}`)
    for (const id of ids) hold(agents, profile(id))
    agents.get('agent-3')
    // A zero budget still revives one: the background revival always makes progress.
    expect(agents.reviveSome(0)).toBe(true)
    expect(revived).toEqual(['agent-3', 'agent-0'])
    expect(agents.reviveSome(Infinity)).toBe(false)
    expect(revived.slice(2)).toEqual(ids.filter((id) => id !== 'agent-0' && id !== 'agent-3'))
    expect(agents.saved.size).toBe(0)
    expect(agents.reviveSome(Infinity)).toBe(false)

    const more = profiles()
    for (const id of ids) hold(more.agents, profile(id))
    expect([...more.agents.values()].map((p) => p.agentId)).toEqual(ids)
    expect(more.agents.saved.size).toBe(0)
  })

  it('of a partition are found with the live ones, without reviving any', () => {
    const { agents, revived } = profiles()
    hold(agents, profile('held-0', 0))
    hold(agents, profile('held-1', 1))
    hold(agents, profile('held-none'))
    agents.set('live-1', profile('live-1', 1))
    agents.set('live-2', profile('live-2', 2))
    expect(agents.idsOn(new Set([1, 2])).sort()).toEqual(['held-1', 'live-1', 'live-2'])
    expect(agents.idsOn(new Set([-1]))).toEqual(['held-none'])
    expect(revived).toEqual([])
  })

  it('that cannot be revived are reported and dropped: the agent starts afresh', () => {
    const { agents } = profiles()
    hold(agents, profile('broken'), '{"agentId": "bro')
    hold(agents, profile('fine'))
    // Without a report to make, reading the damaged profile throws.
    expect(() => agents.get('broken')).toThrow()

    hold(agents, profile('broken'), '{"agentId": "bro')
    const reported: string[] = []
    agents.unreadable = (id, reason) => reported.push(`${id}: ${reason.length > 0}`)
    expect(agents.get('broken')).toBeUndefined()
    expect(agents.has('broken')).toBe(false)
    expect(reported).toEqual(['broken: true'])
    expect(agents.get('fine')!.agentId).toBe('fine')
  })

  it('larger than a slab are held whole beside the others, and holding starts afresh once all are taken', () => {
    const { agents } = profiles()
    // 40 MiB of JSON: more than the first slab (16 MiB) and the next (32 MiB).
    const big = { ...profile('big'), flagged: [], note: 'x'.repeat(40 * 2 ** 20) } as AgentProfile
    hold(agents, profile('small'))
    hold(agents, big)
    hold(agents, profile('after'))
    expect(agents.get('big')).toEqual(JSON.parse(JSON.stringify(big)))
    expect(agents.get('small')!.agentId).toBe('small')
    expect(agents.get('after')!.agentId).toBe('after')
    expect(agents.saved.bytes).toBe(0)
    // Emptied: holding starts afresh.
    hold(agents, profile('again'))
    expect(agents.saved.size).toBe(1)
    expect(agents.get('again')!.agentId).toBe('again')
  })
})
