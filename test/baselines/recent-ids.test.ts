import { describe, expect, it } from 'vitest'
import { RECENT_IDS, RecentIdHashes, idHash, withoutRecentIds } from '../../src/baselines/recent-ids.ts'

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

describe('a profile without its ring', () => {
  it('has null for its ring, everything else as it was, and revives with an empty ring', () => {
    const ring = new RecentIdHashes()
    for (let i = 0; i < 100; i++) ring.seenOrRemember(`evt-${i}`)
    // A detector state with a "hashes" field and strings quoting the ring's key are left alone.
    const profile = { agentId: 'a', states: { s: { hashes: 'AAAA', note: '"recentIds":{"hashes":"x"}' } }, recentIds: ring, flagged: [{ id: '}' }] }
    const cut = withoutRecentIds(JSON.stringify(profile))
    expect(JSON.parse(cut)).toEqual({ ...JSON.parse(JSON.stringify(profile)), recentIds: null })
    expect(Object.keys(JSON.parse(cut))).toEqual(['agentId', 'states', 'recentIds', 'flagged'])
    const revived = RecentIdHashes.fromJSON(JSON.parse(cut).recentIds)
    expect(Array.from(revived).every((h) => h === 0)).toBe(true)
    expect(revived.seenOrRemember('evt-99')).toBe(false)
    // Last key too; a profile without a ring, or with the id list saved before hashes, is unchanged.
    expect(JSON.parse(withoutRecentIds(JSON.stringify({ agentId: 'a', recentIds: ring })))).toEqual({ agentId: 'a', recentIds: null })
    for (const json of [JSON.stringify({ agentId: 'a' }), JSON.stringify({ agentId: 'a', recentIds: ['e-1', 'e-}'] })]) expect(withoutRecentIds(json)).toBe(json)
  })
})
