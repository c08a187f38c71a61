import { describe, expect, it } from 'vitest'
import { bump, countOf, type Counts } from '../../detectors/bounded.ts'

describe('bump', () => {
  it('never holds more than its capacity and keeps frequent keys over a stream of one-offs', () => {
    const table: Counts = {}
    for (let k = 0; k < 50; k++) bump(table, 'frequent', k, 128)
    for (let i = 0; i < 10_000; i++) {
      bump(table, `once-${i}`, 100 + i, 128)
      expect(Object.keys(table).length).toBeLessThanOrEqual(128)
    }
    expect(countOf(table, 'frequent')).toBe(50)
    expect(countOf(table, 'once-0')).toBe(0)
    expect(countOf(table, 'once-9999')).toBe(1)
  })

  it('counts a table restored from JSON correctly', () => {
    const table: Counts = {}
    for (let i = 0; i < 16; i++) bump(table, `k-${i}`, i, 16)
    const restored = JSON.parse(JSON.stringify(table)) as Counts
    bump(restored, 'new', 100, 16)
    expect(Object.keys(restored).length).toBeLessThanOrEqual(16)
    expect(countOf(restored, 'new')).toBe(1)
  })
})

describe('keys that are names on Object.prototype', () => {
  const names = ['constructor', 'toString', 'hasOwnProperty', '__proto__', 'valueOf']

  it('are unknown until counted, counted like any other key, and not shared between tables', () => {
    const a: Counts = {}
    const b: Counts = {}
    for (const name of names) expect(countOf(a, name)).toBe(0)
    for (const name of names) {
      bump(a, name, 1, 16)
      bump(a, name, 2, 16)
    }
    for (const name of names) {
      expect(countOf(a, name)).toBe(2)
      expect(countOf(b, name)).toBe(0)
    }
    expect(Object.getPrototypeOf(a)).toBe(Object.prototype)
    expect(Object.keys(a).sort()).toEqual([...names].sort())
  })

  it('survive a JSON round trip and eviction', () => {
    const table: Counts = {}
    for (const name of names) bump(table, name, 1, 8)
    const restored = JSON.parse(JSON.stringify(table)) as Counts
    for (const name of names) expect(countOf(restored, name)).toBe(1)
    for (let i = 0; i < 20; i++) bump(restored, `k-${i}`, 10 + i, 8)
    expect(Object.keys(restored).length).toBeLessThanOrEqual(8)
    expect(Object.getPrototypeOf(restored)).toBe(Object.prototype)
  })
})
