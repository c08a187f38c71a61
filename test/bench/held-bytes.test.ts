/**
 * The memory benches' measure: what a "before" held must still be held at each measure after it,
 * else the difference undercounts. Needs the collector callable, as the bench children have it
 * (node --expose-gc); this test process turns the flag on itself.
 */
import v8 from 'node:v8'
import vm from 'node:vm'
import { beforeAll, describe, expect, it } from 'vitest'
import { heldAcrossMeasures, heldBytes } from '../../src/bench/memory.ts'

const MiB = 1 << 20

beforeAll(() => {
  v8.setFlagsFromString('--expose-gc')
  ;(globalThis as { gc?: unknown }).gc ??= vm.runInNewContext('gc')
})

/** 32 MiB made in a frame that has returned: nothing of the caller's holds them. */
function bytesNoOneReads(): void {
  new Uint8Array(32 * MiB).fill(1)
}

/** The same, pinned: only the pin holds them. */
function pinnedBytes(): () => void {
  return heldAcrossMeasures(new Uint8Array(32 * MiB).fill(1))
}

describe('heldAcrossMeasures', () => {
  it('keeps what it is given held through later measures, until released', async () => {
    const before = await heldBytes()
    const release = pinnedBytes()
    expect((await heldBytes()) - before).toBeGreaterThan(30 * MiB)
    release()
    expect((await heldBytes()) - before).toBeLessThan(8 * MiB)
  })

  it('holds them even once the function that releases them is dropped', async () => {
    const before = await heldBytes()
    pinnedBytes()
    expect((await heldBytes()) - before).toBeGreaterThan(30 * MiB)
  })

  it('counts nothing for a value no one holds: what the pin is for', async () => {
    const before = await heldBytes()
    bytesNoOneReads()
    expect((await heldBytes()) - before).toBeLessThan(8 * MiB)
  })
})
