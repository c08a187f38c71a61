/**
 * volume's call sizes per tool: tool -> calls, largest log2(1 + records) of one call, largest
 * log2(1 + bytes) of one call, mean records per call, mean bytes per call; bounded (the least used
 * tool goes first). Kept as CountTable keeps its entries: the tools in one array, their five numbers
 * each in another, not an array per tool.
 *
 * Saved as `{ keys: [tool, ...], callsLargestMean: five numbers per tool }`, not as an object keyed
 * by tool: agents learn their tools in different orders, and JSON.parse gives every distinct sequence
 * of property names a hidden class of its own (see `SavedTable` in bounded.ts). People read them
 * keyed by tool (`view`); sizes saved so before, with or without the means, still revive.
 */
import { isFiniteNumber, KeySlots, lengthenedNumbers, savedKeyed, setOwnEntry } from './bounded.ts'
import { numbersJSON } from './packed.ts'
import { log2p, round } from './scoring.ts'

/** [calls, largest log2(1 + records), largest log2(1 + bytes), mean records, mean bytes] of one tool. */
export type SizeEntry = [number, number, number, number, number]

/**
 * How the sizes are saved (JSON): tools, and tool i's `SizeEntry` at 5i .. 5i+4 of `callsLargestMean`,
 * the base64 of those numbers' float64 bytes as a table's (`numbersJSON` in packed.ts; a JSON array
 * until the fourth round of docs/benchmarks.md, still revived).
 */
export interface SavedSizes {
  keys: string[]
  callsLargestMean: string | number[]
}

/** Numbers per tool: calls, largest records, largest bytes (log2(1 + x)), mean records, mean bytes. */
const WIDTH = 5
const NO_VALUES: number[] = []

export class ToolSizes extends KeySlots {
  /** Tool i's calls, largest records, largest bytes, mean records, mean bytes at 5i .. 5i+4. */
  private values: number[] = NO_VALUES

  /** Calls of the tool in `slot`. */
  callsAt(slot: number): number {
    return this.values[WIDTH * slot]!
  }
  /** Largest log2(1 + records) (metric 1) or log2(1 + bytes) (metric 2) of one call of the tool in `slot`. */
  largestAt(slot: number, metric: 1 | 2): number {
    return this.values[WIDTH * slot + metric]!
  }
  /** Mean records (metric 1) or bytes (metric 2) per call of the tool in `slot`. */
  meanAt(slot: number, metric: 1 | 2): number {
    return this.values[WIDTH * slot + 2 + metric]!
  }

  /** The tool's entry as people read it, a copy; undefined when unknown. */
  entry(tool: string): SizeEntry | undefined {
    const slot = this.slotOf(tool)
    if (slot < 0) return undefined
    const v = this.values
    const at = WIDTH * slot
    return [v[at]!, v[at + 1]!, v[at + 2]!, v[at + 3]!, v[at + 4]!]
  }

  /** Fold one call's size into the tool's entry; when full, the least used tool (the first of equals) is forgotten. */
  note(tool: string, records: number | undefined, bytes: number | undefined, capacity: number): void {
    let slot = this.slotOf(tool)
    if (slot < 0) {
      if (this.size >= capacity) {
        let victim = 0
        for (let i = 1; i < this.size; i++) if (this.callsAt(i) < this.callsAt(victim)) victim = i
        this.remove([victim])
      }
      slot = this.append(tool, 0, 0, 0, 0, 0)
    }
    const v = this.values
    const at = WIDTH * slot
    const calls = (v[at] = v[at]! + 1)
    if (records !== undefined) v[at + 1] = Math.max(v[at + 1]!, round(log2p(records), 3))
    if (bytes !== undefined) v[at + 2] = Math.max(v[at + 2]!, round(log2p(bytes), 3))
    // Running means over all calls of the tool; a call without a count moved none.
    v[at + 3] = round(v[at + 3]! + ((records ?? 0) - v[at + 3]!) / calls, 3)
    v[at + 4] = round(v[at + 4]! + ((bytes ?? 0) - v[at + 4]!) / calls, 3)
  }

  /**
   * Fold `from` into these sizes: calls add, the largest call is the larger, means weigh by calls.
   * Beyond `capacity`, the least used tools go (the first of equals). Nothing of `from` is shared.
   */
  merge(from: ToolSizes, capacity: number): void {
    const theirs = from.values
    for (let j = 0; j < from.size; j++) {
      const t = WIDTH * j
      const slot = this.slotOf(from.keyAt(j))
      if (slot < 0) {
        this.append(from.keyAt(j), theirs[t]!, theirs[t + 1]!, theirs[t + 2]!, theirs[t + 3]!, theirs[t + 4]!)
        continue
      }
      const mine = this.values
      const m = WIDTH * slot
      const calls = mine[m]! + theirs[t]!
      if (calls > 0) {
        mine[m + 3] = round((mine[m + 3]! * mine[m]! + theirs[t + 3]! * theirs[t]!) / calls, 3)
        mine[m + 4] = round((mine[m + 4]! * mine[m]! + theirs[t + 4]! * theirs[t]!) / calls, 3)
      }
      mine[m] = calls
      mine[m + 1] = Math.max(mine[m + 1]!, theirs[t + 1]!)
      mine[m + 2] = Math.max(mine[m + 2]!, theirs[t + 2]!)
    }
    if (this.size > capacity) {
      // A stable sort: of tools with equal calls, the earlier goes first.
      const order = Array.from(this.keys, (_, i) => i).sort((a, b) => this.callsAt(a) - this.callsAt(b))
      this.remove(order.slice(0, this.size - capacity))
    }
  }

  /** The saved form: the own keys, which JSON.stringify reads as they are, and the numbers in base64. */
  toJSON(): SavedSizes {
    return { keys: this.keys, callsLargestMean: numbersJSON(this.values) }
  }

  /** The form people read (the baseline API): tool -> [calls, largest records, largest bytes, mean records, mean bytes]. */
  view(): Record<string, SizeEntry> {
    const out: Record<string, SizeEntry> = {}
    for (let i = 0; i < this.size; i++) setOwnEntry(out, this.keys[i]!, this.entry(this.keys[i]!)!)
    return out
  }

  /**
   * Sizes from their parsed JSON, saved (`SavedSizes`, whose arrays they take as their own) or
   * keyed by tool as saved before, or `saved` itself when revived already; empty for anything else.
   * Entries that are not five finite numbers (three, keyed by tool) are dropped.
   */
  static from(saved: unknown): ToolSizes {
    if (saved instanceof ToolSizes) return saved
    const sizes = new ToolSizes()
    if (typeof saved !== 'object' || saved === null || Array.isArray(saved)) return sizes
    const keyed = savedKeyed((saved as Partial<SavedSizes>).keys, (saved as Partial<SavedSizes>).callsLargestMean)
    if (keyed) {
      const values = sizes.adoptEntries(keyed.keys, keyed.numbers, WIDTH, (tool, e) => sizes.append(tool, e[0]!, e[1]!, e[2]!, e[3]!, e[4]!))
      if (values) sizes.values = values
      return sizes
    }
    const byTool = saved as Record<string, unknown>
    for (const tool of Object.keys(byTool)) {
      const e = byTool[tool]
      if (isEntry(e)) sizes.append(tool, ...current(e))
    }
    return sizes
  }

  /** Add an absent tool in the next slot; returns the slot. */
  private append(tool: string, calls: number, largestRecords: number, largestBytes: number, meanRecords: number, meanBytes: number): number {
    const at = this.values.length
    const values = lengthenedNumbers(this.values, WIDTH)
    values[at] = calls
    values[at + 1] = largestRecords
    values[at + 2] = largestBytes
    values[at + 3] = meanRecords
    values[at + 4] = meanBytes
    this.values = values
    return this.appendKey(tool)
  }

  /** Remove the tools at `slots`, keeping the others' order. */
  private remove(slots: readonly number[]): void {
    const gone = new Uint8Array(this.size)
    for (const slot of slots) gone[slot] = 1
    this.removeSlots(gone, this.values, WIDTH)
  }
}

function isEntry(e: unknown): e is number[] {
  return Array.isArray(e) && (e.length === 3 || e.length === 5) && e.every(isFiniteNumber)
}

/** An entry saved keyed by tool, in the current layout: one saved before the means were kept takes its largest call as the mean. */
function current(e: number[]): SizeEntry {
  if (e.length >= 5) return e as SizeEntry
  return [e[0]!, e[1]!, e[2]!, round(Math.pow(2, e[1]!) - 1, 3), round(Math.pow(2, e[2]!) - 1, 3)]
}
