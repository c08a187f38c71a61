/**
 * The last event ids an agent processed, for dedupe, as 53-bit hashes in a fixed ring: 64 slots of
 * 8 bytes (a Float64Array over a shared slab, see detectors/packed.ts) instead of 64 id strings and
 * a set of them.
 *
 * Collisions: an event is taken for a redelivery only if its hash equals one of the 64 remembered
 * hashes of the same agent. With a 53-bit hash that happens with probability at most
 * 64 / 2^53 ≈ 7e-15 per event: at a million events per second, one event wrongly dropped every
 * ~4,500 years. A redelivered id always hashes the same, so no duplicate gets through.
 *
 * In JSON the ring is a base64 string of its bytes (little-endian doubles, 684 characters) with the
 * slot written next; a profile saved with the id strings themselves restores into the same ring.
 */

import { base64Of, carve } from '../../detectors/packed.ts'

/** How many event ids an agent remembers for dedupe. */
export const RECENT_IDS = 64

/** A ring of event-id hashes; 0 marks an empty slot. Serialises to base64. */
export class RecentIdHashes extends Float64Array {
  /** Slot written by the next new id. */
  next = 0

  constructor() {
    super(...carve(RECENT_IDS, 8))
  }

  /** True when `eventId` is among the remembered ids; otherwise remembers it (evicting the oldest). */
  seenOrRemember(eventId: string): boolean {
    const h = idHash(eventId)
    // The native search: ~50 ns for the 64 slots here, against ~75 for a loop over this subclass.
    if (this.indexOf(h) >= 0) return true
    this[this.next] = h
    this.next = (this.next + 1) % RECENT_IDS
    return false
  }

  toJSON(): { hashes: string; next: number } {
    return { hashes: base64Of(this), next: this.next }
  }

  /**
   * The ring from its JSON, or from the id list (oldest first) of a profile saved before hashes; an
   * empty ring from null. A dormant record's ring may hold fewer hashes than RECENT_IDS (`withLatestRecentIds`):
   * they fill the first slots, oldest first.
   */
  static fromJSON(saved: unknown): RecentIdHashes {
    const ring = new RecentIdHashes()
    if (Array.isArray(saved)) {
      for (const id of saved.slice(-RECENT_IDS)) if (typeof id === 'string') ring.seenOrRemember(id)
    } else if (isSavedRing(saved)) {
      const bytes = Buffer.byteLength(saved.hashes, 'base64')
      if (bytes <= ring.byteLength && bytes % 8 === 0) {
        Buffer.from(ring.buffer, ring.byteOffset, ring.byteLength).write(saved.hashes, 'base64')
        ring.next = saved.next % RECENT_IDS
      }
    }
    return ring
  }
}

/** How a ring starts in a profile's JSON (`toJSON` above, under the profile's `recentIds`). */
const SAVED_RING = '"recentIds":{"hashes":"'

/**
 * A profile's JSON with only the `keep` newest hashes of its ring (`baselines.dormantRecentIds`), for a
 * dormant record: the ring's hashes are random, so every one costs a record ~7.3 bytes deflated.
 * They are saved oldest first with `next` their count, as `fromJSON` revives them; with `keep` 0,
 * `recentIds` becomes null and the agent revives with an empty ring. The key stays where it was,
 * so that a revived profile has the shape of every other (a key added later would go to an
 * out-of-object store). Cut from the string, without parsing the profile (a held row goes dormant
 * so). Only the profile's own `recentIds` matches: no detector state has a key of that name, and a
 * quote inside a JSON string is escaped. A ring saved as an id list (before hashes) is left as it
 * is; a ring with fewer hashes than `keep` keeps them all, without its empty slots.
 */
export function withLatestRecentIds(json: string, keep: number): string {
  if (keep >= RECENT_IDS) return json
  const at = json.indexOf(SAVED_RING)
  if (at < 0) return json
  // Base64 and an integer hold no brace: the first one closes the ring.
  const end = json.indexOf('}', at + SAVED_RING.length) + 1
  if (end === 0) return json
  if (keep <= 0) return `${json.slice(0, at)}"recentIds":null${json.slice(end)}`
  const saved = JSON.parse(json.slice(at + '"recentIds":'.length, end)) as unknown
  if (!isSavedRing(saved)) return json
  const all = Buffer.from(saved.hashes, 'base64')
  if (all.length !== RECENT_IDS * 8) return json
  // The newest `keep` hashes that are set, newest first: from the slot before `next` backwards.
  const newest: number[] = []
  for (let back = 1; back <= RECENT_IDS && newest.length < keep; back++) {
    const h = all.readDoubleLE(((saved.next - back + RECENT_IDS * 2) % RECENT_IDS) * 8)
    if (h !== 0) newest.push(h)
  }
  const out = Buffer.alloc(newest.length * 8)
  newest.reverse().forEach((h, i) => out.writeDoubleLE(h, i * 8))
  return `${json.slice(0, at)}"recentIds":${JSON.stringify({ hashes: out.toString('base64'), next: newest.length })}${json.slice(end)}`
}

function isSavedRing(v: unknown): v is { hashes: string; next: number } {
  return typeof v === 'object' && v !== null && typeof (v as { hashes?: unknown }).hashes === 'string' && Number.isInteger((v as { next?: unknown }).next)
}

/**
 * cyrb53: a 53-bit string hash (two 32-bit multiply-xor lanes, mixed at the end), never 0 here so
 * that 0 can mark an empty slot.
 */
export function idHash(s: string): number {
  let h1 = 0xdeadbeef
  let h2 = 0x41c6ce57
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i)
    h1 = Math.imul(h1 ^ c, 2654435761)
    h2 = Math.imul(h2 ^ c, 1597334677)
  }
  h1 = Math.imul(h1 ^ (h1 >>> 16), 2246822507) ^ Math.imul(h2 ^ (h2 >>> 13), 3266489909)
  h2 = Math.imul(h2 ^ (h2 >>> 16), 2246822507) ^ Math.imul(h1 ^ (h1 >>> 13), 3266489909)
  return 4294967296 * (2097151 & h2) + (h1 >>> 0) || 1
}
