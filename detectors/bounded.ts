/**
 * Small bounded frequency tables, shared by detectors so that no baseline grows with the number of
 * distinct resources, tools or users it has seen (`CountTable`, and the key lookup `KeySlots` it
 * shares with volume's `ToolSizes`), and safe lookups in the plain objects keyed by names from
 * events that some states keep.
 */
import { internalized } from './internalized.ts'
import { CARVED_CACHE, carve, numbersFrom, numbersJSON, releaseCarved } from './packed.ts'

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

/** A table entry as people read it: [count, firstSeenTs, lastSeenTs]. */
export type CountEntry = [number, number, number]

/** A table as people read it (the baseline API): key -> [count, firstSeenTs, lastSeenTs]. Tables were saved so before 2026-11-27. */
export type TableView = Record<string, CountEntry>

/**
 * How a table is saved (JSON): its keys, and count, first seen (ms), last seen (ms) of key i at
 * 3i, 3i+1, 3i+2 of `countFirstLast`, the base64 of those numbers' float64 bytes (`numbersJSON` in
 * packed.ts; a JSON array of them until the fourth round of docs/benchmarks.md, still revived).
 *
 * Not the object `{ key: [count, first, last] }` that people read: JSON.parse gives every distinct
 * sequence of property names its own hidden class, and no two agents have quite the same tables,
 * so restoring a million agents built about as many hidden classes. Parsing a 6.7 KB profile takes
 * ~78 us with each agent's keys in its own order, ~42 us in this form (src/bench/parse-tables.ts),
 * and the keys parsed are the ones the table keeps.
 */
export interface SavedTable {
  keys: string[]
  countFirstLast: string | number[]
}

/**
 * Tables up to this size are searched key by key; larger ones (a blueprint's, a busy agent's
 * transitions) keep a key -> slot index beside them. A scan of a dozen keys costs about what a
 * hash lookup does, and saves the index's memory on the million agents whose tables are small.
 */
const SCANNED = 12

/**
 * A table's index: slot + 1 of each key (0 an empty bucket) at its hash, the next free bucket on a
 * collision (linear probing), in a power-of-two number of buckets more than twice the keys. 16-bit
 * while every slot + 1 fits (fewer than 65,535 keys), then 32-bit. Carved from the shared slabs,
 * and kept under `CARVED_CACHE` (packed.ts): not state, and given back with the table.
 *
 * Why not a Map: with every table indexed, in the bench's fleet (~0.8 indexed tables an agent), a
 * Map cost 1,172 bytes an agent (~1,500 a table), these buckets 232 (docs/benchmarks.md, twelfth
 * round). 2 bytes a bucket: 64-256 bytes for 13-64 keys, beside the view.
 */
type KeyIndex = Uint16Array | Uint32Array

/**
 * Seed of the keys' hash, new in every process: keys come from events, so that nobody can choose
 * resource names that all fall in one bucket run. A table is bounded (its capacity), so even then a
 * lookup costs at most a scan of it.
 */
const HASH_SEED = (Math.random() * 0x100000000) >>> 0

/** FNV-1a over the key's UTF-16 code units from HASH_SEED, with a final mix of its high bits into the low ones (the buckets' mask keeps the low). */
function keyHash(key: string): number {
  let h = HASH_SEED ^ 0x811c9dc5
  for (let i = 0; i < key.length; i++) h = Math.imul(h ^ key.charCodeAt(i), 0x01000193)
  h ^= h >>> 16
  h = Math.imul(h, 0x85ebca6b)
  return (h ^ (h >>> 13)) >>> 0
}

/**
 * Longest array an append grows to exactly its new length. Below it an append copies the array into
 * a new one of that length: push would grow V8's store by half again plus 16 elements, room a
 * long-lived table keeps. 56 keys grown by push took 2,756 bytes, copied at their length 1,932. A
 * new key in each of a restored agent's seven tables cost 3,215 bytes more an agent by push, 464
 * copied (the new entries, and the indexes their lookups built; docs/benchmarks.md, twelfth round).
 * A copy costs ~0.2-0.3 us at 56 keys and ~20 us at 5,000, so beyond this length (a blueprint's
 * tables, raised capacities) appends push. Elements.
 */
const EXACT_GROWTH_MAX = 1024

/**
 * `a` with `extra` more numbers at its end, for the caller to set: while short, a new array of
 * exactly that length (the old one's numbers copied); else `a` itself, zeros pushed.
 *
 * Numbers and keys each have a function of their own: V8 remembers, per `new Array` site, the kind
 * of elements its arrays came to hold, and makes the next ones of that kind from the start. A site
 * shared with strings made arrays of boxed numbers (a 16-byte heap number each, not 8 bytes inline).
 */
export function lengthenedNumbers(a: number[], extra: number): number[] {
  const length = a.length + extra
  if (length > EXACT_GROWTH_MAX) {
    for (let i = 0; i < extra; i++) a.push(0)
    return a
  }
  const out = new Array<number>(length)
  for (let i = 0; i < a.length; i++) out[i] = a[i]!
  return out
}

/** `keys` with one more key at its end, for the caller to set; as `lengthenedNumbers`. */
function lengthenedKeys(keys: string[]): string[] {
  const length = keys.length + 1
  if (length > EXACT_GROWTH_MAX) {
    keys.push('')
    return keys
  }
  const out = new Array<string>(length)
  for (let i = 0; i < keys.length; i++) out[i] = keys[i]!
  return out
}

/** Shared by every table that has no entries yet, replaced on its first insert (never written). */
const NO_KEYS: string[] = []
const NO_VALUES: number[] = []

/**
 * Keys in slot order, searched one by one up to SCANNED keys and through a key -> slot index
 * beyond: the lookup the bounded tables share (`CountTable`, volume's `ToolSizes`), each keeping its
 * numbers per slot beside the keys. Keys are interned when added, as property names are.
 */
export class KeySlots {
  protected keys: string[] = NO_KEYS
  /** key -> slot (`KeyIndex`); only for tables larger than SCANNED, built at their first lookup and rebuilt after a removal. */
  private [CARVED_CACHE]: KeyIndex | undefined = undefined

  get size(): number {
    return this.keys.length
  }

  /** The slot of `key`, or -1. */
  slotOf(key: string): number {
    const keys = this.keys
    if (keys.length <= SCANNED) {
      for (let i = 0; i < keys.length; i++) if (keys[i] === key) return i
      return -1
    }
    const index = this[CARVED_CACHE] ?? this.buildIndex()
    const mask = index.length - 1
    // Ends at an empty bucket: at most half of them are taken.
    for (let b = keyHash(key) & mask; ; b = (b + 1) & mask) {
      const at = index[b]!
      if (at === 0) return -1
      if (keys[at - 1] === key) return at - 1
    }
  }

  /** A new index of the keys, with room for twice as many (see KeyIndex). */
  private buildIndex(): KeyIndex {
    this.dropIndex()
    const keys = this.keys
    let buckets = 32
    while (buckets <= 2 * keys.length) buckets *= 2
    const index: KeyIndex = keys.length < 0xffff ? new Uint16Array(...carve(buckets, 2)) : new Uint32Array(...carve(buckets, 4))
    this[CARVED_CACHE] = index
    for (let i = 0; i < keys.length; i++) this.indexKey(index, i)
    return index
  }

  /** Put slot `slot`'s key into `index`. */
  private indexKey(index: KeyIndex, slot: number): void {
    const mask = index.length - 1
    let b = keyHash(this.keys[slot]!) & mask
    while (index[b] !== 0) b = (b + 1) & mask
    index[b] = slot + 1
  }

  /** Forget the index (rebuilt at the next lookup), giving its bytes back. */
  private dropIndex(): void {
    const index = this[CARVED_CACHE]
    if (index) releaseCarved(index)
    this[CARVED_CACHE] = undefined
  }

  keyAt(slot: number): string {
    return this.keys[slot]!
  }

  /** Keys in slot order. */
  keyList(): readonly string[] {
    return this.keys
  }

  /** Add `key` (absent) in the next slot; returns the slot. */
  protected appendKey(key: string): number {
    const slot = this.keys.length
    // A new array while short, so NO_KEYS itself is never written.
    const keys = lengthenedKeys(this.keys)
    keys[slot] = internalized(key)
    this.keys = keys
    const index = this[CARVED_CACHE]
    if (index) {
      // Past half full, or past what 16 bits hold: a larger index, with this key in it.
      if (2 * this.keys.length >= index.length || (this.keys.length >= 0xffff && index instanceof Uint16Array)) this.buildIndex()
      else this.indexKey(index, slot)
    }
    return slot
  }

  /**
   * Remove the slots marked in `gone`, keeping the others' order, from the keys and from `values`
   * (`width` numbers per slot, the table's own).
   */
  protected removeSlots(gone: Uint8Array, values: number[], width: number): void {
    let kept = 0
    for (let i = 0; i < this.keys.length; i++) {
      if (gone[i]) continue
      this.keys[kept] = this.keys[i]!
      for (let k = 0; k < width; k++) values[width * kept + k] = values[width * i + k]!
      kept++
    }
    this.keys.length = kept
    values.length = width * kept
    this.dropIndex()
  }

  /**
   * Saved keys with `width` numbers each (as `savedKeyed` gives them). When every entry is a string
   * key with finite numbers, the keys become this table's own (interned; JSON.parse gives every
   * agent its own copy of a string value) and the numbers are returned for the caller to keep: both
   * are at exactly their size, and nothing else holds them. Otherwise each well-formed entry of a
   * key not held yet goes to `add`, and nothing is returned; nor for no keys.
   */
  protected adoptEntries(keys: unknown[], numbers: unknown[], width: number, add: (key: string, entry: number[]) => void): number[] | undefined {
    if (keys.length === 0) return undefined
    let valid = numbers.length === width * keys.length
    for (let i = 0; valid && i < keys.length; i++) {
      valid = typeof keys[i] === 'string'
      for (let k = 0; valid && k < width; k++) valid = isFiniteNumber(numbers[width * i + k])
    }
    if (valid) {
      for (let i = 0; i < keys.length; i++) keys[i] = internalized(keys[i] as string)
      this.keys = keys as string[]
      this.dropIndex()
      return numbers as number[]
    }
    for (let i = 0; i < keys.length; i++) {
      const key = keys[i]
      const entry = numbers.slice(width * i, width * i + width)
      if (typeof key === 'string' && entry.length === width && entry.every(isFiniteNumber) && this.slotOf(key) < 0) add(key, entry)
    }
    return undefined
  }
}

/**
 * The keys and numbers of a saved keyed table (`SavedTable`, volume's `SavedSizes`), the numbers
 * decoded from their base64 (`numbersJSON`) or as the JSON array saved before; undefined for
 * anything else. The object form saved before may have an entry named `keys`: it holds numbers
 * ([count, first, last]), never strings.
 */
export function savedKeyed(keys: unknown, numbers: unknown): { keys: unknown[]; numbers: unknown[] } | undefined {
  if (!Array.isArray(keys) || (keys.length > 0 && typeof keys[0] !== 'string')) return undefined
  const decoded = typeof numbers === 'string' ? (numbersFrom(numbers) ?? []) : numbers
  return Array.isArray(decoded) ? { keys, numbers: decoded } : undefined
}

/**
 * A bounded frequency table: key -> (count, first seen, last seen), kept as two parallel arrays
 * (keys, and three numbers per key) instead of an object of three-element arrays. That is two
 * arrays per table where an entry each took one, which matters with a million agents resident:
 * every array is a heap object (32 bytes plus its elements) the collector must visit.
 *
 * In JSON a table is its two arrays (`SavedTable`). People read it as `{ key: [count, first, last] }`
 * (`view`, the baseline API), the form tables were saved in before, which still revives.
 *
 * Keys of any name are counted like any other, including `constructor` or `__proto__` (they are
 * array elements here, never property names).
 */
export class CountTable extends KeySlots {
  /** count, first seen (ms), last seen (ms) of slot i at 3i, 3i+1, 3i+2. */
  private values: number[] = NO_VALUES

  count(key: string): number {
    const slot = this.slotOf(key)
    return slot < 0 ? 0 : this.values[3 * slot]!
  }

  countAt(slot: number): number {
    return this.values[3 * slot]!
  }
  firstAt(slot: number): number {
    return this.values[3 * slot + 1]!
  }
  lastAt(slot: number): number {
    return this.values[3 * slot + 2]!
  }
  setCountAt(slot: number, count: number): void {
    this.values[3 * slot] = count
  }
  setFirstAt(slot: number, ts: number): void {
    this.values[3 * slot + 1] = ts
  }
  setLastAt(slot: number, ts: number): void {
    this.values[3 * slot + 2] = ts
  }

  /**
   * Count one occurrence of `key` at `ts`; returns its slot. When the table is full, the rarest
   * (then oldest) entries are evicted first: a rare key forgotten costs at most a repeated "first
   * seen", a frequent key forgotten would cost a false alarm. A sixteenth of the table goes at once,
   * so that a stream of distinct keys costs one sort per capacity/16 inserts rather than a scan of
   * the whole table per insert.
   */
  bump(key: string, ts: number, capacity: number): number {
    const slot = this.slotOf(key)
    if (slot >= 0) {
      const v = this.values
      v[3 * slot] += 1
      if (ts > v[3 * slot + 2]!) v[3 * slot + 2] = ts
      return slot
    }
    if (this.keys.length >= capacity) this.evict(this.keys.length - capacity + Math.max(1, Math.floor(capacity / 16)))
    return this.insert(key, 1, ts, ts)
  }

  /**
   * A new entry, for a key the caller knows is absent (`slotOf` gave -1); returns its slot. No
   * eviction: keeping the table within its capacity is the caller's (`trim`), as in a merge.
   */
  insert(key: string, count: number, first: number, last: number): number {
    const at = this.values.length
    const values = lengthenedNumbers(this.values, 3)
    values[at] = count
    values[at + 1] = first
    values[at + 2] = last
    this.values = values
    return this.appendKey(key)
  }

  /**
   * Fold `from` into this table: counts add (or `combine`), first seen takes the earlier time and
   * last seen the later. When the union holds more than `capacity` keys, the rarest (then least
   * recently seen) go, down to `capacity`, the same order `bump` evicts in. Nothing of `from` is
   * shared, since `from` keeps counting.
   */
  merge(from: CountTable, capacity: number, combine: (a: number, b: number) => number = add): void {
    for (let j = 0; j < from.keys.length; j++) {
      const count = from.values[3 * j]!
      const first = from.values[3 * j + 1]!
      const last = from.values[3 * j + 2]!
      const slot = this.slotOf(from.keys[j]!)
      if (slot < 0) {
        this.insert(from.keys[j]!, count, first, last)
        continue
      }
      const v = this.values
      v[3 * slot] = combine(v[3 * slot]!, count)
      if (first < v[3 * slot + 1]!) v[3 * slot + 1] = first
      if (last > v[3 * slot + 2]!) v[3 * slot + 2] = last
    }
    this.trim(capacity)
  }

  /** Evict the rarest (then least recently seen) entries until at most `capacity` are left. */
  trim(capacity: number): void {
    if (this.keys.length > capacity) this.evict(this.keys.length - capacity)
  }

  /** Remove the `n` rarest (then least recently seen) entries, keeping the others' order. */
  private evict(n: number): void {
    const v = this.values
    const order = Array.from(this.keys, (_, i) => i).sort((a, b) => v[3 * a]! - v[3 * b]! || v[3 * a + 2]! - v[3 * b + 2]!)
    const gone = new Uint8Array(this.keys.length)
    for (let i = 0; i < n && i < order.length; i++) gone[order[i]!] = 1
    this.removeSlots(gone, v, 3)
  }

  /** The saved form: the table's own keys, which JSON.stringify reads as they are, and its numbers in base64. */
  toJSON(): SavedTable {
    return { keys: this.keys, countFirstLast: numbersJSON(this.values) }
  }

  /** The form people read (the baseline API): key -> [count, first seen, last seen]. */
  view(): TableView {
    const out: TableView = {}
    for (let i = 0; i < this.keys.length; i++) setOwnEntry(out, this.keys[i]!, [this.values[3 * i]!, this.values[3 * i + 1]!, this.values[3 * i + 2]!])
    return out
  }

  /**
   * A table from its parsed JSON, saved (`SavedTable`, whose arrays it takes as its own) or in the
   * form saved before (`TableView`), or `saved` itself when it is a table already (a state revived
   * twice); empty for anything else. Entries that are not a string key with three finite numbers
   * are dropped.
   */
  static from(saved: unknown): CountTable {
    if (saved instanceof CountTable) return saved
    const table = new CountTable()
    if (typeof saved !== 'object' || saved === null || Array.isArray(saved)) return table
    const keyed = savedKeyed((saved as Partial<SavedTable>).keys, (saved as Partial<SavedTable>).countFirstLast)
    if (keyed) {
      const values = table.adoptEntries(keyed.keys, keyed.numbers, 3, (key, e) => table.insert(key, e[0]!, e[1]!, e[2]!))
      if (values) table.values = values
      return table
    }
    const entries = saved as Record<string, unknown>
    // Object.keys gives an array of exactly the table's size, and the values are allocated at their
    // size: a restored table has no room for growth to spare (push would leave up to half again).
    let keys = Object.keys(entries)
    if (!keys.every((k) => isEntry(entries[k]))) keys = keys.filter((k) => isEntry(entries[k]))
    if (keys.length === 0) return table
    const values = new Array<number>(3 * keys.length)
    for (let i = 0; i < keys.length; i++) {
      const e = entries[keys[i]!] as CountEntry
      values[3 * i] = e[0]
      values[3 * i + 1] = e[1]
      values[3 * i + 2] = e[2]
    }
    table.keys = keys
    table.values = values
    return table
  }

}

/** A saved number that is one: JSON gives no NaN or Infinity, but a hand-edited state might hold a string. */
export const isFiniteNumber = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v)

const add = (a: number, b: number) => a + b

/**
 * A table that only some states use (a blueprint-only table in an agent's own state, a table most
 * agents never fill), from its JSON: absent while empty, so that a million agents do not each
 * carry empty tables. Users create it on first write (`state.t ??= new CountTable()`). Revive a
 * field only when the saved state has it: assigning an absent field adds a property to the parsed
 * object, which then needs an out-of-object property store (~200 bytes an agent over its states).
 */
export function optionalTable(saved: unknown): CountTable | undefined {
  const table = CountTable.from(saved)
  return table.size > 0 ? table : undefined
}

/** Fold `from` into `into` as CountTable.merge does, where either may be absent; returns the result. */
export function mergeOptional(into: CountTable | undefined, from: CountTable | undefined, capacity: number, combine?: (a: number, b: number) => number): CountTable | undefined {
  if (!from || from.size === 0) return into
  const out = into ?? new CountTable()
  out.merge(from, capacity, combine)
  return out
}

function isEntry(e: unknown): e is CountEntry {
  return Array.isArray(e) && e.length >= 3 && typeof e[0] === 'number' && typeof e[1] === 'number' && typeof e[2] === 'number'
}
