/**
 * Small bounded frequency tables, shared by detectors so that no baseline grows with the number of
 * distinct resources, tools or users it has seen. Stored as plain objects so that they encode to
 * JSON as they are.
 */

/** key -> [count, firstSeenTs, lastSeenTs] */
export type Counts = Record<string, [number, number, number]>

/**
 * Count one occurrence of `key` at `ts`. When the table is full, the rarest (then oldest) entry is
 * evicted first: a rare key forgotten costs at most a repeated "first seen", a frequent key forgotten
 * would cost a false alarm.
 */
export function bump(table: Counts, key: string, ts: number, capacity: number): void {
  const entry = table[key]
  if (entry) {
    entry[0] += 1
    if (ts > entry[2]) entry[2] = ts
    return
  }
  const keys = Object.keys(table)
  if (keys.length >= capacity) {
    let victim = keys[0]
    for (const k of keys) {
      const a = table[k]
      const b = table[victim]
      if (a[0] < b[0] || (a[0] === b[0] && a[2] < b[2])) victim = k
    }
    delete table[victim]
  }
  table[key] = [1, ts, ts]
}

export function countOf(table: Counts, key: string): number {
  return table[key]?.[0] ?? 0
}
