/**
 * Small bounded frequency tables, shared by detectors so that no baseline grows with the number of
 * distinct resources, tools or users it has seen. Stored as plain objects so that they encode to
 * JSON as they are.
 */

/** key -> [count, firstSeenTs, lastSeenTs] */
export type Counts = Record<string, [number, number, number]>

/**
 * Entries per table, so that an insert need not list the table's keys. Kept beside the table (not
 * in it) so that the table stays plain JSON; a table restored from JSON is counted once on first use.
 */
const sizes = new WeakMap<Counts, number>()

function sizeOf(table: Counts): number {
  let n = sizes.get(table)
  if (n === undefined) {
    n = Object.keys(table).length
    sizes.set(table, n)
  }
  return n
}

/**
 * The table's own entry for `key`, never one inherited from Object.prototype: resource, tool and user
 * names come from the events, and a name such as `constructor` or `toString` must be counted like
 * any other, not read as a known key (that would hide a first touch) or shared between tables.
 */
export function ownEntry<T extends readonly unknown[]>(table: Record<string, T>, key: string): T | undefined {
  // Entries are arrays, and nothing a plain object inherits (constructor, toString, the __proto__
  // accessor's Object.prototype) is one: a single lookup tells an own entry from an inherited name,
  // where Object.hasOwn then a read took two (the most frequent call of the per-event path).
  const v = table[key]
  return Array.isArray(v) ? v : undefined
}

/**
 * The table's own number for `key`, never a name inherited from Object.prototype: agent ids come
 * from the events, and an agent named `constructor` or `__proto__` is an agent like any other. Nothing
 * a plain object inherits is a number, so one read tells an own value from an inherited name.
 */
export function ownNumber(table: Record<string, number>, key: string): number | undefined {
  const v = table[key]
  return typeof v === 'number' ? v : undefined
}

/**
 * Set the table's own entry for `key`. `__proto__` is defined as an own property (as JSON.parse does)
 * instead of assigned, which would replace the table's prototype.
 */
export function setOwnEntry<T>(table: Record<string, T>, key: string, value: T): void {
  if (key === '__proto__') Object.defineProperty(table, key, { value, writable: true, enumerable: true, configurable: true })
  else table[key] = value
}

/**
 * Count one occurrence of `key` at `ts`. When the table is full, the rarest (then oldest) entries are
 * evicted first: a rare key forgotten costs at most a repeated "first seen", a frequent key forgotten
 * would cost a false alarm. A sixteenth of the table goes at once, so that a stream of distinct keys
 * costs one sort per capacity/16 inserts rather than a scan of the whole table per insert.
 */
export function bump(table: Counts, key: string, ts: number, capacity: number): void {
  const entry = ownEntry(table, key)
  if (entry) {
    entry[0] += 1
    if (ts > entry[2]) entry[2] = ts
    return
  }
  let size = sizeOf(table)
  if (size >= capacity) {
    const entries = Object.entries(table).sort(([, a], [, b]) => a[0] - b[0] || a[2] - b[2])
    const victims = size - capacity + Math.max(1, Math.floor(capacity / 16))
    const removed = Math.min(victims, entries.length)
    for (let i = 0; i < removed; i++) delete table[entries[i][0]]
    size = entries.length - removed
  }
  setOwnEntry(table, key, [1, ts, ts])
  sizes.set(table, size + 1)
}

/**
 * Fold `from` into `into`: counts add, first seen takes the earlier time and last seen the later.
 * When the union holds more than `capacity` keys, the rarest (then least recently seen) go, down to
 * `capacity`, the same order `bump` evicts in. Entries are copied, never shared, since `from` keeps
 * counting. `combine` replaces the count rule for tables whose first field is not a count.
 */
export function mergeCounts(into: Counts, from: Counts, capacity: number, combine: (a: number, b: number) => number = (a, b) => a + b): void {
  for (const key of Object.keys(from)) {
    const theirs = from[key]!
    const mine = ownEntry(into, key)
    if (mine) {
      mine[0] = combine(mine[0], theirs[0])
      if (theirs[1] < mine[1]) mine[1] = theirs[1]
      if (theirs[2] > mine[2]) mine[2] = theirs[2]
    } else setOwnEntry(into, key, [theirs[0], theirs[1], theirs[2]])
  }
  trimCounts(into, capacity)
}

/** Evict the rarest (then least recently seen) entries of `table` until at most `capacity` are left. */
export function trimCounts(table: Counts, capacity: number): void {
  const entries = Object.entries(table)
  let size = entries.length
  if (size > capacity) {
    entries.sort(([, a], [, b]) => a[0] - b[0] || a[2] - b[2])
    for (let i = 0; size > capacity; i++, size--) delete table[entries[i]![0]]
  }
  sizes.set(table, size)
}

export function countOf(table: Counts, key: string): number {
  return ownEntry(table, key)?.[0] ?? 0
}
