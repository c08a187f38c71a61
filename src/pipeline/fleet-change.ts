/**
 * Blueprint-wide change: when several agents of one blueprint show the same novelty within a short
 * time (a tool rolled out to all of them, a new region, an incident night), it is a change made to
 * the blueprint, not an anomaly of one agent. Sightings are recorded for every finding that names a
 * fleet key, flagged or not, so a change is recognised even while each agent's own events are still
 * kept out of its baseline.
 */
import type { Config } from '../../schemas/config.ts'
import { ownNumber, setOwnEntry } from '../../detectors/bounded.ts'
import { FLEET_AGENTS_PER_KEY, FLEET_KEYS, type BlueprintProfile } from '../baselines/profiles.ts'

/**
 * Record that `agentId` showed `key` at `ts`; returns how many distinct agents of the blueprint
 * (this one included) showed it within the window.
 */
export function recordSighting(bp: BlueprintProfile, key: string, agentId: string, ts: number, windowMs: number): number {
  let seen = bp.sightings[key]
  if (!seen) {
    evictIfFull(bp)
    seen = bp.sightings[key] = {}
  }
  const before = ownNumber(seen, agentId)
  if (before === undefined && Object.keys(seen).length >= FLEET_AGENTS_PER_KEY) {
    // Drop the stalest agent; the quorum only needs the recent ones.
    let stalest = ''
    let oldest = Infinity
    for (const [a, t] of Object.entries(seen)) if (t < oldest) (oldest = t), (stalest = a)
    delete seen[stalest]
  }
  setOwnEntry(seen, agentId, Math.max(before ?? 0, ts))
  let n = 0
  for (const t of Object.values(seen)) if (ts - t <= windowMs) n++
  return n
}

/** Distinct agents needed for a blueprint-wide change, given the blueprint's size. */
export function quorum(cfg: Config['risk']['fleetChange'], blueprintAgents: number): number {
  return Math.max(cfg.minAgents, Math.ceil(cfg.minFraction * blueprintAgents))
}

/**
 * Fold the sightings of another partition's agents into `into`: the union, the newest time per
 * agent, bounded as recordSighting bounds them (the stalest agents of a key, then the least
 * recently seen keys, go first).
 */
export function mergeSightings(into: BlueprintProfile, from: BlueprintProfile['sightings']): void {
  for (const [key, agents] of Object.entries(from)) {
    const seen = (into.sightings[key] ??= {})
    for (const [a, t] of Object.entries(agents)) setOwnEntry(seen, a, Math.max(ownNumber(seen, a) ?? 0, t))
    const names = Object.keys(seen)
    if (names.length > FLEET_AGENTS_PER_KEY) {
      names.sort((x, y) => seen[x] - seen[y])
      for (const a of names.slice(0, names.length - FLEET_AGENTS_PER_KEY)) delete seen[a]
    }
  }
  const keys = Object.keys(into.sightings).length
  if (keys > FLEET_KEYS) dropStalestKeys(into, keys - FLEET_KEYS)
}

function evictIfFull(bp: BlueprintProfile): void {
  const keys = Object.keys(bp.sightings)
  if (keys.length < FLEET_KEYS) return
  // Evict the sixteenth of keys seen least recently, in one pass, so eviction stays rare.
  dropStalestKeys(bp, Math.max(1, keys.length >> 4))
}

/** Forget the `count` fleet keys whose latest sighting is oldest. */
function dropStalestKeys(bp: BlueprintProfile, count: number): void {
  const latest = Object.keys(bp.sightings)
    .map((k) => [k, Math.max(...Object.values(bp.sightings[k]))] as const)
    .sort((a, b) => a[1] - b[1])
  for (const [k] of latest.slice(0, count)) delete bp.sightings[k]
}
