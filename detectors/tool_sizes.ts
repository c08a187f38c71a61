/**
 * volume's call sizes per tool: tool -> [calls, largest log2(1 + records) of one call, largest
 * log2(1 + bytes) of one call, mean records per call, mean bytes per call], bounded (the least used
 * tool goes first).
 *
 * Saved as `{ keys: [tool, ...], rows: [[calls, ...], ...] }`, not as an object keyed by tool: agents
 * learn their tools in different orders, and JSON.parse gives every distinct sequence of property
 * names a hidden class of its own (see `SavedTable` in bounded.ts). People read it keyed by tool
 * (`view`); sizes saved in that form before, and rows of three numbers saved before the means were
 * kept, still revive.
 */
import { KeySlots, setOwnEntry } from './bounded.ts'
import { round } from './scoring.ts'

/** [calls, largest log2(1 + records), largest log2(1 + bytes), mean records, mean bytes] of one tool. */
export type SizeEntry = [number, number, number, number, number]

/** How the sizes are saved (JSON): tools, and each tool's `SizeEntry` at the same position. */
export interface SavedSizes {
  keys: string[]
  rows: number[][]
}

const NO_ROWS: SizeEntry[] = []
const log2p = (x: number) => Math.log2(1 + Math.max(0, x))

export class ToolSizes extends KeySlots {
  private rows: SizeEntry[] = NO_ROWS

  /** The tool's entry (the table's own array, updated in place), or undefined. */
  entry(tool: string): SizeEntry | undefined {
    const slot = this.slotOf(tool)
    return slot < 0 ? undefined : this.rows[slot]
  }

  /** Fold one call's size into the tool's entry; when full, the least used tool (the first of equals) is forgotten. */
  note(tool: string, records: number | undefined, bytes: number | undefined, capacity: number): void {
    let entry = this.entry(tool)
    if (!entry) {
      if (this.rows.length >= capacity) {
        let victim = 0
        for (let i = 1; i < this.rows.length; i++) if (this.rows[i]![0] < this.rows[victim]![0]) victim = i
        this.remove(new Set([victim]))
      }
      entry = [0, 0, 0, 0, 0]
      this.append(tool, entry)
    }
    entry[0] += 1
    if (records !== undefined) entry[1] = Math.max(entry[1], round(log2p(records), 3))
    if (bytes !== undefined) entry[2] = Math.max(entry[2], round(log2p(bytes), 3))
    // Running means over all calls of the tool; a call without a count moved none.
    entry[3] = round(entry[3] + ((records ?? 0) - entry[3]) / entry[0], 3)
    entry[4] = round(entry[4] + ((bytes ?? 0) - entry[4]) / entry[0], 3)
  }

  /**
   * Fold `from` into these sizes: calls add, the largest call is the larger, means weigh by calls.
   * Beyond `capacity`, the least used tools go (the first of equals). Nothing of `from` is shared.
   */
  merge(from: ToolSizes, capacity: number): void {
    for (let j = 0; j < from.rows.length; j++) {
      const theirs = from.rows[j]!
      const mine = this.entry(from.keys[j]!)
      if (!mine) {
        this.append(from.keys[j]!, [theirs[0], theirs[1], theirs[2], theirs[3], theirs[4]])
        continue
      }
      const calls = mine[0] + theirs[0]
      if (calls > 0) {
        mine[3] = round((mine[3] * mine[0] + theirs[3] * theirs[0]) / calls, 3)
        mine[4] = round((mine[4] * mine[0] + theirs[4] * theirs[0]) / calls, 3)
      }
      mine[0] = calls
      mine[1] = Math.max(mine[1], theirs[1])
      mine[2] = Math.max(mine[2], theirs[2])
    }
    if (this.rows.length > capacity) {
      // A stable sort: of tools with equal calls, the earlier goes first.
      const order = Array.from(this.rows, (_, i) => i).sort((a, b) => this.rows[a]![0] - this.rows[b]![0])
      this.remove(new Set(order.slice(0, this.rows.length - capacity)))
    }
  }

  toJSON(): SavedSizes {
    return { keys: this.keys, rows: this.rows }
  }

  /** The form people read (the baseline API): tool -> entry. */
  view(): Record<string, SizeEntry> {
    const out: Record<string, SizeEntry> = {}
    for (let i = 0; i < this.keys.length; i++) setOwnEntry(out, this.keys[i]!, this.rows[i]!)
    return out
  }

  /**
   * Sizes from their parsed JSON, saved (`SavedSizes`, whose arrays they take as their own) or
   * keyed by tool as saved before, or `saved` itself when revived already; empty for anything else.
   * Entries that are not three or five finite numbers are dropped.
   */
  static from(saved: unknown): ToolSizes {
    if (saved instanceof ToolSizes) return saved
    const sizes = new ToolSizes()
    if (typeof saved !== 'object' || saved === null || Array.isArray(saved)) return sizes
    const { keys, rows } = saved as Partial<SavedSizes>
    if (Array.isArray(keys) && Array.isArray(rows) && (keys.length === 0 || typeof keys[0] === 'string')) {
      if (keys.length === rows.length && keys.every((k) => typeof k === 'string') && rows.every(isCurrentEntry)) {
        sizes.adoptKeys(keys)
        sizes.rows = rows as SizeEntry[]
      } else {
        for (let i = 0; i < keys.length; i++) if (typeof keys[i] === 'string' && isEntry(rows[i]) && sizes.slotOf(keys[i]!) < 0) sizes.append(keys[i]!, current(rows[i]!))
      }
      return sizes
    }
    const byTool = saved as Record<string, unknown>
    for (const tool of Object.keys(byTool)) {
      const e = byTool[tool]
      if (isEntry(e)) sizes.append(tool, current(e))
    }
    return sizes
  }

  private append(tool: string, entry: SizeEntry): void {
    if (this.rows === NO_ROWS) this.rows = []
    this.rows.push(entry)
    this.appendKey(tool)
  }

  /** Remove the entries at `slots`, keeping the others' order. */
  private remove(slots: ReadonlySet<number>): void {
    let kept = 0
    for (let i = 0; i < this.rows.length; i++) {
      if (slots.has(i)) continue
      this.keys[kept] = this.keys[i]!
      this.rows[kept] = this.rows[i]!
      kept++
    }
    this.keys.length = kept
    this.rows.length = kept
    this.index = undefined
  }
}

const isFiniteNumber = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v)

function isEntry(e: unknown): e is number[] {
  return Array.isArray(e) && (e.length === 3 || e.length === 5) && e.every(isFiniteNumber)
}

function isCurrentEntry(e: unknown): e is SizeEntry {
  return Array.isArray(e) && e.length === 5 && e.every(isFiniteNumber)
}

/** An entry in the current layout: one saved before the means were kept takes its largest call as the mean. */
function current(e: number[]): SizeEntry {
  if (e.length >= 5) return e as SizeEntry
  return [e[0]!, e[1]!, e[2]!, round(Math.pow(2, e[1]!) - 1, 3), round(Math.pow(2, e[2]!) - 1, 3)]
}
