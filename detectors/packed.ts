/**
 * Fixed-size count arrays packed into typed arrays, half or a quarter of the memory of a JS array
 * (8 bytes a number). In JSON they are the base64 of their bytes (little-endian, as on every
 * platform Node runs this service on): parsing 504 numbers written out in decimal took most of a
 * restored profile's JSON.parse time, a base64 string of the same values is copied in one go. A
 * state saved with plain arrays, as before, revives into them all the same; `withPlainArrays`
 * gives the readable form for people (the API).
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

/** The bytes of a typed array, base64. */
export function base64Of(a: ArrayBufferView): string {
  return Buffer.from(a.buffer, a.byteOffset, a.byteLength).toString('base64')
}

/** Counts below 65,536 (e.g. weeks folded into an hour-of-week slot). */
export class Uint16Counts extends Uint16Array {
  toJSON(): string {
    return base64Of(this)
  }
}

/** Counts below 2^32 (e.g. events per hour of the week: ~4 billion, far beyond any agent or blueprint). */
export class Uint32Counts extends Uint32Array {
  toJSON(): string {
    return base64Of(this)
  }
}

type CountsKind<T> = (new (buffer: ArrayBuffer, byteOffset: number, length: number) => T) & { BYTES_PER_ELEMENT: number }

/** Counts as saved: base64 of the bytes (see above), a plain array (saved before), or already packed. */
export type SavedCounts = string | ArrayLike<number>

/**
 * `saved` as counts of `Kind` and `length`, carved from a slab. Values beyond `length` are dropped
 * and missing ones are 0, so a length changed between versions revives too.
 */
function packed<T extends Uint16Counts | Uint32Counts>(Kind: CountsKind<T>, saved: SavedCounts | undefined, length: number): T {
  if (saved instanceof Kind) return saved
  const out = new Kind(...carve(length, Kind.BYTES_PER_ELEMENT))
  if (typeof saved === 'string') {
    // Decoded straight into the carved bytes (no intermediate buffer); a string longer than the
    // counts stops at their end. A truncated string's last partial value is cleared again: whole
    // values only.
    const written = Buffer.from(out.buffer, out.byteOffset, out.byteLength).write(saved, 'base64')
    const partial = written % Kind.BYTES_PER_ELEMENT
    if (partial) new Uint8Array(out.buffer, out.byteOffset + written - partial, partial).fill(0)
  } else if (saved) for (let i = 0, n = Math.min(length, saved.length); i < n; i++) out[i] = saved[i]!
  return out
}

export const uint16Counts = (saved: SavedCounts | undefined, length: number): Uint16Counts => packed(Uint16Counts, saved, length)
export const uint32Counts = (saved: SavedCounts | undefined, length: number): Uint32Counts => packed(Uint32Counts, saved, length)

/**
 * A copy of `value` (a detector state, or any JSON-like value) with every typed array as a plain
 * array of numbers: the form for people, where JSON would give base64.
 */
export function withPlainArrays(value: unknown): unknown {
  if (ArrayBuffer.isView(value)) return Array.from(value as unknown as ArrayLike<number>)
  if (Array.isArray(value)) return value.map(withPlainArrays)
  if (typeof value !== 'object' || value === null) return value
  // A value with its own JSON form (a CountTable) is shown as it is saved.
  if (typeof (value as { toJSON?: unknown }).toJSON === 'function') return withPlainArrays((value as { toJSON(): unknown }).toJSON())
  const out: Record<string, unknown> = {}
  for (const k of Object.keys(value)) {
    const v = withPlainArrays((value as Record<string, unknown>)[k])
    if (k === '__proto__') Object.defineProperty(out, k, { value: v, writable: true, enumerable: true, configurable: true })
    else out[k] = v
  }
  return out
}

/** Add `from` into `into` element-wise (merging counts learned from disjoint sets of events). */
export function addCounts(into: { [i: number]: number; length: number }, from: ArrayLike<number>): void {
  for (let i = 0, n = Math.min(into.length, from.length); i < n; i++) into[i] += from[i]!
}
