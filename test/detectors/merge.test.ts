/**
 * A blueprint's peer baseline kept as partials, one per input partition, and judged as their merge:
 * for every registered detector, on a simulated fleet whose agents are split into two partitions by
 * a hash of their id,
 *
 * (a) merging the two partials into an empty state gives the view that learned every agent;
 * (b) learning into partials beside the view does not change the view;
 * (c) a merged state shares nothing with the partials, which keep learning;
 * (d) with small capacities, merged tables hold at most their capacity and keep the most used keys.
 */
import { describe, expect, it } from 'vitest'
import { DETECTORS } from '../../detectors/index.ts'
import { CountTable } from '../../detectors/bounded.ts'
import { withPlainArrays } from '../../detectors/packed.ts'
import type { Detector, DetectorContext } from '../../detectors/types.ts'
import { decodeEvent, type AgentEvent } from '../../schemas/events.ts'
import { generateFleet } from '../../src/sim/index.ts'

/** Hours of learned history after which an agent counts as an established peer (the config default). */
const ESTABLISHED_HOURS = 72

const events: AgentEvent[] = generateFleet({ seed: 7, agents: 40, days: 10 }).events.map((raw) => {
  const d = decodeEvent(raw)
  if (!d.ok) throw new Error(`simulated event ${raw.eventId}: ${d.reason}`)
  return d.event
})

/** The partition (0 or 1) of an agent: FNV-1a of its id. */
function partitionOf(agentId: string): 0 | 1 {
  let h = 0x811c9dc5
  for (let i = 0; i < agentId.length; i++) h = Math.imul(h ^ agentId.charCodeAt(i), 0x01000193)
  return ((h >>> 0) % 2) as 0 | 1
}

const json = (x: unknown): any => JSON.parse(JSON.stringify(x))
/** As people read it (tables as key -> [count, first, last], typed arrays as numbers): key order does not matter. */
const readable = (x: unknown): any => json(withPlainArrays(x))
const revived = (d: Detector, s: unknown) => (d.revive ? d.revive(json(s)) : json(s))

/** `cfg` with every capacity (`capacity`, `peerCapacity`, `sizeCapacity`, ...) set to the largest value, or to `value`, the config accepts. */
function withCapacities(d: Detector, value?: number): any {
  const cfg: Record<string, unknown> = d.config.parse({})
  for (const key of Object.keys(cfg)) {
    if (!/capacity$/i.test(key)) continue
    for (const v of value === undefined ? [65536, 4096, 1024] : [value]) {
      if (d.config.safeParse({ ...cfg, [key]: v }).success) {
        cfg[key] = v
        break
      }
    }
  }
  return cfg
}

interface Learned {
  /** blueprint -> the view (all its agents) */
  views: Map<string, unknown>
  /** blueprint -> [partial of partition 0, partial of partition 1] */
  partials: Map<string, [unknown, unknown]>
}

/**
 * Learn `stream` the way the pipeline does (one fresh own state per agent, a context from what has
 * been learned so far), each event of a blueprint agent into `[view, partial of its partition]`
 * ('view+partial'), into `[view]` alone ('view') or into `[partial]` alone ('partial').
 */
function learn(d: Detector, cfg: unknown, stream: readonly AgentEvent[], mode: 'view+partial' | 'view' | 'partial' = 'view+partial', into?: Learned): Learned {
  const out: Learned = into ?? { views: new Map(), partials: new Map() }
  const own = new Map<string, { state: unknown; learned: number; firstTs: number; lastTs: number }>()
  const books = new Map<string, { learned: number; established: Set<string> }>()
  for (const e of stream) {
    let a = own.get(e.agent.id)
    if (!a) own.set(e.agent.id, (a = { state: d.init(), learned: 0, firstTs: e.ts, lastTs: e.ts }))
    const bp = e.agent.blueprintId
    let peers: unknown[] = []
    let book: { learned: number; established: Set<string> } | undefined
    if (bp) {
      if (!out.views.has(bp)) out.views.set(bp, d.init())
      if (!out.partials.has(bp)) out.partials.set(bp, [d.init(), d.init()])
      if (!books.has(bp)) books.set(bp, { learned: 0, established: new Set() })
      book = books.get(bp)!
      const view = out.views.get(bp)
      const partial = out.partials.get(bp)![partitionOf(e.agent.id)]
      peers = mode === 'view+partial' ? [view, partial] : mode === 'view' ? [view] : [partial]
    }
    const ctx: DetectorContext = {
      ownEvents: a.learned,
      ownHistoryMs: a.learned > 0 ? a.lastTs - a.firstTs : 0,
      peerAgents: book?.established.size ?? 0,
      peerEvents: book?.learned ?? 0,
    }
    d.learn(e, a.state, peers, cfg, ctx)
    if (a.learned === 0) a.firstTs = e.ts
    a.learned += 1
    a.lastTs = Math.max(a.lastTs, e.ts)
    if (book) {
      book.learned += 1
      if (e.ts - a.firstTs >= ESTABLISHED_HOURS * 3_600_000) book.established.add(e.agent.id)
    }
  }
  return out
}

/** mergePeers(mergePeers(init(), partial 0), partial 1), from the partials as saved and restored. */
function merged(d: Detector, cfg: unknown, partials: readonly [unknown, unknown]): unknown {
  const into = d.init()
  d.mergePeers(into, revived(d, partials[0]), cfg)
  d.mergePeers(into, revived(d, partials[1]), cfg)
  return into
}

/**
 * Fields that cannot be merged exactly, per detector, with why; (a) compares them by `check` and
 * every other field exactly.
 */
const APPROXIMATE: Record<string, { why: string; fields: string[]; check: (merged: any, view: any) => void }> = {
  volume: {
    why:
      'the hour-of-week rhythm (slots) is a moving average of log2(1 + volume per active agent) of each ' +
      'closed hour, and an average over the union of two agent sets is not a function of the two ' +
      'averages; the mean size per call is a running mean rounded to 3 decimals after every call, which ' +
      'stops moving once (size - mean) / calls falls below the rounding, so its value depends on the order of the calls',
    fields: ['slotsQ', 'sizes'],
    check(m, v) {
      // On average over the 168 x 3 slots (stored in 1/1024 doublings), within a third of a doubling of the view.
      const off = m.slotsQ.reduce((sum: number, x: number, i: number) => sum + Math.abs(x - v.slotsQ[i]), 0) / v.slotsQ.length / 1024
      expect(off).toBeLessThanOrEqual(1 / 3)
      expect(Object.keys(m.sizes).sort()).toEqual(Object.keys(v.sizes).sort())
      for (const tool of Object.keys(v.sizes)) {
        const [mc, mr, mb, mmr, mmb] = m.sizes[tool]
        const [vc, vr, vb, vmr, vmb] = v.sizes[tool]
        // Calls and the largest call are exact; the means within a tenth.
        expect([mc, mr, mb]).toEqual([vc, vr, vb])
        expect(Math.abs(mmr - vmr)).toBeLessThanOrEqual(0.1 * Math.max(1, vmr))
        expect(Math.abs(mmb - vmb)).toBeLessThanOrEqual(0.1 * Math.max(1, vmb))
      }
    },
  },
  delegation: {
    why:
      'the worst closed spawn window of a parent (usualMaxSpawns) is a decaying maximum over windows that ' +
      'hold the spawns of every partition in the view, but of one partition in each partial',
    fields: ['usualMaxSpawns'],
    check(m, v) {
      expect(m.usualMaxSpawns).toBeLessThanOrEqual(v.usualMaxSpawns)
    },
  },
}

function without(state: any, fields: readonly string[]): any {
  const copy = readable(state)
  for (const f of fields) delete copy[f]
  return copy
}

describe('the simulated fleet', () => {
  it('has blueprints with agents in both partitions', () => {
    const parts = new Map<string, Set<number>>()
    for (const e of events) if (e.agent.blueprintId) (parts.get(e.agent.blueprintId) ?? parts.set(e.agent.blueprintId, new Set()).get(e.agent.blueprintId)!).add(partitionOf(e.agent.id))
    expect([...parts.values()].filter((p) => p.size === 2).length).toBeGreaterThanOrEqual(3)
  })
})

describe.each(DETECTORS.map((d) => [d.name, d] as const))('%s', (name, detector) => {
  const cfg = withCapacities(detector)
  const learned = learn(detector, cfg, events)

  it('(a) merges the partials of two partitions into the view', () => {
    const approx = APPROXIMATE[name]
    for (const [bp, view] of learned.views) {
      const m = merged(detector, cfg, learned.partials.get(bp)!)
      if (approx) {
        expect(without(m, approx.fields), bp).toEqual(without(view, approx.fields))
        approx.check(readable(m), readable(view))
      } else expect(readable(m), bp).toEqual(readable(view))
    }
  })

  it('(b) learns the same view with or without partials beside it', () => {
    const alone = learn(detector, cfg, events, 'view')
    for (const [bp, view] of learned.views) expect(readable(view), bp).toEqual(readable(alone.views.get(bp)))
  })

  it('(c) shares nothing with the states merged from, which keep learning', () => {
    const partials = learn(detector, cfg, events, 'partial')
    const intos = new Map<string, unknown>()
    for (const [bp, [p0, p1]] of partials.partials) {
      const into = detector.init()
      detector.mergePeers(into, p0, cfg)
      detector.mergePeers(into, p1, cfg)
      intos.set(bp, into)
    }
    const before = new Map([...intos].map(([bp, s]) => [bp, readable(s)]))
    // The same stream again, into the same partials, on later dates: every table, window and count moves.
    const later = events.map((e) => ({ ...e, ts: e.ts + 14 * 86_400_000 }))
    learn(detector, cfg, later, 'partial', partials)
    for (const [bp, into] of intos) expect(readable(into), bp).toEqual(before.get(bp))
  })

  it('(d) keeps at most the capacity, and the most used keys, when merging full tables', () => {
    const small = withCapacities(detector, 8)
    const partials = learn(detector, small, events, 'partial')
    for (const [bp, [p0, p1]] of partials.partials) {
      const m = readable(merged(detector, small, [p0, p1]))
      const [a, b] = [readable(p0), readable(p1)]
      for (const field of Object.keys(m)) {
        if (!isTable(m[field])) continue
        expect(Object.keys(m[field]).length, `${bp} ${field}`).toBeLessThanOrEqual(8)
        // Uses of a key over both partials; a spawn window's count is not a use, so spawns are left out.
        if (field === 'spawns') continue
        const uses = (key: string) => (Object.hasOwn(a[field] ?? {}, key) ? a[field][key][0] : 0) + (Object.hasOwn(b[field] ?? {}, key) ? b[field][key][0] : 0)
        const all = new Set([...Object.keys(a[field] ?? {}), ...Object.keys(b[field] ?? {})])
        const kept = Object.keys(m[field])
        const dropped = [...all].filter((k) => !Object.hasOwn(m[field], k))
        if (dropped.length === 0) continue
        expect(Math.min(...kept.map(uses)), `${bp} ${field}`).toBeGreaterThanOrEqual(Math.max(...dropped.map(uses)))
      }
    }
  })
})

/** A bounded table: an object whose values are all [count, ...numbers]. */
function isTable(v: unknown): v is Record<string, number[]> {
  if (v === null || typeof v !== 'object' || Array.isArray(v)) return false
  const values = Object.values(v)
  return values.length > 0 && values.every((x) => Array.isArray(x) && x.length >= 3 && x.every((n) => typeof n === 'number'))
}

describe('CountTable.merge', () => {
  const table = (saved: unknown) => CountTable.from(saved)

  it('adds counts, keeps the earliest first and latest last seen, and copies entries', () => {
    const into = table({ a: [2, 10, 20] })
    const from = table({ a: [3, 5, 15], b: [1, 7, 7] })
    into.merge(from, 8)
    expect(readable(into)).toEqual({ a: [5, 5, 20], b: [1, 7, 7] })
    from.bump('b', 8, 8)
    expect(into.count('b')).toBe(1)
  })

  it('counts constructor and __proto__ like any other name', () => {
    const into = new CountTable()
    const from = table(JSON.parse('{"__proto__": [2, 1, 1], "constructor": [3, 1, 1]}'))
    into.merge(from, 8)
    into.merge(from, 8)
    expect([...into.keyList()].sort()).toEqual(['__proto__', 'constructor'])
    expect(readable(into)).toEqual(JSON.parse('{"__proto__": [4, 1, 1], "constructor": [6, 1, 1]}'))
  })

  it('evicts the least used, then least recently seen, down to the capacity', () => {
    const into = table({ a: [5, 0, 1], b: [1, 0, 9], c: [1, 0, 2] })
    into.merge(table({ d: [3, 0, 3], b: [1, 0, 4] }), 3)
    expect([...into.keyList()].sort()).toEqual(['a', 'b', 'd'])
    expect(readable(into).b).toEqual([2, 0, 9])
  })

  it('takes the larger value with Math.max, for tables of levels rather than counts', () => {
    const into = table({ a: [2, 0, 1] })
    into.merge(table({ a: [1, 0, 2], b: [3, 0, 2] }), 8, Math.max)
    expect(readable(into)).toEqual({ a: [2, 0, 2], b: [3, 0, 2] })
  })
})
