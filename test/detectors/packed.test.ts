import { describe, expect, it } from 'vitest'
import { carve, carvedBytes, CARVED_CACHE, moveOutOfSlabs, narrowCounts, numbersFrom, numbersJSON, reserveCarving, Uint16Counts, uint16Counts, Uint32Counts, uint32Counts, uint8Counts, Uint8Counts, widened, withPlainArrays } from '../../detectors/packed.ts'
import { volume } from '../../detectors/volume.ts'
import { timeOfWeek } from '../../detectors/time_of_week.ts'
import { DAY, T0, toolCall } from '../../detectors/fixtures/kit.ts'
import { CountTable } from '../../detectors/bounded.ts'

describe('packed counts', () => {
  const bytesOf = (a: Uint8Array | Uint16Array | Uint32Array) => Buffer.from(a.buffer, a.byteOffset, a.byteLength).toString('base64')

  it('are saved sparse when mostly zero, shorter than their bytes, and revive to the same values', () => {
    const counts = uint32Counts(undefined, 168)
    counts[0] = 1
    counts[5] = 4_000_000_000
    counts[167] = 7
    const saved = JSON.parse(JSON.stringify({ hours: counts }))
    expect(saved.hours).toMatch(/^~168:4:/)
    expect(saved.hours.length).toBeLessThan(bytesOf(counts).length / 4)
    const revived = uint32Counts(saved.hours, 168)
    expect(Array.from(revived)).toEqual(Array.from(counts))
    // A view of its own, not of the saved or the original bytes.
    revived[1] = 9
    expect(counts[1]).toBe(0)
  })

  it('are saved as the base64 of their bytes when dense, and revive from it', () => {
    const counts = uint16Counts(Array.from({ length: 168 }, (_, i) => i + 1), 168)
    const saved = JSON.parse(JSON.stringify(counts)) as string
    expect(saved).toBe(bytesOf(counts))
    expect(Array.from(uint16Counts(saved, 168))).toEqual(Array.from(counts))
  })

  it('revive from a sparse form of another length, a truncated one, or a malformed one', () => {
    const ten = uint16Counts([0, 5, 0, 0, 0, 0, 0, 0, 0, 9], 10)
    const saved = JSON.parse(JSON.stringify(ten)) as string
    expect(saved).toMatch(/^~10:2:/)
    expect(Array.from(uint16Counts(saved, 4))).toEqual([0, 5, 0, 0])
    expect(Array.from(uint16Counts(saved, 12))).toEqual([0, 5, 0, 0, 0, 0, 0, 0, 0, 9, 0, 0])
    // Bitmap (2 bytes) and the first value (2 bytes) only: the second value is missing, not garbage.
    const body = Buffer.from(saved.slice('~10:2:'.length), 'base64')
    const cut = `~10:2:${body.subarray(0, 4).toString('base64')}`
    expect(Array.from(uint16Counts(cut, 10))).toEqual([0, 5, 0, 0, 0, 0, 0, 0, 0, 0])
    expect(Array.from(uint16Counts('~x:AAAA', 3))).toEqual([0, 0, 0])
  })

  it('revive from the plain arrays saved before, and from either form of another length', () => {
    expect(Array.from(uint16Counts([1, 2, 3], 4))).toEqual([1, 2, 3, 0])
    expect(Array.from(uint16Counts([1, 2, 3, 4, 5], 4))).toEqual([1, 2, 3, 4])
    const five = JSON.parse(JSON.stringify(uint16Counts([1, 2, 3, 4, 5], 5))) as string
    expect(Array.from(uint16Counts(five, 4))).toEqual([1, 2, 3, 4])
    expect(Array.from(uint16Counts(five, 6))).toEqual([1, 2, 3, 4, 5, 0])
    // A truncated string keeps its whole values only.
    const cut = Buffer.from(five, 'base64').subarray(0, 7).toString('base64')
    expect(Array.from(uint16Counts(cut, 5))).toEqual([1, 2, 3, 0, 0])
  })

  it('read as plain numbers through withPlainArrays, every other value unchanged', () => {
    const state = JSON.parse('{"__proto__": {"x": 1}, "n": 2, "t": {"a": [1, 2, 3]}}')
    state.hours = uint16Counts([3, 0, 1], 3)
    const plain = withPlainArrays(state) as Record<string, unknown>
    expect(plain).toEqual({ ['__proto__']: { x: 1 }, n: 2, t: { a: [1, 2, 3] }, hours: [3, 0, 1] })
    expect(Object.keys(plain)).toContain('__proto__')
    expect(Object.getPrototypeOf(plain)).toBe(Object.prototype)
    expect(JSON.stringify(plain)).toContain('"hours":[3,0,1]')
  })

  it('stay 16-bit while every count fits, from any saved form, and widen when one would pass 65,535', () => {
    expect(narrowCounts(undefined, 168)).toBeInstanceOf(Uint16Counts)
    // 32-bit counts saved before (dense base64, sparse, plain arrays) shrink when their values fit.
    const small = uint32Counts(undefined, 168)
    small[3] = 65_535
    small[100] = 7
    for (const saved of [Buffer.from(small.buffer, small.byteOffset, small.byteLength).toString('base64'), JSON.parse(JSON.stringify(small)), Array.from(small)]) {
      const revived = narrowCounts(saved, 168)
      expect(revived).toBeInstanceOf(Uint16Counts)
      expect(Array.from(revived)).toEqual(Array.from(small))
    }
    const big = uint32Counts(Array.from(small), 168)
    big[5] = 70_000
    const revivedBig = narrowCounts(JSON.parse(JSON.stringify(big)), 168)
    expect(revivedBig).toBeInstanceOf(Uint32Counts)
    expect(Array.from(revivedBig)).toEqual(Array.from(big))
    // A 16-bit form revives as 16-bit, dense or sparse.
    const narrow = narrowCounts(Array.from(small), 168)
    expect(narrowCounts(JSON.parse(JSON.stringify(narrow)), 168)).toBeInstanceOf(Uint16Counts)
    const dense = uint16Counts(Array.from({ length: 168 }, (_, i) => i + 1), 168)
    expect(Array.from(narrowCounts(JSON.parse(JSON.stringify(dense)), 168))).toEqual(Array.from(dense))
    // Widening copies every value; below the limit the same array is kept.
    expect(widened(narrow, 100)).toBe(narrow)
    const wide = widened(narrow, 3)
    expect(wide).toBeInstanceOf(Uint32Counts)
    expect(Array.from(wide)).toEqual(Array.from(small))
  })

  it('move out of the shared slabs into buffers of their own, with their class, values and caches', () => {
    const hours = uint16Counts([1, 2, 3], 168)
    const index = new Uint16Array(...carve(32, 2))
    index[3] = 7
    const table = Object.assign(Object.create(null) as Record<string, unknown>, { keys: ['a'], [CARVED_CACHE]: index })
    const state = { hours, nested: [{ excess: uint32Counts([5], 40) }], table, own: new Uint8Array(4), n: 3 }
    expect(hours.buffer.byteLength).toBeGreaterThan(hours.byteLength)
    const saved = JSON.stringify(state)

    expect(moveOutOfSlabs(state)).toBe(3)
    expect(JSON.stringify(state)).toBe(saved)
    for (const a of [state.hours, state.nested[0]!.excess, table[CARVED_CACHE] as Uint16Array]) expect(a.buffer.byteLength).toBe(a.byteLength)
    expect(state.hours).toBeInstanceOf(Uint16Counts)
    expect(state.nested[0]!.excess).toBeInstanceOf(Uint32Counts)
    expect(Array.from(state.hours.subarray(0, 4))).toEqual([1, 2, 3, 0])
    expect((table[CARVED_CACHE] as Uint16Array)[3]).toBe(7)
    // A copy: the slab's bytes are no longer the state's.
    hours[0] = 9
    expect(state.hours[0]).toBe(1)
    // Arrays already in buffers of their own stay as they are.
    expect(moveOutOfSlabs(state)).toBe(0)
  })

  it("let time_of_week count past 65,535 events in one hour of the week, learning and merging", () => {
    const cfg = timeOfWeek.config.parse({})
    const ctx = { ownEvents: 0, ownHistoryMs: 0, peerAgents: 0, peerEvents: 0 }
    const own = timeOfWeek.init()
    const e = toolCall(T0)
    for (let i = 0; i < 65_540; i++) timeOfWeek.learn(e, own, [], cfg, ctx)
    const counts = Array.from(own.hours as ArrayLike<number>)
    expect(Math.max(...counts)).toBe(65_540)
    const into = timeOfWeek.init()
    const from = timeOfWeek.init()
    for (let i = 0; i < 40_000; i++) timeOfWeek.learn(e, into, [], cfg, ctx)
    for (let i = 0; i < 40_000; i++) timeOfWeek.learn(e, from, [], cfg, ctx)
    timeOfWeek.mergePeers(into, from, cfg)
    expect(Math.max(...Array.from(into.hours as ArrayLike<number>))).toBe(80_000)
  })

  it('keep 8-bit counts 8-bit in either saved form, and revive counts saved wider clamped to 255', () => {
    const counts = uint8Counts(undefined, 168)
    counts[3] = 255
    counts[100] = 1
    const sparse = JSON.parse(JSON.stringify(counts))
    expect(sparse).toMatch(/^~168:1:/)
    expect(Array.from(uint8Counts(sparse, 168))).toEqual(Array.from(counts))
    counts.fill(2)
    const dense = JSON.parse(JSON.stringify(counts))
    expect(dense).toBe(bytesOf(counts))
    expect(Array.from(uint8Counts(dense, 168))).toEqual(Array.from(counts))
    // Saved 16-bit (dense and sparse), 32-bit, and as a plain array.
    const wide = uint16Counts(undefined, 168)
    wide.fill(1)
    wide[7] = 300
    const asU16 = JSON.parse(JSON.stringify(wide))
    expect(asU16).not.toMatch(/^~/)
    wide.fill(0)
    wide[7] = 300
    wide[8] = 2
    const sparseU16 = JSON.parse(JSON.stringify(wide))
    expect(sparseU16).toMatch(/^~168:2:/)
    for (const saved of [sparseU16, JSON.parse(JSON.stringify(uint32Counts(Array.from(wide), 168))), Array.from(wide)]) {
      const revived = uint8Counts(saved, 168)
      expect(revived).toBeInstanceOf(Uint8Counts)
      expect([revived[7], revived[8], revived[9]]).toEqual([255, 2, 0])
    }
    const fromDense = uint8Counts(asU16, 168)
    expect([fromDense[6], fromDense[7]]).toEqual([1, 255])
  })

  it("keep volume's weeks per slot at 255 rather than wrapping to 0 (which would make the slot unknown)", () => {
    const cfg = volume.config.parse({})
    const ctx = { ownEvents: 0, ownHistoryMs: 0, peerAgents: 0, peerEvents: 0 }
    const own = volume.init()
    for (let week = 0; week <= 256; week++) volume.learn(toolCall(T0 + week * 7 * DAY), own, [], cfg, ctx)
    expect(new Set(Array.from(own.slotHours as ArrayLike<number>))).toEqual(new Set([255]))
  })
})

describe('carving typed arrays', () => {
  it('takes a reservation before allocating new slabs, so a large restore allocates up front', () => {
    const MiB = 1 << 20
    reserveCarving(4 * MiB)
    // 3 MiB of small regions: with 1 MiB slabs they would span at least three buffers.
    const buffers = new Set<ArrayBuffer>()
    for (let i = 0; i < (3 * MiB) / 1024; i++) buffers.add(carve(128, 8)[0])
    const big = [...buffers].filter((b) => b.byteLength > MiB)
    expect(big.length).toBe(1)
    expect(big[0]!.byteLength).toBeGreaterThanOrEqual(3 * MiB)
  })

  it('counts every byte carved, 8-byte aligned', () => {
    const before = carvedBytes()
    carve(3, 1)
    carve(168, 2)
    expect(carvedBytes() - before).toBe(8 + 336)
  })
})

describe('table numbers in base64', () => {
  it('come back as the same doubles, and a string that is not such numbers gives none', () => {
    const values = [0, 1, 1_772_410_170_609, 511.5, -3.25, Number.MAX_SAFE_INTEGER, 2 ** -40]
    const revived = numbersFrom(numbersJSON(values))
    expect(revived).toEqual(values)
    expect(numbersFrom(numbersJSON([]))).toEqual([])
    // 12 bytes: not a whole number of float64s.
    expect(numbersFrom(Buffer.alloc(12).toString('base64'))).toBeUndefined()
  })

  it('make a damaged table revive without the entries it cannot read', () => {
    const t = CountTable.from({ keys: ['a', 'b'], countFirstLast: Buffer.alloc(12).toString('base64') })
    expect(t.size).toBe(0)
  })
})
