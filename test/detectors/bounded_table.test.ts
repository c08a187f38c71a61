import { describe, expect, it } from 'vitest'
import { CountTable } from '../../detectors/bounded.ts'
import { CARVED_CACHE, inSparseSlab, releaseAllCarved } from '../../detectors/packed.ts'

const roundTrip = (t: CountTable) => CountTable.from(JSON.parse(JSON.stringify(t)))

describe('CountTable.bump', () => {
  it('never holds more than its capacity and keeps frequent keys over a stream of one-offs', () => {
    const table = new CountTable()
    for (let k = 0; k < 50; k++) table.bump('frequent', k, 128)
    for (let i = 0; i < 10_000; i++) {
      table.bump(`once-${i}`, 100 + i, 128)
      expect(table.size).toBeLessThanOrEqual(128)
    }
    expect(table.count('frequent')).toBe(50)
    expect(table.count('once-0')).toBe(0)
    expect(table.count('once-9999')).toBe(1)
  })

  it('keeps count, first and last seen per key, the same over a JSON round trip', () => {
    const table = new CountTable()
    table.bump('a', 10, 16)
    table.bump('b', 20, 16)
    table.bump('a', 30, 16)
    table.bump('a', 25, 16)
    // Saved: the keys, and the numbers as the base64 of their float64 bytes (little-endian).
    const saved = JSON.parse(JSON.stringify(table))
    expect(saved.keys).toEqual(['a', 'b'])
    expect(Array.from(new Float64Array(new Uint8Array(Buffer.from(saved.countFirstLast, 'base64')).buffer))).toEqual([3, 10, 30, 1, 20, 20])
    // The form saved before, numbers as a JSON array, revives the same.
    expect(CountTable.from({ keys: ['a', 'b'], countFirstLast: [3, 10, 30, 1, 20, 20] }).view()).toEqual(table.view())
    expect(table.view()).toEqual({ a: [3, 10, 30], b: [1, 20, 20] })
    const restored = roundTrip(table)
    expect(restored.count('a')).toBe(3)
    const slot = restored.slotOf('a')
    expect([restored.countAt(slot), restored.firstAt(slot), restored.lastAt(slot)]).toEqual([3, 10, 30])
  })

  it('counts a table restored from JSON correctly', () => {
    const table = new CountTable()
    for (let i = 0; i < 16; i++) table.bump(`k-${i}`, i, 16)
    const restored = roundTrip(table)
    restored.bump('new', 100, 16)
    expect(restored.size).toBeLessThanOrEqual(16)
    expect(restored.count('new')).toBe(1)
    expect(restored.count('k-15')).toBe(1)
  })

  it('finds every key of a table large enough to be indexed, before and after an eviction', () => {
    const table = new CountTable()
    // Counts 1..40: evictions must take the rarest, and lookups must follow the compaction.
    for (let i = 1; i <= 40; i++) for (let c = 0; c < i; c++) table.bump(`k-${i}`, i, 64)
    for (let i = 1; i <= 40; i++) expect(table.count(`k-${i}`)).toBe(i)
    for (let i = 0; i < 30; i++) table.bump(`new-${i}`, 1000 + i, 64)
    expect(table.size).toBeLessThanOrEqual(64)
    // Evictions take the rarest first: k-1 goes before any key counted more often.
    expect(table.count('k-1')).toBe(0)
    expect(table.count('k-40')).toBe(40)
    expect(table.count('new-29')).toBe(1)
    for (const key of table.keyList()) expect(table.slotOf(key)).toBeGreaterThanOrEqual(0)
  })

  it('finds each key at its slot through an index that grows, is rebuilt after removals, and goes 32-bit at 65,535 keys', () => {
    const table = new CountTable()
    // Keys of one length with a shared prefix, and the empty key: no help from lengths or first characters.
    const keys = ['', ...Array.from({ length: 70_000 }, (_, i) => `resource://x/${String(i).padStart(6, '0')}`)]
    // Keys not found at their own slot (one expect per check: expect itself costs microseconds).
    const check = (upTo: number) => {
      const lost = keys.slice(0, upTo).filter((key) => table.keyAt(table.slotOf(key)) !== key)
      expect(lost).toEqual([])
      expect(table.slotOf('resource://x/absent')).toBe(-1)
    }
    for (let i = 0; i < keys.length; i++) {
      table.bump(keys[i]!, i, 100_000)
      // Lookups at every size an index is built or outgrown at (13, 16, 17, 32, 33, ...) and at 16 bits' end.
      if ((i & (i - 1)) === 0 || i === 12 || i === 65_534 || i === 65_535) check(i + 1)
    }
    check(keys.length)
    // The 35,001 keys counted twice survive a trim to as many (the rarest go); slots move, lookups follow them.
    for (let i = 0; i < keys.length; i += 2) table.bump(keys[i]!, 100_000 + i, 100_000)
    table.trim(35_001)
    expect(table.size).toBe(35_001)
    expect(keys.filter((key, i) => table.count(key) !== (i % 2 === 0 ? 2 : 0))).toEqual([])
    // A table revived from JSON indexes its adopted keys at its first lookup.
    const restored = roundTrip(table)
    expect(keys.filter((key, i) => restored.count(key) !== (i % 2 === 0 ? 2 : 0))).toEqual([])
  }, 30_000)

  it('keeps its index out of its JSON, and gives its bytes back with the table', () => {
    // 30,000 indexes of 32 buckets (64 bytes) fill at least one 1 MiB slab of their own.
    const tables = Array.from({ length: 30_000 }, (_, t) => {
      const table = new CountTable()
      for (let i = 0; i < 13; i++) table.bump(`key-${i}`, t, 64)
      table.count('key-0')
      return table
    })
    const indexOf = (t: CountTable) => (t as unknown as { [CARVED_CACHE]: Uint16Array })[CARVED_CACHE]
    const middle = indexOf(tables[16_000]!)
    expect(middle).toBeInstanceOf(Uint16Array)
    const unindexed = new CountTable()
    for (let i = 0; i < 13; i++) unindexed.bump(`key-${i}`, 0, 64)
    expect(JSON.stringify(tables[0])).toBe(JSON.stringify(unindexed))
    expect(Object.values(tables[0]!).some((v) => ArrayBuffer.isView(v))).toBe(false)
    expect(inSparseSlab(middle)).toBe(false)
    for (const t of tables) releaseAllCarved({ table: t })
    expect(inSparseSlab(middle)).toBe(true)
  })

  it('revives the form tables were saved in before: key -> [count, first, last]', () => {
    const t = CountTable.from(JSON.parse('{"a": [3, 10, 30], "keys": [1, 20, 20], "countFirstLast": [2, 5, 6]}'))
    expect(t.view()).toEqual({ a: [3, 10, 30], keys: [1, 20, 20], countFirstLast: [2, 5, 6] })
  })

  it('keeps the well-formed entries of a malformed saved table, once per key', () => {
    const t = CountTable.from({ keys: ['a', 'b', 7, 'a', 'c'], countFirstLast: [1, 2, 3, 4, 5, 'x', 1, 1, 1, 9, 9, 9, 5, 5] })
    expect(t.view()).toEqual({ a: [1, 2, 3] })
    expect(CountTable.from({ keys: ['a'], countFirstLast: [1, 2] }).size).toBe(0)
  })

  it('drops saved entries that are not three numbers, and revives a table only once', () => {
    const t = CountTable.from({ ok: [2, 1, 3], bad: 'x', short: [1, 2] })
    expect(t.keyList()).toEqual(['ok'])
    expect(CountTable.from(t)).toBe(t)
    expect(CountTable.from(undefined).size).toBe(0)
  })
})

describe('keys that are names on Object.prototype', () => {
  const names = ['constructor', 'toString', 'hasOwnProperty', '__proto__', 'valueOf']

  it('are unknown until counted, counted like any other key, and not shared between tables', () => {
    const a = new CountTable()
    const b = new CountTable()
    for (const name of names) expect(a.count(name)).toBe(0)
    for (const name of names) {
      a.bump(name, 1, 16)
      a.bump(name, 2, 16)
    }
    for (const name of names) {
      expect(a.count(name)).toBe(2)
      expect(b.count(name)).toBe(0)
    }
    expect([...a.keyList()].sort()).toEqual([...names].sort())
  })

  it('survive a JSON round trip and eviction', () => {
    const table = new CountTable()
    for (const name of names) table.bump(name, 1, 8)
    const view = table.view()
    expect(Object.getPrototypeOf(view)).toBe(Object.prototype)
    expect(Object.keys(view).sort()).toEqual([...names].sort())
    const restored = CountTable.from(JSON.parse(JSON.stringify(table)))
    for (const name of names) expect(restored.count(name)).toBe(1)
    for (let i = 0; i < 20; i++) restored.bump(`k-${i}`, 10 + i, 8)
    expect(restored.size).toBeLessThanOrEqual(8)
  })
})
