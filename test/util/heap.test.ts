import { describe, expect, it } from 'vitest'
import { BYTES_PER_AGENT, DORMANT_BYTES_PER_AGENT, projectAgents } from '../../src/util/heap.ts'

const GiB = 2 ** 30

describe('heap projection for a restore', () => {
  it('says a million agents do not fit in Node default 4 GiB heap, and which limit would do', () => {
    const p = projectAgents(1_000_000, { usedBytes: 0.1 * GiB, limitBytes: 4 * GiB })
    expect(p.fits).toBe(false)
    expect(p.neededBytes).toBe(1_000_000 * BYTES_PER_AGENT)
    // A whole number of GiB, in MiB, that leaves the headroom.
    expect(p.suggestedMiB! % 1024).toBe(0)
    expect(projectAgents(1_000_000, { usedBytes: 0.1 * GiB, limitBytes: p.suggestedMiB! * 2 ** 20 }).fits).toBe(true)
    expect(projectAgents(1_000_000, { usedBytes: 0.1 * GiB, limitBytes: (p.suggestedMiB! - 1024) * 2 ** 20 }).fits).toBe(false)
  })

  it('lets a fleet that fits through without advice, counting what the heap already holds', () => {
    const p = projectAgents(100_000, { usedBytes: 0.1 * GiB, limitBytes: 4 * GiB })
    expect(p.fits).toBe(true)
    expect(p.suggestedMiB).toBeUndefined()
    expect(projectAgents(100_000, { usedBytes: 3.3 * GiB, limitBytes: 4 * GiB }).fits).toBe(false)
  })

  it('counts agents kept dormant at what a dormant agent takes', () => {
    const heap = { usedBytes: 0.1 * GiB, limitBytes: 4 * GiB }
    const idle = projectAgents(1_000_000, heap, 900_000)
    expect(idle.neededBytes).toBe(100_000 * BYTES_PER_AGENT + 900_000 * DORMANT_BYTES_PER_AGENT)
    expect(idle.fits).toBe(true)
    expect(projectAgents(1_000_000, heap, 0).fits).toBe(false)
  })

  it('reads this process heap when none is given', () => {
    const p = projectAgents(0)
    expect(p.fits).toBe(true)
    expect(p.limitBytes).toBeGreaterThan(p.usedBytes)
  })
})
