import { describe, expect, it } from 'vitest'
import { Baselines } from '../../src/baselines/baselines.ts'
import { newBlueprintProfile, type PartialCopy } from '../../src/baselines/profiles.ts'

function saved(partition: number, version: number, learned: number): PartialCopy {
  const profile = newBlueprintProfile('bp')
  profile.partition = partition
  profile.learned = learned
  return { blueprintId: 'bp', partition, version, profile }
}

/** Counts merges; adds `learned` only, enough to see which partials a view stands for. */
function merger() {
  const m = { calls: 0, merge: (into: { learned: number }, from: { learned: number }) => void ((m.calls += 1), (into.learned += from.learned)) }
  return m
}

describe('views, partials and remote partials of a blueprint', () => {
  it('an instance holding every partition builds its view once and never rebuilds it', () => {
    const b = new Baselines()
    const m = merger()
    b.restorePartials([saved(0, 1, 10)], m.merge)
    expect(b.blueprints.get('bp')?.learned).toBe(10)
    // The view stands for its one partial only: they are one object, learned once.
    expect(b.partial('bp', 0)).toBe(b.blueprint('bp'))
    b.partial('bp', 0)!.learned += 1
    expect(b.staleRemote([{ blueprintId: 'bp', partition: 0, version: 2 }])).toEqual([])
    expect(b.refresh([saved(0, 2, 99)], m.merge)).toBe(0)
    expect(b.blueprints.get('bp')?.learned).toBe(11)
    expect(m.calls).toBe(0)
  })

  it('a view that is its one partial separates from it when a second partial or a revocation comes, keeping what is to be saved', () => {
    const b = new Baselines()
    const view = b.blueprint('bp')!
    const zero = b.partial('bp', 0)!
    expect(zero).toBe(view)
    zero.learned = 7
    b.markDirty({ agentId: 'a' } as never, zero)
    const one = b.partial('bp', 1)!
    expect(one).not.toBe(view)
    const zeroNow = b.partial('bp', 0)!
    expect(zeroNow).not.toBe(view)
    expect(zeroNow.learned).toBe(7)
    expect(zeroNow.partition).toBe(0)
    expect(view.partition).toBeUndefined()
    // The checkpoint still saves partition 0's partial, now its own object.
    expect(b.takeDirty().partials).toEqual([zeroNow])

    const c = new Baselines()
    c.holdAssignedOnly()
    c.assign([3], [], merger().merge)
    const v = c.blueprint('bp')!
    const three = c.partial('bp', 3)!
    expect(three).toBe(v)
    three.learned = 4
    c.revoke([3])
    // Revoked: partition 3 is remote as saved; the view keeps what it knew, as its own object.
    expect(c.remote.get('bp')?.get(3)?.profile.learned).toBe(4)
    expect(c.remote.get('bp')?.get(3)?.profile).not.toBe(c.blueprint('bp'))
    expect(c.blueprint('bp')?.learned).toBe(4)
  })

  it('rebuilds a view when a remote partial changes or a partition arrives with a newer one, not when it arrives as known', () => {
    const b = new Baselines()
    b.holdAssignedOnly()
    const m = merger()
    b.restorePartials([saved(0, 1, 10), saved(1, 1, 20)], m.merge)
    expect(b.blueprints.get('bp')?.learned).toBe(30)
    expect(b.assign([0], [saved(0, 1, 10)], m.merge)).toBe(0)
    b.partial('bp', 0)!.learned += 5
    b.blueprint('bp')!.learned += 5
    expect(b.staleRemote([{ blueprintId: 'bp', partition: 0, version: 9 }, { blueprintId: 'bp', partition: 1, version: 2 }]).map((k) => k.partition)).toEqual([1])
    expect(b.refresh([saved(1, 2, 25)], m.merge)).toBe(1)
    expect(b.blueprints.get('bp')?.learned).toBe(40)
    // Partition 1 arrives with a newer partial than the remote copy: the view takes it.
    expect(b.assign([1], [saved(1, 3, 26)], m.merge)).toBe(1)
    expect(b.blueprints.get('bp')?.learned).toBe(41)
    expect([...b.partials.get('bp')!.keys()].sort()).toEqual([0, 1])
    expect(b.remote.get('bp')?.size).toBe(0)
  })

  it('on revocation keeps a partition\'s partial as remote, unchanged, and stops saving it', () => {
    const b = new Baselines()
    b.holdAssignedOnly()
    const m = merger()
    b.assign([0, 1], [], m.merge)
    const agent = { agentId: 'a' } as never
    b.markDirty(agent, b.partial('bp', 0))
    b.markDirty(agent, b.partial('bp', 1))
    b.revoke([1])
    expect(b.takeDirty().partials.map((p) => p.partition)).toEqual([0])
    expect(b.remote.get('bp')?.get(1)?.version).toBe(0)
    // Any saved copy replaces the one kept from memory.
    expect(b.staleRemote([{ blueprintId: 'bp', partition: 1, version: 1 }])).toHaveLength(1)
  })
})
