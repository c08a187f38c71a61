import { describe, expect, it } from 'vitest'
import { FLEET_AGENTS_PER_KEY, FLEET_KEYS, newBlueprintProfile } from '../../src/baselines/profiles.ts'
import { mergeSightings, recordSighting } from '../../src/pipeline/fleet-change.ts'

const HOUR = 3_600_000

describe('sightings of two partitions merged', () => {
  it('unite, keeping the newest time per agent, and count towards the quorum as one blueprint', () => {
    const a = newBlueprintProfile('bp')
    const b = newBlueprintProfile('bp')
    recordSighting(a, 'resource:x', 'agent-1', 1_000, HOUR)
    recordSighting(a, 'resource:x', 'agent-2', 2_000, HOUR)
    recordSighting(b, 'resource:x', 'agent-2', 5_000, HOUR)
    recordSighting(b, 'resource:y', 'agent-3', 3_000, HOUR)
    mergeSightings(a, b.sightings)
    expect(a.sightings).toEqual({ 'resource:x': { 'agent-1': 1_000, 'agent-2': 5_000 }, 'resource:y': { 'agent-3': 3_000 } })
    // Nothing of b is aliased: b keeps its own.
    expect(b.sightings['resource:x']).toEqual({ 'agent-2': 5_000 })
    expect(recordSighting(a, 'resource:x', 'agent-4', 6_000, HOUR)).toBe(3)
  })

  it('stay within the bounds recordSighting keeps: the stalest agents of a key go, then the least recent keys', () => {
    const a = newBlueprintProfile('bp')
    const b = newBlueprintProfile('bp')
    for (let i = 0; i < FLEET_AGENTS_PER_KEY; i++) recordSighting(a, 'k', `a-${i}`, 1_000 + i, HOUR)
    for (let i = 0; i < FLEET_AGENTS_PER_KEY; i++) recordSighting(b, 'k', `b-${i}`, 2_000 + i, HOUR)
    mergeSightings(a, b.sightings)
    expect(a.sightings['k']).toEqual(b.sightings['k'])

    const c = newBlueprintProfile('bp')
    for (let i = 0; i < FLEET_KEYS - 1; i++) recordSighting(c, `key-${i}`, 'c-0', 10_000 + i, HOUR)
    mergeSightings(a, c.sightings)
    expect(Object.keys(a.sightings)).toHaveLength(FLEET_KEYS)
    recordSighting(c, 'newest', 'c-0', 20_000, HOUR)
    mergeSightings(a, c.sightings)
    // One key over: the one seen least recently of all went.
    expect(Object.keys(a.sightings)).toHaveLength(FLEET_KEYS)
    expect(a.sightings['k']).toBeUndefined()
    expect(a.sightings['newest']).toEqual({ 'c-0': 20_000 })
  })
})

describe('agents named like Object.prototype members', () => {
  const names = ['constructor', '__proto__', 'toString', 'hasOwnProperty']

  it('count towards the quorum like any other agent, and survive a save and a merge', () => {
    const a = newBlueprintProfile('bp')
    names.forEach((name, i) => expect(recordSighting(a, 'resource:x', name, 1_000 + i, HOUR)).toBe(i + 1))
    // A later sighting of the same agent is not a new agent.
    expect(recordSighting(a, 'resource:x', '__proto__', 9_000, HOUR)).toBe(names.length)
    const seen = a.sightings['resource:x']!
    expect(Object.getPrototypeOf(seen)).toBe(Object.prototype)
    expect(Object.keys(seen).sort()).toEqual([...names].sort())
    expect(seen['__proto__' as string]).toBe(9_000)

    const saved = JSON.parse(JSON.stringify(a.sightings)) as typeof a.sightings
    const b = newBlueprintProfile('bp')
    recordSighting(b, 'resource:x', 'constructor', 12_000, HOUR)
    mergeSightings(b, saved)
    expect(Object.keys(b.sightings['resource:x']!).sort()).toEqual([...names].sort())
    expect(b.sightings['resource:x']!['constructor']).toBe(12_000)
    expect(b.sightings['resource:x']!['toString']).toBe(1_002)
    expect(recordSighting(b, 'resource:x', 'valueOf', 13_000, HOUR)).toBe(names.length + 1)
  })
})
