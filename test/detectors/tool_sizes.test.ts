import { describe, expect, it } from 'vitest'
import { ToolSizes } from '../../detectors/tool_sizes.ts'

const roundTrip = (s: ToolSizes) => ToolSizes.from(JSON.parse(JSON.stringify(s)))

describe('ToolSizes', () => {
  it('keeps calls, the largest call and the mean per tool, the same over a JSON round trip', () => {
    const s = new ToolSizes()
    s.note('crm.lookup', 7, 1023, 8)
    s.note('crm.lookup', 1, undefined, 8)
    s.note('blob.put', undefined, 255, 8)
    const saved = JSON.parse(JSON.stringify(s))
    expect(saved.keys).toEqual(['crm.lookup', 'blob.put'])
    expect(Array.from(new Float64Array(new Uint8Array(Buffer.from(saved.callsLargestMean, 'base64')).buffer))).toEqual([2, 3, 10, 4, 511.5, 1, 0, 8, 0, 255])
    // The form saved before, numbers as a JSON array, revives the same.
    expect(ToolSizes.from({ keys: ['crm.lookup', 'blob.put'], callsLargestMean: [2, 3, 10, 4, 511.5, 1, 0, 8, 0, 255] }).view()).toEqual(s.view())
    expect(s.view()).toEqual({ 'crm.lookup': [2, 3, 10, 4, 511.5], 'blob.put': [1, 0, 8, 0, 255] })
    expect(roundTrip(s).view()).toEqual(s.view())
    expect(roundTrip(s).entry('blob.put')).toEqual([1, 0, 8, 0, 255])
  })

  it('forgets the least used tool when full, the first of equals, and keeps the others in order', () => {
    const s = new ToolSizes()
    for (const [tool, calls] of [['a', 3], ['b', 1], ['c', 1], ['d', 2]] as const) for (let i = 0; i < calls; i++) s.note(tool, 1, 1, 4)
    s.note('e', 1, 1, 4)
    expect(s.keyList()).toEqual(['a', 'c', 'd', 'e'])
    expect(s.entry('b')).toBeUndefined()
    expect(roundTrip(s).keyList()).toEqual(['a', 'c', 'd', 'e'])
  })

  it('merges: calls add, the largest call is the larger, means weigh by calls; copies, shares nothing', () => {
    const into = ToolSizes.from({ a: [1, 2, 3, 4, 8] })
    const from = ToolSizes.from({ a: [3, 5, 1, 8, 0], b: [1, 1, 1, 1, 1] })
    into.merge(from, 8)
    expect(into.view()).toEqual({ a: [4, 5, 3, 7, 2], b: [1, 1, 1, 1, 1] })
    from.note('b', 100, 100, 8)
    expect(into.entry('b')).toEqual([1, 1, 1, 1, 1])
  })

  it('keeps the most used tools when a merge goes over capacity', () => {
    const into = ToolSizes.from({ a: [5, 0, 0, 0, 0], b: [1, 0, 0, 0, 0] })
    into.merge(ToolSizes.from({ c: [2, 0, 0, 0, 0], d: [1, 0, 0, 0, 0] }), 2)
    expect(into.keyList()).toEqual(['a', 'c'])
  })

  it('counts tools named like Object.prototype members as any other, in both saved forms', () => {
    const s = new ToolSizes()
    for (const tool of ['__proto__', 'constructor', 'toString']) s.note(tool, 1, 1, 8)
    expect(roundTrip(s).keyList()).toEqual(['__proto__', 'constructor', 'toString'])
    const byTool = ToolSizes.from(JSON.parse('{"__proto__": [2, 1, 1, 1, 1], "constructor": [1, 1, 1]}'))
    expect(byTool.entry('__proto__')).toEqual([2, 1, 1, 1, 1])
    expect(byTool.entry('constructor')).toEqual([1, 1, 1, 1, 1])
    expect(new ToolSizes().entry('constructor')).toBeUndefined()
  })

  it('drops malformed saved entries and keeps the rest', () => {
    const s = ToolSizes.from({ keys: ['a', 'b', 'c', 'a'], callsLargestMean: [1, 2, 3, 4, 5, 1, 2, 3, 4, 'x', 9, 9, 9, 9, 9, 9, 9, 9, 9, 9] })
    expect(s.view()).toEqual({ a: [1, 2, 3, 4, 5], c: [9, 9, 9, 9, 9] })
    expect(ToolSizes.from({ keys: ['a'], callsLargestMean: [1, 2] }).size).toBe(0)
    expect(ToolSizes.from('nonsense').size).toBe(0)
  })
})
