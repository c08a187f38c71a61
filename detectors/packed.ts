/**
 * Fixed-size count arrays packed into typed arrays, half or a quarter of the memory of a JS array
 * (8 bytes a number). They serialise to JSON as plain arrays, so a saved state keeps its format and
 * a state saved as plain arrays revives into them.
 */

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

/** `saved` (a plain array from JSON, or already packed) as Uint16Counts of `length`. */
export function uint16Counts(saved: ArrayLike<number> | undefined, length: number): Uint16Counts {
  if (saved instanceof Uint16Counts) return saved
  const out = new Uint16Counts(length)
  if (saved) out.set(Array.prototype.slice.call(saved, 0, length) as number[])
  return out
}

/** `saved` (a plain array from JSON, or already packed) as Uint32Counts of `length`. */
export function uint32Counts(saved: ArrayLike<number> | undefined, length: number): Uint32Counts {
  if (saved instanceof Uint32Counts) return saved
  const out = new Uint32Counts(length)
  if (saved) out.set(Array.prototype.slice.call(saved, 0, length) as number[])
  return out
}
