/**
 * Fixed-size count arrays packed into typed arrays, half or a quarter of the memory of a JS array
 * (8 bytes a number). They serialise to JSON as plain arrays, so a saved state keeps its format and
 * a state saved as plain arrays revives into them.
 *
 * Their bytes are carved from shared 1 MiB slabs rather than one ArrayBuffer each: a typed array of
 * more than 64 bytes gets its own off-heap allocation, which cost ~50-400 us per restored agent
 * (allocation plus the collections that external memory growth triggers) against ~1 us for a view.
 * A slab is freed once no view into it is left; agents restored or evicted together (a partition)
 * mostly share slabs.
 */

const SLAB_BYTES = 1 << 20
let slab = new ArrayBuffer(SLAB_BYTES)
let slabUsed = 0

/** [buffer, byteOffset, length] of a fresh zeroed region for `length` elements of `bytesEach` (8-byte aligned). */
export function carve(length: number, bytesEach: number): [ArrayBuffer, number, number] {
  const bytes = (length * bytesEach + 7) & ~7
  if (bytes > SLAB_BYTES) return [new ArrayBuffer(bytes), 0, length]
  if (slabUsed + bytes > SLAB_BYTES) {
    slab = new ArrayBuffer(SLAB_BYTES)
    slabUsed = 0
  }
  const offset = slabUsed
  slabUsed += bytes
  return [slab, offset, length]
}

/** Counts below 65,536 (e.g. weeks folded into an hour-of-week slot). */
export class Uint16Counts extends Uint16Array {
  toJSON(): number[] {
    return Array.from(this)
  }
}

/** Counts below 2^32 (e.g. events per hour of the week: ~4 billion, far beyond any agent or blueprint). */
export class Uint32Counts extends Uint32Array {
  toJSON(): number[] {
    return Array.from(this)
  }
}

type CountsKind<T> = (new (buffer: ArrayBuffer, byteOffset: number, length: number) => T) & { BYTES_PER_ELEMENT: number }

/** `saved` (a plain array from JSON, or already packed) as counts of `Kind` and `length`, carved from a slab. */
function packed<T extends Uint16Counts | Uint32Counts>(Kind: CountsKind<T>, saved: ArrayLike<number> | undefined, length: number): T {
  if (saved instanceof Kind) return saved
  const out = new Kind(...carve(length, Kind.BYTES_PER_ELEMENT))
  if (saved) for (let i = 0, n = Math.min(length, saved.length); i < n; i++) out[i] = saved[i]!
  return out
}

export const uint16Counts = (saved: ArrayLike<number> | undefined, length: number): Uint16Counts => packed(Uint16Counts, saved, length)
export const uint32Counts = (saved: ArrayLike<number> | undefined, length: number): Uint32Counts => packed(Uint32Counts, saved, length)

/** Add `from` into `into` element-wise (merging counts learned from disjoint sets of events). */
export function addCounts(into: { [i: number]: number; length: number }, from: ArrayLike<number>): void {
  for (let i = 0, n = Math.min(into.length, from.length); i < n; i++) into[i] += from[i]!
}
