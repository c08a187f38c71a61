import { deflateRawSync } from 'node:zlib'
import { describe, expect, it } from 'vitest'
import { DormantProfiles } from '../../src/baselines/dormant-profiles.ts'
import { AgentProfiles } from '../../src/baselines/agent-profiles.ts'
import { Baselines } from '../../src/baselines/baselines.ts'
import { newAgentProfile, type AgentProfile } from '../../src/baselines/profiles.ts'
import { Pipeline } from '../../src/pipeline/pipeline.ts'
import { validateConfig } from '../../src/config/load.ts'
import { benchFleet, decodeAll } from '../../src/bench/data.ts'
import { T0, toolCall } from '../../detectors/fixtures/kit.ts'
import { CARVED_CACHE } from '../../detectors/packed.ts'
import type { RiskEvent } from '../../schemas/risk.ts'

function profile(id: string, opts: { blueprintId?: string; partition?: number; lastTs?: number; tools?: string[] } = {}): AgentProfile {
  const p = newAgentProfile(toolCall(opts.lastTs ?? T0, { agent: { id, blueprintId: opts.blueprintId } }))
  if (opts.partition !== undefined) p.partition = opts.partition
  // Vocabulary that agents of one blueprint share, as their tables do.
  p.flagged = (opts.tools ?? []).map((tool, i) => toolCall(T0 + i, { agent: { id, blueprintId: opts.blueprintId }, tool }))
  return p
}

const toolsOf = (bp: string) => Array.from({ length: 12 }, (_, i) => `${bp}.tool-${i}.with-a-long-name`)

describe('dormant profiles', () => {
  it('give back exactly the JSON frozen, across blueprints, partitions and a dictionary that fills up', () => {
    const dormant = new DormantProfiles()
    const frozen = new Map<string, string>()
    // Enough agents for each blueprint's dictionary to fill, so records deflated against every
    // prefix of it are read back.
    for (let i = 0; i < 60; i++) {
      const bp = i % 3 === 2 ? undefined : `bp-${i % 3}`
      const p = profile(`agent-${i}-ünï`, { blueprintId: bp, partition: i % 4 === 3 ? -1 : i % 4, tools: toolsOf(bp ?? 'none') })
      p.seen = i
      const json = JSON.stringify(p)
      dormant.freeze(p.agentId, bp, p.partition ?? -1, i / 100, json)
      frozen.set(p.agentId, json)
    }
    expect(dormant.size).toBe(60)
    for (const [id, json] of frozen) expect(dormant.read(id)).toBe(json)
    expect(dormant.idsOn(new Set([-1])).sort()).toEqual([...frozen.keys()].filter((_, i) => i % 4 === 3).sort())
    expect(dormant.idsOn(new Set([0, 2])).length).toBe(30)
    // A listing's view of each, without reading it.
    const entries = [...dormant.entries()]
    expect(entries).toHaveLength(60)
    expect(entries[5]).toEqual({ agentId: 'agent-5-ünï', blueprintId: undefined, riskScore: 0.05 })
    expect(entries[7]).toEqual({ agentId: 'agent-7-ünï', blueprintId: 'bp-1', riskScore: 0.07 })

    // Freezing again replaces; thawing takes the profile out; deleting forgets it.
    dormant.freeze('agent-0-ünï', 'bp-0', 0, 0, '{"again":true}')
    expect(dormant.read('agent-0-ünï')).toBe('{"again":true}')
    expect(dormant.thaw('agent-0-ünï')).toBe('{"again":true}')
    expect(dormant.has('agent-0-ünï')).toBe(false)
    expect(dormant.thaw('agent-0-ünï')).toBeUndefined()
    expect(dormant.delete('agent-1-ünï')).toBe(true)
    expect(dormant.delete('agent-1-ünï')).toBe(false)
    expect(dormant.size).toBe(58)
  })

  it('deflate an agent against what its blueprint peers share, to less than the agent alone deflates to', () => {
    const dormant = new DormantProfiles()
    for (let i = 0; i < 3; i++) {
      const p = profile(`peer-${i}`, { blueprintId: 'bp', tools: toolsOf('bp') })
      dormant.freeze(p.agentId, 'bp', -1, 0, JSON.stringify(p))
    }
    const before = dormant.bytes
    const json = JSON.stringify(profile('newcomer', { blueprintId: 'bp', tools: toolsOf('bp') }))
    dormant.freeze('newcomer', 'bp', -1, 0, json)
    const alone = deflateRawSync(json, { level: 6 }).length
    expect(dormant.bytes - before).toBeLessThan(alone / 2)
    // Another blueprint's vocabulary is not in that dictionary.
    const other = JSON.stringify(profile('stranger', { blueprintId: 'other', tools: toolsOf('other') }))
    dormant.freeze('stranger', 'other', -1, 0, other)
    expect(dormant.read('stranger')).toBe(other)
  })
})

describe('agent profiles kept dormant', () => {
  const profiles = () => new AgentProfiles((json) => JSON.parse(json) as AgentProfile)

  it('are counted, known and found by partition while dormant, and live again when read', () => {
    const agents = profiles()
    const a = profile('a', { blueprintId: 'bp', partition: 2 })
    agents.set('a', a)
    agents.set('b', profile('b', { blueprintId: 'bp', partition: 3 }))
    agents.freeze(a)
    expect(agents.dormant.size).toBe(1)
    expect([...agents.liveValues()].map((p) => p.agentId)).toEqual(['b'])
    expect(agents.size).toBe(2)
    expect(agents.has('a')).toBe(true)
    expect(agents.idsOn(new Set([2]))).toEqual(['a'])

    // A reader of every agent gets the dormant one too, and leaves it dormant.
    expect([...agents.values()].map((p) => p.agentId).sort()).toEqual(['a', 'b'])
    expect(agents.dormant.size).toBe(1)

    const back = agents.get('a')!
    expect(back).not.toBe(a)
    expect(JSON.stringify(back)).toBe(JSON.stringify(a))
    expect(agents.dormant.size).toBe(0)
    expect(agents.get('a')).toBe(back)
  })

  it('are replaced by a profile set or held later, and deleted', () => {
    const agents = profiles()
    const a = profile('a')
    agents.set('a', a)
    agents.freeze(a)
    agents.set('a', { ...profile('a'), learned: 7 })
    expect(agents.dormant.size).toBe(0)
    expect(agents.get('a')!.learned).toBe(7)

    agents.freeze(agents.get('a')!)
    const saved = Buffer.from(JSON.stringify({ ...profile('a'), learned: 9 }))
    agents.hold('a', -1, T0, saved, 0, saved.length)
    expect(agents.dormant.size).toBe(0)
    expect(agents.get('a')!.learned).toBe(9)

    agents.freeze(agents.get('a')!)
    expect(agents.delete('a')).toBe(true)
    expect(agents.size).toBe(0)
    expect(agents.get('a')).toBeUndefined()
  })

  it('take in saved rows of agents idle for long as dormant, without parsing them, and revive the others', () => {
    let parsed = 0
    const agents = new AgentProfiles((json) => (parsed++, JSON.parse(json) as AgentProfile))
    const old = profile('old', { blueprintId: 'bp', partition: 1, lastTs: T0 })
    old.risk.families = { timing: [0.25, T0] }
    old.risk.score = 0.1234567890123
    // No blueprint of its own, but an event kept with one: not taken for the agent's.
    const orphan = profile('orphan', { partition: 2, lastTs: T0 })
    orphan.flagged = [toolCall(T0, { agent: { id: 'orphan', blueprintId: 'bp-of-an-event' } })]
    const recent = profile('recent', { blueprintId: 'bp', partition: 1, lastTs: T0 + 3_600_000 })
    for (const p of [old, orphan, recent]) {
      const json = Buffer.from(JSON.stringify(p))
      agents.hold(p.agentId, p.partition!, p.lastTs, json, 0, json.length)
    }
    while (agents.reviveSome(1, T0 + 60_000));
    expect(parsed).toBe(1)
    expect([...agents.liveValues()].map((p) => p.agentId)).toEqual(['recent'])
    expect([...agents.dormant.entries()]).toEqual([
      { agentId: 'old', blueprintId: 'bp', riskScore: 0.1234567890123 },
      { agentId: 'orphan', blueprintId: undefined, riskScore: 0 },
    ])
    expect(agents.idsOn(new Set([1])).sort()).toEqual(['old', 'recent'])
    // Read for a caller alone, it stays dormant.
    expect(agents.readDormant('old', (p) => p.risk.score)).toBe(0.1234567890123)
    expect(agents.dormant.has('old')).toBe(true)
    expect(JSON.stringify(agents.get('old'))).toBe(JSON.stringify(old))
    expect(JSON.stringify(agents.get('orphan'))).toBe(JSON.stringify(orphan))
  })
})

describe('freezing idle agents', () => {
  it('freezes only agents idle since before the cutoff, at level none and saved since their last change', () => {
    const baselines = new Baselines()
    const idle = [0, 1, 2, 3].map((i) => {
      const p = baselines.agentFor(toolCall(T0, { agent: { id: `idle-${i}` } }))
      p.lastTs = T0
      return p
    })
    const recent = baselines.agentFor(toolCall(T0, { agent: { id: 'recent' } }))
    recent.lastTs = T0 + 3_600_000
    idle[1]!.risk.level = 'low'
    baselines.takeDirty()
    baselines.markDirty(idle[2]!)

    while (baselines.freezeIdle(T0 + 60_000, 0));
    expect([...baselines.agents.dormant.ids()].sort()).toEqual(['idle-0', 'idle-3'])

    // Once saved, the changed one goes too, in the next pass.
    baselines.takeDirty()
    expect(baselines.freezeIdle(T0 + 60_000, 1000)).toBe(false)
    expect([...baselines.agents.dormant.ids()].sort()).toEqual(['idle-0', 'idle-2', 'idle-3'])
  })

  it('spreads a pass over calls of a small budget', () => {
    const baselines = new Baselines()
    for (let i = 0; i < 300; i++) baselines.agentFor(toolCall(T0, { agent: { id: `a-${i}`, blueprintId: 'bp' } }))
    baselines.takeDirty()
    let calls = 1
    while (baselines.freezeIdle(T0 + 1, 0)) calls++
    expect(baselines.agents.dormant.size).toBe(300)
    // A budget of 0 stops after each freeze; the last call finds the pass done.
    expect(calls).toBe(301)
  })

  it('moves agents that stay live out of the slabs their frozen neighbours left, unchanged', () => {
    const baselines = new Baselines()
    const first = baselines.agentFor(toolCall(T0, { agent: { id: 'a-0', blueprintId: 'bp' } }))
    // Agents until typed arrays are carved from a second slab, and as many again.
    let n = 1
    while (baselines.agents.get(`a-${n - 1}`)!.recentIds.buffer === first.recentIds.buffer) baselines.agentFor(toolCall(T0, { agent: { id: `a-${n++}`, blueprintId: 'bp' } }))
    for (const end = 2 * n; n < end; ) baselines.agentFor(toolCall(T0, { agent: { id: `a-${n++}`, blueprintId: 'bp' } }))
    baselines.takeDirty()
    const active = new Map<string, { json: string; buffer: ArrayBufferLike }>()
    for (let i = 0; i < n; i += 10) {
      const p = baselines.agents.get(`a-${i}`)!
      baselines.markDirty(p)
      active.set(p.agentId, { json: JSON.stringify(p), buffer: p.recentIds.buffer })
    }

    // The first pass freezes the idle ones; an agent visited before its neighbours were frozen is moved by the next.
    while (baselines.freezeIdle(T0 + 1, 1000));
    while (baselines.freezeIdle(T0 + 1, 1000));
    expect(baselines.agents.dormant.size).toBe(n - active.size)
    const live = [...baselines.agents.liveValues()]
    expect(live.map((p) => p.agentId).sort()).toEqual([...active.keys()].sort())
    for (const p of live) {
      expect(JSON.stringify(p)).toBe(active.get(p.agentId)!.json)
      expect(p.recentIds.buffer).not.toBe(first.recentIds.buffer)
    }
    expect(live.filter((p) => p.recentIds.buffer !== active.get(p.agentId)!.buffer).length).toBeGreaterThan(active.size / 2)
  })

  it("moves the blueprints' typed arrays out of the slabs agents are carved from, at the end of a pass, unchanged", () => {
    const pipeline = new Pipeline(validateConfig({ baselines: { dormantAfterMinutes: 20 } }))
    for (const e of decodeAll(benchFleet({ seed: 5, agents: 12, days: 2 }).raw)) pipeline.process(e, { partition: e.agent.id.length % 3 })
    const baselines = pipeline.baselines
    const peers = () => [...baselines.blueprints.values(), ...[...baselines.partials.values()].flatMap((m) => [...m.values()])]
    const arraysOf = (value: unknown, out: ArrayBufferView[] = [], depth = 6): ArrayBufferView[] => {
      if (ArrayBuffer.isView(value)) out.push(value)
      else if (depth > 0 && typeof value === 'object' && value !== null) {
        const cache = (value as { [CARVED_CACHE]?: unknown })[CARVED_CACHE]
        if (cache) arraysOf(cache, out, depth - 1)
        for (const v of Object.values(value)) arraysOf(v, out, depth - 1)
      }
      return out
    }
    const inSlab = (a: ArrayBufferView) => a.buffer.byteLength !== a.byteLength
    expect(peers().length).toBeGreaterThan(3)
    const before = peers().map((b) => JSON.stringify(b))
    const carvedAmongAgents = peers().flatMap((b) => arraysOf(b.states)).filter(inSlab)
    expect(carvedAmongAgents.length).toBeGreaterThan(10)

    baselines.takeDirty()
    while (baselines.freezeIdle(pipeline.dormantBefore, Infinity));
    const after = peers().flatMap((b) => arraysOf(b.states))
    expect(after.filter(inSlab)).toEqual([])
    expect(peers().map((b) => JSON.stringify(b))).toEqual(before)
    // Agents' arrays stay in their slabs: one buffer each would cost them more than the slab does.
    expect([...baselines.agents.liveValues()].every((p) => inSlab(p.recentIds))).toBe(true)
    // Nothing left to move until a blueprint carves again.
    expect(baselines.moveBlueprintsOutOfSlabs()).toBe(0)
  })

  // With all 64 recent ids kept, every profile is the live pipeline's to the byte; with the
  // default's 16, all but the rings, whose older hashes a dormant record left out.
  it.each([
    ['all of their recent ids', 64, (p: object) => JSON.stringify(p)],
    ["the default's recent ids", undefined, (p: object) => JSON.stringify({ ...p, recentIds: undefined })],
  ])('scores a stream exactly as a pipeline that keeps every agent live, keeping %s', (_, dormantRecentIds, comparableProfile) => {
    const events = decodeAll(benchFleet({ seed: 5, agents: 20, days: 9 }).raw)
    const live = new Pipeline(validateConfig({ baselines: { dormantAfterMinutes: 0 } }))
    const dozing = new Pipeline(validateConfig({ baselines: { dormantAfterMinutes: 20, ...(dormantRecentIds === undefined ? {} : { dormantRecentIds }) } }))
    const a: RiskEvent[] = []
    const b: RiskEvent[] = []
    let woken = 0
    events.forEach((e, i) => {
      live.process(e, undefined, a)
      if (dozing.baselines.agents.dormant.has(e.agent.id)) woken++
      dozing.process(e, undefined, b)
      // A checkpoint, then a pass of the dormancy sweep, as the service runs them.
      if (i % 50 === 49) {
        dozing.baselines.takeDirty()
        while (dozing.baselines.freezeIdle(dozing.dormantBefore, 1));
      }
    })
    expect(woken).toBeGreaterThan(100)
    expect(a.length).toBeGreaterThan(0)
    const comparable = (r: RiskEvent) => JSON.stringify({ ...r, detectedAt: undefined })
    expect(b.map(comparable)).toEqual(a.map(comparable))
    expect(dozing.baselines.agents.dormant.size).toBeGreaterThan(0)
    for (const p of live.baselines.agents.values()) expect(comparableProfile(dozing.baselines.agents.get(p.agentId)!)).toBe(comparableProfile(p))
    // The blueprints too, whose arrays each pass moved out of the agents' slabs.
    for (const [id, view] of live.baselines.blueprints) expect(JSON.stringify(dozing.baselines.blueprints.get(id))).toBe(JSON.stringify(view))
  })
})

describe('dormant agents with the newest of their recent ids (baselines.dormantRecentIds)', () => {
  /** Agent a's 70 events, then b's an hour later; a checkpoint and a sweep leave a dormant, then a redelivery and resends of a's. */
  function run(dormantRecentIds: number) {
    const p = new Pipeline(validateConfig({ baselines: { dormantAfterMinutes: 20, dormantRecentIds } }))
    // A dictionary already full of other text: a's record holds its ring, not a reference to it.
    p.baselines.agents.dormant.freeze('filler', 'bp-fx', -1, 0, '-'.repeat(28 * 1024))
    p.baselines.agents.dormant.delete('filler')
    const meta = (offset: number) => ({ topic: 'tools', partition: 0, offset })
    const events = Array.from({ length: 70 }, (_, i) => toolCall(T0 + i * 1000, { agent: { id: 'a' } }))
    events.forEach((e, i) => expect(p.process(e, meta(i))).toBe('processed'))
    p.process(toolCall(T0 + 3_600_000, { agent: { id: 'b' } }), meta(70))
    p.baselines.takeDirty()
    while (p.baselines.freezeIdle(p.dormantBefore, Infinity));
    expect([...p.baselines.agents.dormant.ids()]).toEqual(['a'])
    const recordBytes = p.baselines.agents.dormant.bytes
    const dormantJson = p.baselines.agents.dormant.read('a')!
    // Kafka redelivers the last one at its offset; a producer sends the one before again at a new
    // offset, then the 41st (among the last 64, not the last 16).
    const redelivered = p.process({ ...events[69]! }, meta(69))
    const thawed = JSON.parse(JSON.stringify(p.baselines.agents.get('a'))) as Record<string, unknown>
    const resent = p.process({ ...events[68]! }, meta(71))
    const resentOlder = p.process({ ...events[40]! }, meta(72))
    return { recordBytes, dormantJson, redelivered, resent, resentOlder, thawed, learned: p.baselines.agents.get('a')!.learned }
  }

  it('keep ~7 bytes less a hash left out, drop a redelivery by its offset whatever they keep, and learn a resend of an id not kept again', () => {
    const [all, newest, none] = [run(64), run(16), run(0)]
    expect(JSON.parse(none.dormantJson).recentIds).toBeNull()
    expect(JSON.parse(newest.dormantJson).recentIds.next).toBe(16)
    // Hashes of 53 bits that no dictionary holds: ~6.6 bytes each at the least.
    expect(all.recordBytes - newest.recordBytes).toBeGreaterThan(48 * 6)
    expect(newest.recordBytes - none.recordBytes).toBeGreaterThan(16 * 6)
    expect([all.redelivered, newest.redelivered, none.redelivered]).toEqual(['duplicate', 'duplicate', 'duplicate'])
    // Thawed, the agent is as it was but for its ring.
    for (const cut of [newest, none]) expect({ ...cut.thawed, recentIds: undefined }).toEqual({ ...all.thawed, recentIds: undefined })
    expect([all.resent, newest.resent, none.resent]).toEqual(['duplicate', 'duplicate', 'processed'])
    expect([all.resentOlder, newest.resentOlder, none.resentOlder]).toEqual(['duplicate', 'processed', 'processed'])
    expect([all.learned, newest.learned, none.learned]).toEqual([70, 71, 72])
  })

  it('leave out the ring of a saved row taken in as dormant too, keeping none', () => {
    // Revived as a restore revives (the ring rebuilt from its JSON).
    const agents = new Baselines().agents
    agents.dormant.recentIdsKept = 0
    const old = profile('old', { blueprintId: 'bp', partition: 1, lastTs: T0 })
    for (let i = 0; i < 64; i++) old.recentIds.seenOrRemember(`e-${i}`)
    const json = Buffer.from(JSON.stringify(old))
    agents.hold('old', 1, T0, json, 0, json.length)
    agents.reviveAll(T0 + 60_000)
    expect(JSON.parse(agents.dormant.read('old')!)).toEqual({ ...JSON.parse(JSON.stringify(old)), recentIds: null })
    const back = agents.get('old')!
    expect(back.recentIds.seenOrRemember('e-63')).toBe(false)
    expect(JSON.stringify({ ...back, recentIds: undefined })).toBe(JSON.stringify({ ...old, recentIds: undefined }))
  })
})
