import { describe, expect, it } from 'vitest'
import { RECENT_IDS, RecentIdHashes, idHash, withLatestRecentIds } from '../../src/baselines/recent-ids.ts'

describe('recent event ids as a hash ring', () => {
  it('knows the last RECENT_IDS ids and forgets older ones, oldest first', () => {
    const ring = new RecentIdHashes()
    for (let i = 0; i < RECENT_IDS; i++) expect(ring.seenOrRemember(`e-${i}`)).toBe(false)
    for (let i = 0; i < RECENT_IDS; i++) expect(ring.seenOrRemember(`e-${i}`)).toBe(true)
    expect(ring.seenOrRemember('e-new')).toBe(false)
    // e-0 was evicted by e-new; the others are still there.
    expect(ring.seenOrRemember('e-1')).toBe(true)
    expect(ring.seenOrRemember('e-0')).toBe(false)
  })

  it('restores from its JSON to the same ring', () => {
    const ring = new RecentIdHashes()
    for (let i = 0; i < 100; i++) ring.seenOrRemember(`evt-${i}`)
    const restored = RecentIdHashes.fromJSON(JSON.parse(JSON.stringify({ r: ring })).r)
    expect(Array.from(restored)).toEqual(Array.from(ring))
    expect(restored.next).toBe(ring.next)
    expect(restored.seenOrRemember('evt-99')).toBe(true)
    expect(restored.seenOrRemember('evt-36')).toBe(true)
    expect(restored.seenOrRemember('evt-35')).toBe(false)
  })

  it('restores a profile saved with the id strings (newest last) into the same ring', () => {
    const ids = Array.from({ length: RECENT_IDS }, (_, i) => `old-${i}`)
    const fromIds = RecentIdHashes.fromJSON(ids)
    const live = new RecentIdHashes()
    for (const id of ids) live.seenOrRemember(id)
    expect(Array.from(fromIds)).toEqual(Array.from(live))
    expect(fromIds.next).toBe(live.next)
    expect(fromIds.seenOrRemember('old-0')).toBe(true)
    expect(fromIds.seenOrRemember('fresh')).toBe(false)
    expect(fromIds.seenOrRemember('old-0')).toBe(false)
  })

  it('hashes to distinct non-zero 53-bit integers', () => {
    const seen = new Set<number>()
    let bad = 0
    for (let i = 0; i < 200_000; i++) {
      const h = idHash(`e-${i}`)
      if (!Number.isSafeInteger(h) || h <= 0) bad++
      seen.add(h)
    }
    expect(bad).toBe(0)
    expect(seen.size).toBe(200_000)
  })
})

describe('a profile with only the newest ids of its ring (a dormant record)', () => {
  const ringOf = (ids: number) => {
    const ring = new RecentIdHashes()
    for (let i = 0; i < ids; i++) ring.seenOrRemember(`evt-${i}`)
    return ring
  }

  it('keeps the newest hashes, oldest first, and revives a ring that goes on from them', () => {
    // 100 ids: the ring has wrapped, so the newest 16 straddle its slots 20-35.
    const profile = { agentId: 'a', states: { s: { hashes: 'AAAA', note: '"recentIds":{"hashes":"x"}' } }, recentIds: ringOf(100), flagged: [{ id: '}' }] }
    const cut = withLatestRecentIds(JSON.stringify(profile), 16)
    const parsed = JSON.parse(cut) as { recentIds: { hashes: string; next: number } }
    // A detector state with a "hashes" field and strings quoting the ring's key are left alone.
    expect({ ...parsed, recentIds: undefined }).toEqual({ ...JSON.parse(JSON.stringify(profile)), recentIds: undefined })
    expect(Object.keys(parsed)).toEqual(['agentId', 'states', 'recentIds', 'flagged'])
    expect(parsed.recentIds.next).toBe(16)
    expect(Buffer.byteLength(parsed.recentIds.hashes, 'base64')).toBe(16 * 8)
    const revived = RecentIdHashes.fromJSON(parsed.recentIds)
    for (let i = 84; i < 100; i++) expect(revived.seenOrRemember(`evt-${i}`)).toBe(true)
    expect(revived.seenOrRemember('evt-83')).toBe(false)
    // evt-83 took slot 16; 47 more fill the ring, and the next one evicts the oldest kept, evt-84.
    for (let i = 0; i < 47; i++) revived.seenOrRemember(`new-${i}`)
    expect(revived.seenOrRemember('evt-85')).toBe(true)
    revived.seenOrRemember('new-47')
    expect(revived.seenOrRemember('evt-84')).toBe(false)
  })

  it('keeps a ring not yet full without its empty slots, and all of one at RECENT_IDS', () => {
    const few = JSON.parse(withLatestRecentIds(JSON.stringify({ recentIds: ringOf(5) }), 16)) as { recentIds: { hashes: string; next: number } }
    expect(few.recentIds.next).toBe(5)
    const revived = RecentIdHashes.fromJSON(few.recentIds)
    for (let i = 0; i < 5; i++) expect(revived.seenOrRemember(`evt-${i}`)).toBe(true)
    const full = JSON.stringify({ agentId: 'a', recentIds: ringOf(100) })
    expect(withLatestRecentIds(full, RECENT_IDS)).toBe(full)
  })

  it('has null for its ring when it keeps none, and revives with an empty ring', () => {
    const profile = { agentId: 'a', states: {}, recentIds: ringOf(100), flagged: [] }
    const cut = withLatestRecentIds(JSON.stringify(profile), 0)
    expect(JSON.parse(cut)).toEqual({ ...JSON.parse(JSON.stringify(profile)), recentIds: null })
    const revived = RecentIdHashes.fromJSON(JSON.parse(cut).recentIds)
    expect(Array.from(revived).every((h) => h === 0)).toBe(true)
    expect(revived.seenOrRemember('evt-99')).toBe(false)
    // Last key too; a profile without a ring, or with the id list saved before hashes, is unchanged.
    expect(JSON.parse(withLatestRecentIds(JSON.stringify({ agentId: 'a', recentIds: ringOf(3) }), 0))).toEqual({ agentId: 'a', recentIds: null })
    for (const json of [JSON.stringify({ agentId: 'a' }), JSON.stringify({ agentId: 'a', recentIds: ['e-1', 'e-}'] })]) {
      expect(withLatestRecentIds(json, 0)).toBe(json)
      expect(withLatestRecentIds(json, 16)).toBe(json)
    }
  })
})
