/**
 * Seeded randomness for the simulator. Everything the simulator produces is a pure function of its
 * seed, so a fleet can be regenerated bit for bit (tests, evaluation runs, bug reports).
 *
 * mulberry32 is small and fast with a 32-bit state: good enough for synthetic workloads, not for
 * anything security related. Independent streams (one per agent and day) are derived with
 * `hashSeed`, so changing one part of a run (for example turning attacks off) leaves the rest of
 * the fleet's activity unchanged.
 */

/** A generator of floats in [0, 1) from a 32-bit seed. */
export function mulberry32(seed: number): () => number {
  let state = seed >>> 0
  return () => {
    state = (state + 0x6d2b79f5) >>> 0
    let t = state
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

/** A 32-bit seed from any list of parts (FNV-1a, then a final avalanche so close inputs diverge). */
export function hashSeed(...parts: (string | number)[]): number {
  let h = 0x811c9dc5
  const text = parts.join('|')
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i)
    h = Math.imul(h, 0x01000193)
  }
  h ^= h >>> 16
  h = Math.imul(h, 0x85ebca6b)
  h ^= h >>> 13
  h = Math.imul(h, 0xc2b2ae35)
  h ^= h >>> 16
  return h >>> 0
}

export class Rng {
  private readonly next: () => number

  constructor(seed: number) {
    this.next = mulberry32(seed)
  }

  /** Uniform in [0, 1). */
  float(): number {
    return this.next()
  }

  /** Uniform in [min, max). */
  between(min: number, max: number): number {
    return min + (max - min) * this.next()
  }

  /** Uniform integer in [min, max], both inclusive. */
  int(min: number, max: number): number {
    return min + Math.floor(this.next() * (max - min + 1))
  }

  chance(probability: number): boolean {
    return this.next() < probability
  }

  pick<T>(items: readonly T[]): T {
    if (items.length === 0) throw new Error('pick from an empty list')
    return items[Math.floor(this.next() * items.length)]
  }

  /** Index drawn with probability proportional to its weight. */
  weighted(weights: readonly number[]): number {
    let total = 0
    for (const w of weights) total += w
    let x = this.next() * total
    for (let i = 0; i < weights.length; i++) {
      x -= weights[i]
      if (x < 0) return i
    }
    return weights.length - 1
  }

  /** A shuffled copy (Fisher-Yates). */
  shuffle<T>(items: readonly T[]): T[] {
    const out = items.slice()
    for (let i = out.length - 1; i > 0; i--) {
      const j = Math.floor(this.next() * (i + 1))
      const tmp = out[i]
      out[i] = out[j]
      out[j] = tmp
    }
    return out
  }

  /** `count` distinct items (all of them when the list is shorter). */
  sample<T>(items: readonly T[], count: number): T[] {
    return this.shuffle(items).slice(0, Math.max(0, count))
  }

  /** Standard normal (Box-Muller). */
  normal(): number {
    const u = 1 - this.next() // (0, 1], so the log is finite
    const v = this.next()
    return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v)
  }

  /** Log-normal with the given median; sigma is the spread of the log (0.5 is roughly x/1.6 .. x*1.6). */
  logNormal(median: number, sigma: number): number {
    return median * Math.exp(sigma * this.normal())
  }

  /** Poisson-distributed count with the given mean. */
  poisson(mean: number): number {
    if (mean <= 0) return 0
    if (mean > 30) return Math.max(0, Math.round(mean + Math.sqrt(mean) * this.normal()))
    const limit = Math.exp(-mean)
    let k = 0
    let p = this.next()
    while (p > limit) {
      k++
      p *= this.next()
    }
    return k
  }

  /** Lower-case hex string of `length` characters. */
  hex(length: number): string {
    let out = ''
    while (out.length < length) out += Math.floor(this.next() * 0x100000000).toString(16).padStart(8, '0')
    return out.slice(0, length)
  }
}

/** Zipf-like weights 1/rank^exponent for ranks 1..n: a few favourites and a long tail. */
export function zipfWeights(n: number, exponent = 1.1): number[] {
  const out: number[] = []
  for (let rank = 1; rank <= n; rank++) out.push(1 / Math.pow(rank, exponent))
  return out
}
