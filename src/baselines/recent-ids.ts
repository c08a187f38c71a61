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
   * empty ring from null (left out of a dormant record, `withoutRecentIds`).
   */
  static fromJSON(saved: unknown): RecentIdHashes {
    const ring = new RecentIdHashes()
    if (Array.isArray(saved)) {
      for (const id of saved.slice(-RECENT_IDS)) if (typeof id === 'string') ring.seenOrRemember(id)
    } else if (isSavedRing(saved)) {
      if (Buffer.byteLength(saved.hashes, 'base64') === ring.byteLength) {
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
 * A profile's JSON with its ring left out (`baselines.dormantKeepsRecentIds` false): `recentIds`
 * becomes null, the rest is unchanged, and it revives with an empty ring. The key stays where it was,
 * so that a revived profile has the shape of every other (a key added later would go to an
 * out-of-object store). Cut from the string, without parsing it (a held row goes dormant so).
 * Only the profile's own `recentIds` matches: no detector state has a key of that name, and a
 * quote inside a JSON string is escaped. A ring saved as an id list (before hashes) is left in.
 */
export function withoutRecentIds(json: string): string {
  const at = json.indexOf(SAVED_RING)
  if (at < 0) return json
  // Base64 and an integer hold no brace: the first one closes the ring.
  const end = json.indexOf('}', at + SAVED_RING.length) + 1
  if (end === 0) return json
  return `${json.slice(0, at)}"recentIds":null${json.slice(end)}`
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
