/**
 * Fixed-size count arrays packed into typed arrays, an eighth to a half of the memory of a JS array
 * (8 bytes a number). In JSON they are base64 of their bytes (little-endian, as on every platform
 * Node runs this service on): parsing 504 numbers written out in decimal took most of a restored
 * profile's JSON.parse time, a base64 string of the same values is copied in one go.
 *
 * Most of an hour-of-week array is zeros (an agent's nights and weekends): about 70% of volume's
 * rhythm and time_of_week's hours, 90% of the excess histogram. So an array with zeros to spare is
 * saved sparse: `~`, its length, `:`, its bytes per element, `:`, then the base64 of a bitmap of its
 * nonzero elements followed by those elements' bytes (`~168:4:...`); a dense array as the base64
 * of all its bytes. Either form, and the plain arrays saved before, revive; `withPlainArrays` gives
 * the readable form for people (the API).
 *
 * Their bytes are carved from shared 1 MiB slabs rather than one ArrayBuffer each: a typed array of
 * more than 64 bytes gets its own off-heap allocation, which cost ~50-400 us per restored agent
 * (allocation plus the collections that external memory growth triggers) against ~1 us for a view.
 * A slab is freed once no view into it is left; agents restored or evicted together (a partition)
 * mostly share slabs.
 *
 * A large restore reserves its slabs up front (`reserveCarving`): V8 starts a full collection of
 * the whole heap for every ~64 MB of ArrayBuffers allocated, so slabs allocated as a restore goes
 * cost one collection of every agent restored so far per 64 MB (a million agents: 2.2 GB of slabs,
 * 37 full collections). Allocated while the heap is still small, they cost a few small ones.
 */

const SLAB_BYTES = 1 << 20
/**
 * Largest slab a reservation allocates, bytes: a slab outlives every agent but the last carved
 * from it, so a reservation is cut into slabs that agents evicted together can still free.
 */
const RESERVED_SLAB_BYTES = 256 << 20
let slab = new ArrayBuffer(SLAB_BYTES)
let slabUsed = 0
/**
 * Slab -> bytes of it in use as far as known: carved, less what `releaseCarved` gave back. Arrays a
 * detector replaces are not given back, so a slab can be emptier than this says, never fuller.
 * The current slab's count is `slabUsed` until it is replaced.
 */
const inUse = new WeakMap<ArrayBuffer, number>()
let slabInUse = 0
/** Slabs allocated by reserveCarving, carved in order before any new one. */
const reserved: ArrayBuffer[] = []
let reservedBytes = 0
/** Bytes carved since the process started. */
let carvedTotal = 0

/** [buffer, byteOffset, length] of a fresh zeroed region for `length` elements of `bytesEach` (8-byte aligned). */
export function carve(length: number, bytesEach: number): [ArrayBuffer, number, number] {
  const bytes = (length * bytesEach + 7) & ~7
  carvedTotal += bytes
  if (bytes > SLAB_BYTES) return [new ArrayBuffer(bytes), 0, length]
  if (slabUsed + bytes > slab.byteLength) nextSlab()
  const offset = slabUsed
  slabUsed += bytes
  slabInUse += bytes
  return [slab, offset, length]
}

/** Carve from the next reserved slab, or a new one, from now on. */
function nextSlab(): void {
  const next = reserved.shift()
  if (next) reservedBytes -= next.byteLength
  inUse.set(slab, slabInUse)
  slab = next ?? new ArrayBuffer(SLAB_BYTES)
  slabUsed = 0
  slabInUse = 0
}

/** Give back what `a` was carved from: the caller drops it (an agent frozen dormant, relocated or deleted). */
export function releaseCarved(a: ArrayBufferView): void {
  const bytes = (a.byteLength + 7) & ~7
  if (a.buffer === slab) slabInUse -= bytes
  else {
    const n = inUse.get(a.buffer as ArrayBuffer)
    if (n !== undefined) inUse.set(a.buffer as ArrayBuffer, Math.max(0, n - bytes))
  }
}

/**
 * Whether `a` sits in a slab less than half in use: the few agents still live in it keep all of it,
 * and moving them (their arrays carved anew) frees it. Why half: a slab is then moved out of at
 * most once for every two agents carved into it.
 *
 * The slab being carved counts against what was carved from it so far (a restore's reservation is
 * carved for minutes); when it is sparse, carving moves on to the next one, so that moving out of
 * it leaves it.
 */
export function inSparseSlab(a: ArrayBufferView): boolean {
  if (a.buffer === slab) {
    if (slabInUse >= slabUsed / 2) return false
    nextSlab()
    return true
  }
  const n = inUse.get(a.buffer as ArrayBuffer)
  return n !== undefined && n < a.buffer.byteLength / 2
}

/**
 * Key under which an object keeps a typed array carved as a cache of what its state implies (a
 * table's key index, detectors/bounded.ts). It is not state, so its key is a symbol, which JSON and
 * the walkers of a state (`for...in`, `Object.values`) pass over; `releaseAllCarved` gives it back
 * with the object.
 */
export const CARVED_CACHE: unique symbol = Symbol('carved cache')

/** Give back every typed array in `value` (objects and arrays walked, `depth` levels down), caches included. */
export function releaseAllCarved(value: unknown, depth = 6): void {
  if (ArrayBuffer.isView(value)) releaseCarved(value)
  else if (depth > 0 && typeof value === 'object' && value !== null) {
    if (Array.isArray(value)) {
      for (const v of value) if (typeof v === 'object') releaseAllCarved(v, depth - 1)
    } else {
      const cache = (value as { [CARVED_CACHE]?: unknown })[CARVED_CACHE]
      if (ArrayBuffer.isView(cache)) releaseCarved(cache)
      for (const k in value) releaseAllCarved((value as Record<string, unknown>)[k], depth - 1)
    }
  }
}

/**
 * Move every typed array in `value` that sits in a shared slab (objects and arrays walked, `depth`
 * levels down, caches included) into a buffer of its own, giving its slab space back. For state
 * that outlives the agents around it, a blueprint's: one of its arrays carved among agents' keeps
 * the whole slab (1 MiB) allocated after those agents went dormant. Blueprints are few, so a buffer
 * each costs little. Returns the arrays moved.
 */
export function moveOutOfSlabs(value: unknown, depth = 6): number {
  if (depth <= 0 || typeof value !== 'object' || value === null || ArrayBuffer.isView(value)) return 0
  // A state's arrays hold one kind each: a table's keys or numbers (thousands in a blueprint's) are
  // passed over at their first element.
  if (Array.isArray(value) && (value.length === 0 || typeof value[0] !== 'object')) return 0
  let moved = 0
  const holder = value as Record<string | symbol, unknown>
  const cache = holder[CARVED_CACHE]
  if (ArrayBuffer.isView(cache) && inSlab(cache)) {
    holder[CARVED_CACHE] = ownCopy(cache)
    moved++
  }
  for (const k of Array.isArray(value) ? value.keys() : Object.keys(value)) {
    const v = holder[k as string]
    if (ArrayBuffer.isView(v)) {
      if (inSlab(v)) {
        holder[k as string] = ownCopy(v)
        moved++
      }
    } else if (typeof v === 'object' && v !== null) moved += moveOutOfSlabs(v, depth - 1)
  }
  return moved
}

/** Whether `a` shares its buffer (a slab, or a reservation): not a buffer of its own. */
function inSlab(a: ArrayBufferView): boolean {
  return a.byteLength !== a.buffer.byteLength
}

/** `a` in a buffer of its own, of its own class (one built from a length, as typed arrays and the counts here are); its slab space given back. */
function ownCopy<T extends ArrayBufferView>(a: T): T {
  const Kind = a.constructor as new (length: number) => T & { set(from: T): void; length: number }
  const copy = new Kind((a as unknown as { length: number }).length)
  copy.set(a)
  releaseCarved(a)
  return copy
}

/** Bytes carved so far, by every typed array in the process. */
export function carvedBytes(): number {
  return carvedTotal
}

/**
 * Allocate now the slabs for `bytes` more of carving than the current slab and earlier
 * reservations hold, in slabs of RESERVED_SLAB_BYTES at most (see above for why).
 */
export function reserveCarving(bytes: number): void {
  let missing = bytes - (slab.byteLength - slabUsed) - reservedBytes
  while (missing > 0) {
    const size = Math.max(SLAB_BYTES, Math.min(RESERVED_SLAB_BYTES, (missing + 7) & ~7))
    reserved.push(new ArrayBuffer(size))
    reservedBytes += size
    missing -= size
  }
}

/** The bytes of a typed array, base64. */
export function base64Of(a: ArrayBufferView): string {
  return Buffer.from(a.buffer, a.byteOffset, a.byteLength).toString('base64')
}

/** Marks the sparse form of saved counts; never a base64 character. */
const SPARSE = '~'

/**
 * The counts' JSON: the sparse form when it is shorter (see above), else the base64 of their bytes.
 * A bit per element against the bytes of each zero: sparse wins below ~7/8 (8-bit), ~15/16 (16-bit)
 * or ~31/32 (32-bit) nonzero elements.
 */
function countsJSON(a: Uint8Array | Uint16Array | Uint32Array): string {
  const width = a.BYTES_PER_ELEMENT
  let nonzero = 0
  for (let i = 0; i < a.length; i++) if (a[i] !== 0) nonzero++
  const mapBytes = (a.length + 7) >> 3
  if (mapBytes + nonzero * width >= a.length * width) return base64Of(a)
  const out = Buffer.alloc(mapBytes + nonzero * width)
  let at = mapBytes
  for (let i = 0; i < a.length; i++) {
    const v = a[i]!
    if (v === 0) continue
    out[i >> 3]! |= 1 << (i & 7)
    if (width === 1) out[at] = v
    else if (width === 2) out.writeUInt16LE(v, at)
    else out.writeUInt32LE(v, at)
    at += width
  }
  return `${SPARSE}${a.length}:${width}:${out.toString('base64')}`
}

/** Decoded sparse forms, reused: one profile's counts are a few hundred bytes. Grown on demand. */
let scratch = Buffer.alloc(4096)

/** Float64s of one table being saved or revived (numbersJSON, numbersFrom), and their bytes. Reused, grown on demand. */
let numbers = new Float64Array(256)
let numberBytes = Buffer.from(numbers.buffer)

function roomForNumbers(count: number): void {
  if (count <= numbers.length) return
  numbers = new Float64Array(Math.max(count, 2 * numbers.length))
  numberBytes = Buffer.from(numbers.buffer)
}

/**
 * The numbers of a bounded table (counts, first and last seen in ms, call sizes) as the base64 of
 * their float64 bytes, little-endian. Lossless, and cheap both ways: `JSON.parse` reads a number of
 * more than 9 digits (every time in ms) at ~120 ns and `JSON.stringify` writes a double slower still,
 * where a base64 string is copied in one go. A table's numbers took ~60% of its parse time as a
 * JSON array (docs/benchmarks.md, fourth round).
 */
export function numbersJSON(values: readonly number[]): string {
  roomForNumbers(values.length)
  const into = numbers
  for (let i = 0; i < values.length; i++) into[i] = values[i]!
  return numberBytes.toString('base64', 0, 8 * values.length)
}

/** The numbers `numbersJSON` saved, as an array of exactly their count; undefined when `saved` is no such string. */
export function numbersFrom(saved: string): number[] | undefined {
  const bytes = Buffer.byteLength(saved, 'base64')
  if ((bytes & 7) !== 0) return undefined
  roomForNumbers(bytes >> 3)
  if (numberBytes.write(saved, 'base64') !== bytes) return undefined
  const count = bytes >> 3
  const from = numbers
  const out = new Array<number>(count)
  for (let i = 0; i < count; i++) out[i] = from[i]!
  return out
}

/** The header of a sparse form: [length, bytes per element, where the base64 starts], or undefined. */
function sparseHeader(saved: string): [number, number, number] | undefined {
  const colon = saved.indexOf(':')
  const second = colon < 0 ? -1 : saved.indexOf(':', colon + 1)
  if (second < 0) return undefined
  const length = Number(saved.slice(SPARSE.length, colon))
  const width = Number(saved.slice(colon + 1, second))
  if (!Number.isSafeInteger(length) || length < 0 || (width !== 1 && width !== 2 && width !== 4)) return undefined
  return [length, width, second + 1]
}

/**
 * Fill `out` (zeroed) from a sparse form, at the width it was saved with. Elements beyond `out`'s
 * length are dropped (a length changed between versions); a truncated form keeps the elements it
 * holds whole; a malformed one leaves zeros.
 */
function readSparse(out: Uint8Array | Uint16Array | Uint32Array, saved: string): void {
  const header = sparseHeader(saved)
  if (!header) return
  const [length, width, start] = header
  const mapBytes = (length + 7) >> 3
  const body = saved.slice(start)
  const need = Buffer.byteLength(body, 'base64')
  if (need > scratch.length) scratch = Buffer.alloc(need)
  const bytes = scratch.write(body, 'base64')
  if (bytes < mapBytes) return
  const b = scratch
  const n = Math.min(length, out.length)
  let at = mapBytes
  // A bitmap byte at a time: most are 0 (eight zero elements), skipped in one step.
  for (let m = 0; m < mapBytes; m++) {
    let bits = b[m]!
    for (let i = m << 3; bits !== 0; i++, bits >>= 1) {
      if ((bits & 1) === 0) continue
      if (i >= n || at + width > bytes) return
      // Little-endian, read by hand: Buffer's readUInt*LE checks bounds on every call.
      out[i] = width === 1 ? b[at]! : width === 2 ? b[at]! | (b[at + 1]! << 8) : (b[at]! | (b[at + 1]! << 8) | (b[at + 2]! << 16)) + b[at + 3]! * 0x1000000
      at += width
    }
  }
}

/** Counts below 256, kept saturated by their users (volume's weeks folded into an hour-of-week slot, read only as none or some). */
export class Uint8Counts extends Uint8Array {
  toJSON(): string {
    return countsJSON(this)
  }
}

/** Counts below 65,536 (time_of_week's events per hour of the week until one would pass it). */
export class Uint16Counts extends Uint16Array {
  toJSON(): string {
    return countsJSON(this)
  }
}

/** Counts below 2^32 (~4 billion: volume's excess histogram, a busy blueprint's events per hour of the week). */
export class Uint32Counts extends Uint32Array {
  toJSON(): string {
    return countsJSON(this)
  }
}

type CountsKind<T> = (new (buffer: ArrayBuffer, byteOffset: number, length: number) => T) & { BYTES_PER_ELEMENT: number }

/** Counts as saved: the sparse form or base64 of the bytes (see above), a plain array (saved before), or already packed. */
export type SavedCounts = string | ArrayLike<number>

/**
 * `saved` as counts of `Kind` and `length`, carved from a slab. Values beyond `length` are dropped
 * and missing ones are 0, so a length changed between versions revives too.
 */
function packed<T extends Uint8Counts | Uint16Counts | Uint32Counts>(Kind: CountsKind<T>, saved: SavedCounts | undefined, length: number): T {
  if (saved instanceof Kind) return saved
  return packedInto(new Kind(...carve(length, Kind.BYTES_PER_ELEMENT)), saved, length)
}

/** Decode `saved` into `out` (zeroed, `length` elements); returns `out`. */
function packedInto<T extends Uint8Array | Uint16Array | Uint32Array>(out: T, saved: SavedCounts | undefined, length: number): T {
  if (typeof saved === 'string' && saved.startsWith(SPARSE)) readSparse(out, saved)
  else if (typeof saved === 'string') {
    // Decoded straight into the carved bytes (no intermediate buffer); a string longer than the
    // counts stops at their end. A truncated string's last partial value is cleared again: whole
    // values only.
    const written = Buffer.from(out.buffer, out.byteOffset, out.byteLength).write(saved, 'base64')
    const partial = written % out.BYTES_PER_ELEMENT
    if (partial) new Uint8Array(out.buffer, out.byteOffset + written - partial, partial).fill(0)
  } else if (saved) for (let i = 0, n = Math.min(length, saved.length); i < n; i++) out[i] = saved[i]!
  return out
}

export const uint16Counts = (saved: SavedCounts | undefined, length: number): Uint16Counts => packed(Uint16Counts, saved, length)
export const uint32Counts = (saved: SavedCounts | undefined, length: number): Uint32Counts => packed(Uint32Counts, saved, length)

/**
 * 8-bit counts from `saved` at any width, each above 255 kept as 255. Counts saved 8-bit decode
 * straight into their own kind; wider ones (volume's weeks per slot were 16-bit) through a reused
 * buffer, so that no slab space is carved for a width then dropped.
 */
export function uint8Counts(saved: SavedCounts | undefined, length: number): Uint8Counts {
  if (saved instanceof Uint8Counts) return saved
  const width = saved === undefined ? 1 : savedBytesPerCount(saved, length)
  if (width === 1) return packed(Uint8Counts, saved, length)
  const values: Uint16Array | Uint32Array = width === 2 ? decodeTarget(Uint16Array, length) : decodeTarget(Uint32Array, length)
  packedInto(values, saved, length)
  const out = packed(Uint8Counts, undefined, length)
  for (let i = 0; i < length; i++) out[i] = Math.min(255, values[i]!)
  return out
}

/** Bytes per count of a saved string (sparse header, or a dense string's length against `length`); 4 for anything else. */
function savedBytesPerCount(saved: SavedCounts, length: number): number {
  if (typeof saved !== 'string') return 4
  if (saved.startsWith(SPARSE)) return sparseHeader(saved)?.[1] ?? 4
  const bytes = Buffer.byteLength(saved, 'base64')
  return bytes <= length ? 1 : bytes <= 2 * length ? 2 : 4
}

/** Bytes of the arrays saved counts are decoded into before the width they are kept at is known. Reused. */
let targetBytes = new ArrayBuffer(0)

/** A zeroed array of `length` counts of `Kind` over `targetBytes`, valid until the next call. */
function decodeTarget<T extends Uint16Array | Uint32Array>(Kind: CountsKind<T>, length: number): T {
  const bytes = length * Kind.BYTES_PER_ELEMENT
  if (targetBytes.byteLength < bytes) targetBytes = new ArrayBuffer(bytes)
  new Uint8Array(targetBytes, 0, bytes).fill(0)
  return new Kind(targetBytes, 0, length)
}

/**
 * Counts kept at 16 bits while every one fits, widened to 32 (`widened`) when one is about to pass
 * 65,535: an agent's events per hour of the week stay far below that for years, a blueprint's
 * reach it sooner. `saved` may be either width, in any saved form; it is kept 16-bit when its
 * values allow, so counts saved 32-bit before shrink on restore. Decoded once into a reused
 * buffer, so that no slab space is carved for a width then dropped.
 */
export function narrowCounts(saved: SavedCounts | undefined, length: number): Uint16Counts | Uint32Counts {
  if (saved instanceof Uint16Counts || saved instanceof Uint32Counts) return saved
  // 16-bit forms decode straight into their own kind: every value fits.
  if (saved === undefined || savedBytesPerCount(saved, length) <= 2) return uint16Counts(saved, length)
  const values = packedInto(decodeTarget(Uint32Array, length), saved, length)
  for (let i = 0; i < length; i++) if (values[i]! > 0xffff) return uint32Counts(values, length)
  return uint16Counts(values, length)
}

/** `counts` with room to add `add` to element `index`: itself when 32-bit or the sum fits 16 bits, else a 32-bit copy. */
export function widened(counts: Uint16Counts | Uint32Counts, index: number, add = 1): Uint16Counts | Uint32Counts {
  return counts instanceof Uint16Counts && counts[index]! + add > 0xffff ? uint32Counts(counts, counts.length) : counts
}

/**
 * A copy of `value` (a detector state, or any JSON-like value) with every typed array as a plain
 * array of numbers: the form for people, where JSON would give base64.
 */
export function withPlainArrays(value: unknown): unknown {
  if (ArrayBuffer.isView(value)) return Array.from(value as unknown as ArrayLike<number>)
  if (Array.isArray(value)) return value.map(withPlainArrays)
  if (typeof value !== 'object' || value === null) return value
  // A value with a form for people (a CountTable) is shown in it; else as it is saved.
  if (typeof (value as { view?: unknown }).view === 'function') return withPlainArrays((value as { view(): unknown }).view())
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
