/** One copy of each string that many agents' baselines hold: table keys, tenant, blueprint and owner ids. */

/** Keys interned lately, canonical copy by content; emptied when full (see `internalized`). */
const recentKeys = new Map<string, string>()
const RECENT_KEYS_MAX = 1 << 16

/**
 * The string table's copy of `key`. A key learned from an event, or restored from a saved table's
 * key array, is a fresh string; kept as it is, every agent that has it would hold its own copy
 * (about 50 bytes each for a resource name). Used once per key added or restored, never per lookup;
 * likewise for the names a profile shares with other agents (tenant, blueprint, owner).
 *
 * The holder is made with no prototype, so it starts as a dictionary: adding a property to a plain
 * `{}` instead walks and grows the empty object's tree of hidden-class transitions, one per distinct
 * key ever interned, which cost ~150 ns a key with 200 distinct keys and ~1,100 ns with 50,000
 * (~300 ns here). Keys seen lately come from a bounded map first (~80 ns): a fleet's agents share
 * most of their keys. Emptying that map when full only costs the next lookups the slower path;
 * the string table still gives one copy.
 */
export function internalized(key: string): string {
  const recent = recentKeys.get(key)
  if (recent !== undefined) return recent
  const holder: Record<string, 0> = Object.create(null)
  holder[key] = 0
  let out = key
  for (const k in holder) out = k
  if (recentKeys.size >= RECENT_KEYS_MAX) recentKeys.clear()
  recentKeys.set(out, out)
  return out
}
