import { beforeAll, describe, expect, it } from 'vitest'
import { AgentEventSchema, type AgentEventInput } from '../../schemas/events.ts'
import { generateFleet, type Fleet } from '../../src/sim/generate.ts'
import { SCENARIOS, BENIGN_TYPES } from '../../src/sim/labels.ts'
import { mulberry32, Rng } from '../../src/sim/random.ts'

const DAY_MS = 86_400_000

describe('seeded randomness', () => {
  it('repeats for a seed and differs across seeds', () => {
    const a = mulberry32(42)
    const b = mulberry32(42)
    const c = mulberry32(43)
    const xs = Array.from({ length: 5 }, () => a())
    expect(Array.from({ length: 5 }, () => b())).toEqual(xs)
    expect(Array.from({ length: 5 }, () => c())).not.toEqual(xs)
    for (const x of xs) expect(x >= 0 && x < 1).toBe(true)
  })

  it('draws Poisson counts around their mean', () => {
    const rng = new Rng(7)
    let total = 0
    for (let i = 0; i < 20_000; i++) total += rng.poisson(3)
    expect(total / 20_000).toBeGreaterThan(2.9)
    expect(total / 20_000).toBeLessThan(3.1)
  })
})

describe('generateFleet (120 agents, 14 days)', () => {
  let fleet: Fleet
  let start: number
  beforeAll(() => {
    fleet = generateFleet({ seed: 11, agents: 120, days: 14 })
    start = Date.parse(fleet.labels.fleet.start)
  })

  it('is deterministic: the same seed gives identical events and labels', () => {
    const again = generateFleet({ seed: 11, agents: 120, days: 14 })
    expect(again.events.length).toBe(fleet.events.length)
    expect(JSON.stringify(again.events)).toBe(JSON.stringify(fleet.events))
    expect(again.labels).toEqual(fleet.labels)
    const other = generateFleet({ seed: 12, agents: 120, days: 14 })
    expect(JSON.stringify(other.events.slice(0, 50))).not.toBe(JSON.stringify(fleet.events.slice(0, 50)))
  })

  it('emits only events that pass the contract, with unique ids', () => {
    const ids = new Set<string>()
    for (const e of fleet.events) {
      const parsed = AgentEventSchema.safeParse(e)
      if (!parsed.success) throw new Error(`${e.eventId}: ${parsed.error.message}`)
      ids.add(e.eventId)
    }
    expect(ids.size).toBe(fleet.events.length)
  })

  it('emits events in non-decreasing time order, inside the run', () => {
    const end = Date.parse(fleet.labels.fleet.end)
    let previous = -Infinity
    for (const e of fleet.events) {
      const t = Date.parse(e.time)
      expect(t).toBeGreaterThanOrEqual(previous)
      previous = t
    }
    expect(Date.parse(fleet.events[0].time)).toBeGreaterThanOrEqual(start)
    expect(previous).toBeLessThan(end)
  })

  it('starts on a Monday and has both weekends as benign windows', () => {
    expect(new Date(start).getUTCDay()).toBe(1)
    expect(fleet.labels.benign.filter((w) => w.type === 'weekend')).toHaveLength(2)
    expect(new Set(fleet.labels.benign.map((w) => w.type))).toEqual(new Set(BENIGN_TYPES))
  })

  it('injects every scenario, and only after the first week', () => {
    const episodes = fleet.labels.episodes
    expect(new Set(episodes.map((e) => e.scenario))).toEqual(new Set(SCENARIOS))
    for (const ep of episodes) expect(Date.parse(ep.start)).toBeGreaterThanOrEqual(start + 7 * DAY_MS)
    const injected = new Set(episodes.flatMap((e) => e.eventIds))
    for (const e of fleet.events) if (Date.parse(e.time) < start + 7 * DAY_MS) expect(injected.has(e.eventId)).toBe(false)
  })

  it('keeps each episode\'s events inside its label window and on its agents', () => {
    const byId = new Map<string, AgentEventInput>(fleet.events.map((e) => [e.eventId, e]))
    for (const ep of fleet.labels.episodes) {
      expect(ep.eventIds.length).toBeGreaterThan(0)
      const times = ep.eventIds.map((id) => {
        const e = byId.get(id)
        if (!e) throw new Error(`${ep.episodeId}: event ${id} missing from the stream`)
        expect(ep.agentIds).toContain(e.agent.id)
        return Date.parse(e.time)
      })
      expect(Math.min(...times)).toBe(Date.parse(ep.start))
      expect(Math.max(...times)).toBe(Date.parse(ep.end))
    }
  })

  it('gives attacks their characteristic signals', () => {
    const byId = new Map<string, AgentEventInput>(fleet.events.map((e) => [e.eventId, e]))
    const eventsOf = (scenario: string) => fleet.labels.episodes.filter((e) => e.scenario === scenario).flatMap((ep) => ep.eventIds.map((id) => byId.get(id)!))
    const probes = eventsOf('privilege_probing').filter((e) => e.kind === 'tool_call')
    expect(probes.every((e) => e.kind === 'tool_call' && e.operation === 'admin' && e.outcome === 'denied')).toBe(true)
    const unfamiliar = eventsOf('unfamiliar_signin').filter((e) => e.kind === 'signin')
    expect(unfamiliar.every((e) => e.kind === 'signin' && e.credential === 'secret' && ![8075, 16509, 15169].includes(e.network.asn ?? 0))).toBe(true)
    const obo = eventsOf('unknown_obo_sensitive').filter((e) => e.kind === 'tool_call')
    expect(obo.every((e) => e.onBehalfOf?.userId.startsWith('u-ext-') && ['confidential', 'restricted'].includes(e.kind === 'tool_call' ? (e.sensitivity ?? '') : ''))).toBe(true)
    const spawned = eventsOf('spawn_burst').filter((e) => e.agent.parentId)
    expect(spawned.length).toBeGreaterThan(15)
  })

  it('runs sub-agents under their orchestrator: parentId set, trace shared with the parent', () => {
    const workerEvents = fleet.events.filter((e) => e.agent.blueprintId === 'bp-research-worker')
    expect(workerEvents.length).toBeGreaterThan(0)
    const parentTraces = new Set(fleet.events.filter((e) => e.agent.blueprintId === 'bp-research-orchestrator').map((e) => e.traceId))
    for (const e of workerEvents.slice(0, 500)) {
      expect(e.agent.parentId).toBeDefined()
      expect(parentTraces.has(e.traceId)).toBe(true)
    }
  })

  it('uses a stable user pool per attended agent', () => {
    const usersOf = new Map<string, Set<string>>()
    const injected = new Set(fleet.labels.episodes.flatMap((e) => e.eventIds))
    for (const e of fleet.events) {
      if (e.agent.blueprintId !== 'bp-support-desk' || !e.onBehalfOf || injected.has(e.eventId)) continue
      const set = usersOf.get(e.agent.id) ?? new Set()
      set.add(e.onBehalfOf.userId)
      usersOf.set(e.agent.id, set)
    }
    for (const users of usersOf.values()) expect(users.size).toBeLessThanOrEqual(24)
  })

  it('leaves the normal stream unchanged when attacks are turned off', () => {
    const quiet = generateFleet({ seed: 11, agents: 120, days: 14, attacks: false })
    expect(quiet.labels.episodes).toEqual([])
    const injected = new Set(fleet.labels.episodes.flatMap((e) => e.eventIds))
    const normal = fleet.events.filter((e) => !injected.has(e.eventId))
    expect(normal.map((e) => e.eventId)).toEqual(quiet.events.map((e) => e.eventId))
  })
})

describe('volume', () => {
  it('gives roughly 250,000 events for 300 agents over 14 days', () => {
    const fleet = generateFleet({ seed: 1, agents: 300, days: 14 })
    expect(fleet.events.length).toBeGreaterThan(200_000)
    expect(fleet.events.length).toBeLessThan(300_000)
    expect(fleet.labels.fleet.events).toBe(fleet.events.length)
  })
})
