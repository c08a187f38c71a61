/**
 * volume: more calls, records or bytes than the agent's own rhythm allows, in two ways:
 *
 * - per hour: the calls, records and bytes of the hour that is open now, against what this agent
 *   usually does in the same hour of the week (log-space averages per hour-of-week slot, so one
 *   heavy hour does not drag the baseline, and the agent's own usual excess as tolerance);
 * - per call: the records and bytes of one call against the largest call of the same tool this agent
 *   (or, while it knows the tool too little, its blueprint) made before. Sizes are judged per tool
 *   because tools differ by orders of magnitude (an artifact push moves 100 MB as a matter of
 *   course, a CRM lookup two records): a bulk read far above anything the tool returned stands out.
 *
 * An hour's records and bytes are also judged against what its mix of calls normally moves (the sum,
 * over the hour's calls, of each tool's mean size): an hour with two artifact pushes where the same
 * hour last week had none moves 100 MB as a matter of course. More calls than usual is the calls
 * metric's finding, a call larger than usual the per-call size's; the hour's volume then only
 * counts when its calls together move more than such calls do.
 *
 * What counts is the excess over the blueprint's excess in the same hour (the median, over the other
 * agents active this hour, of how far each is above its own rhythm): when the peers surge together
 * (an incident night), a surge of this agent is no anomaly, while one peer's surge excuses nothing. A new agent (less than
 * `minHistoryDays` of history) is judged against its peers' per-agent rhythm.
 */
import { z } from 'zod'
import { addToLogHistogram, fromDoublings, histogramTotal, log2p, logHistogramQuantile, round, selectKth } from './scoring.ts'
import { ownNumber, setOwnEntry } from './bounded.ts'
import { ToolSizes } from './tool_sizes.ts'
import { DAY, HOUR } from './time.ts'
import { SENSITIVITY_WEIGHT, hourOfWeek, type Detector } from './types.ts'
import { addCounts, uint16Counts, uint32Counts, uint8Counts, type Uint16Counts, type Uint32Counts, type Uint8Counts } from './packed.ts'

const Config = z
  .object({
    minHistoryDays: z.number().positive().default(7).describe('History span an agent needs before its own hour-of-week rhythm is trusted; until then it is judged against its peers. Days.'),
    minPeerAgents: z.number().int().min(1).default(3).describe('Peer agents needed before the blueprint rhythm is used. Agents.'),
    minCallsForSizes: z.number().int().min(1).default(20).describe('Calls of one tool needed before its largest call size (own, else blueprint) is trusted. Calls.'),
    sizeCapacity: z.number().int().min(4).max(1024).default(24).describe('Tools whose call sizes an agent remembers; the least used are forgotten first. Tools.'),
    peerSizeCapacity: z.number().int().min(8).max(4096).default(256).describe('Tools whose call sizes a blueprint remembers. Tools.'),
    toleranceDoublings: z.number().min(0).default(1).describe('Least excess over the usual hourly volume before anything counts, on top of the agent\'s own usual excess (95th percentile of past hours). Doublings (1 = twice the usual).'),
    newAgentExtraDoublings: z.number().min(0).default(1).describe('Extra tolerance for an agent judged against its peers, whose own level is not known yet. Doublings.'),
    quietHourFloorDoublings: z.number().min(0).default(1).describe('An hour\'s expectation is never set lower than the agent\'s median active hour minus this; activity at a quiet hour is time_of_week\'s finding, not a surge. Doublings.'),
    sizeMarginDoublings: z.number().min(0).default(1).describe('A call must exceed the 99th percentile of the agent\'s call sizes by this much before it counts. Doublings.'),
    halfScoreDoublings: z.number().positive().default(2).describe('Excess beyond tolerance at which the score reaches 0.5 (before sensitivity); each further step halves the remaining doubt. Doublings.'),
    slotWeight: z.number().min(0.01).max(1).default(0.3).describe('Weight of the newest week in an hour-of-week slot\'s moving average. 0-1.'),
    fleetQuorum: z.number().int().min(1).default(2).describe('Other peer agents that must be active in the same hour before their surge fully discounts this agent\'s. Agents.'),
    fleetCapacity: z.number().int().min(8).max(4096).default(256).describe('Agents whose excess this hour the blueprint remembers; later ones in the same hour are not sampled. Agents.'),
  })
  .strict()

type Cfg = z.infer<typeof Config>

/** Metrics per hour: calls, records, bytes. */
const METRICS = ['calls', 'records', 'bytes'] as const
const M = METRICS.length
const SLOTS = 168
/** Histogram resolution: half a doubling per bucket. */
const STEP = 0.5
const SIZE_BUCKETS = 80 // up to 2^40
const RESIDUAL_BUCKETS = 40 // up to 20 doublings

interface State {
  /** Epoch hour (ts / 1 h) of the open window; -1 before the first call. */
  hour: number
  /** Calls, records, bytes of the open window (for the blueprint: summed over its agents). */
  win: number[]
  /** Own only: records and bytes the open window's calls usually move (sum of each call's tool mean size). */
  mix: number[]
  /** Blueprint only: distinct agents active in the open window. */
  winAgents: number
  /** Own only: epoch hour in which this agent was last counted in the blueprint's winAgents. */
  countedHour: number
  /** Blueprint only: agent id -> how far that agent is above its own rhythm in the open hour, doublings. Emptied every hour; absent while empty. */
  excessNow?: Record<string, number>
  /**
   * 168 x 3 moving averages of log2(1 + volume per hour) (per active agent for the blueprint), in
   * 1/SLOT_UNIT doublings: 2 bytes a value instead of 8 (see slotAt). States saved before kept them
   * as plain numbers in `slots`; revive converts them.
   */
  slotsQ: Uint16Counts
  /**
   * Hours folded into each of the 168 slots (one a week), up to 255: only ever read as none (the
   * slot is unknown) or some, and as the larger of two in merges. 16-bit until 2026-11-27.
   */
  slotHours: Uint8Counts
  /** Histogram of how far closed hours exceeded their expectation (doublings, 0.5 per bucket). */
  excess: Uint32Counts
  /** Per tool: calls, the largest call's log2(1 + records) and log2(1 + bytes), mean records and bytes per call (tool_sizes.ts). */
  sizes: ToolSizes
  /** Tool calls learned. */
  calls: number
  /** Event time of the first learned call, ms; -1 before. */
  firstTs: number
}

const zeros = (n: number) => new Array<number>(n).fill(0)

/** Resolution of the stored slot values: 1/1024 of a doubling, up to 64 doublings (16 bits). */
const SLOT_UNIT = 1024
const SLOT_MAX = 65_535
/** A slot's value in doublings. */
const slotAt = (s: State, i: number): number => s.slotsQ[i]! / SLOT_UNIT
function setSlot(s: State, i: number, doublings: number): void {
  const q = Math.round(doublings * SLOT_UNIT)
  s.slotsQ[i] = q < 0 ? 0 : q > SLOT_MAX ? SLOT_MAX : q
}

/** The slots of a state as saved: packed already, or the plain doublings of a state saved before packing. */
function reviveSlots(s: State & { slots?: number[] }): Uint16Counts {
  if (s.slotsQ !== undefined) return uint16Counts(s.slotsQ, SLOTS * M)
  const out = uint16Counts(undefined, SLOTS * M)
  const old = s.slots ?? []
  for (let i = 0; i < Math.min(old.length, out.length); i++) out[i] = Math.min(SLOT_MAX, Math.max(0, Math.round(old[i]! * SLOT_UNIT)))
  delete s.slots
  return out
}

/**
 * activeMedian per state and metric, computed on first use and kept while it stays exact: rollTo
 * keeps a metric's median when every slot it folds stays on the same side of it (see keepMedian),
 * which spares most of the recomputations on a trained agent, whose busy hours change little
 * against its median; mergePeers drops the entry; a restored state starts without one. After the
 * three medians, usualExcess of the state's histogram (read on every scored call, changed hourly).
 */
const medians = new WeakMap<State, number[]>()

/** Median of a slot metric over the slots where it is active, log2 units; 0 when none is. */
export function activeMedian(s: State, m: number): number {
  const cached = cachedOf(s)
  let v = cached[m]!
  if (v !== v) v = cached[m] = computeActiveMedian(s, m)
  return v
}

/** The state whose entry cachedOf gave last, and that entry: an event reads one or two states' entries several times. */
let lastState: State | undefined
let lastCached: number[] = []

/** The state's cached values (NaN: not computed): activeMedian of each metric, then usualExcess of its histogram. */
function cachedOf(s: State): number[] {
  if (s === lastState) return lastCached
  let cached = medians.get(s)
  if (cached === undefined) {
    cached = [NaN, NaN, NaN, NaN]
    medians.set(s, cached)
  }
  lastState = s
  lastCached = cached
  return cached
}

/** Drop the state's cached values. */
function forgetCached(s: State): void {
  medians.delete(s)
  if (s === lastState) lastState = undefined
}

/** usualExcess of the state's excess histogram, kept until rollTo adds to it or a merge changes it. */
export function usualExcessOf(s: State): number {
  const cached = cachedOf(s)
  let v = cached[M]!
  if (v !== v) v = cached[M] = usualExcess(s.excess)
  return v
}

/** Slots holding more than half a doubling (in 1/SLOT_UNIT units) are active, if they have folded an hour. */
const ACTIVE_ABOVE = SLOT_UNIT / 2

/**
 * Drop the cached median of metric `m` unless it is still exact after one slot changed from `before`
 * to `after` (stored units), active before and after as given. The median is the element at index
 * n/2 of the sorted active values: a value that stays strictly below it (or strictly above) leaves
 * the counts below, at and above it as they were, so the element at that index is the same; so does
 * a slot inactive before and after. Any other change (a slot entering or leaving the active set,
 * or crossing or leaving the median) recomputes it on next use.
 */
function keepMedian(cached: number[], m: number, wasActive: boolean, before: number, isActive: boolean, after: number): void {
  const median = cached[m]!
  if (median !== median || (!wasActive && !isActive)) return
  const q = median * SLOT_UNIT
  if (wasActive && isActive && ((before < q && after < q) || (before > q && after > q))) return
  cached[m] = NaN
}

/** Scratch for computeActiveMedian: the active slots' stored values (at most one per hour of the week). */
const activeScratch = new Int32Array(SLOTS)

/**
 * The upper median (the element at index n/2 of the sorted values) of a metric's active slots.
 * Recomputed once per agent and hour that the agent is active (rollTo invalidates it), which on a
 * trained fleet is every two or three events: a selection over the stored 16-bit values in a reused
 * buffer, not a sort of a new array with a comparator (a fifth of the trained per-event path).
 */
export function computeActiveMedian(s: State, m: number): number {
  let n = 0
  for (let h = 0; h < SLOTS; h++) {
    if (s.slotHours[h] === 0) continue
    const q = s.slotsQ[h * M + m]!
    if (q > ACTIVE_ABOVE) activeScratch[n++] = q
  }
  if (n === 0) return 0
  return selectKth(activeScratch, n, n >> 1) / SLOT_UNIT
}

/** Expected log2(1 + volume) for hour-of-week `h` and metric `m`; undefined if the slot is unknown. */
function expected(s: State, h: number, m: number, floorDoublings: number): number | undefined {
  if (s.slotHours[h] === 0) return undefined
  return Math.max(slotAt(s, h * M + m), activeMedian(s, m) - floorDoublings)
}

/** Closes the open window (and any silent hours since) into the hour-of-week slots. */
function rollTo(s: State, hour: number, cfg: Cfg, perAgent: boolean): void {
  if (s.hour < 0) {
    s.hour = hour
    return
  }
  if (hour <= s.hour) return
  const divisor = perAgent ? Math.max(1, s.winAgents) : 1
  // Kept values are tracked through the roll (keepMedian); with none, none are made (see the end).
  const cached = medians.get(s)
  // Fold the closed hour, then zeros for silent hours in between (at most one week of them).
  const gap = Math.min(hour - s.hour, SLOTS + 1)
  for (let k = 0; k < gap; k++) {
    const h = hourOfWeek((s.hour + k) * HOUR)
    const known = s.slotHours[h] !== 0
    for (let m = 0; m < M; m++) {
      const value = k === 0 ? log2p(s.win[m] / divisor) : 0
      if (k === 0 && m === 0 && !perAgent) {
        const exp = expected(s, h, m, cfg.quietHourFloorDoublings)
        if (exp !== undefined && s.win[0] > 0) {
          addToLogHistogramLinear(s.excess, value - exp)
          if (cached !== undefined) cached[M] = NaN
        }
      }
      const i = h * M + m
      const before = s.slotsQ[i]!
      const current = before / SLOT_UNIT
      setSlot(s, i, known ? current + cfg.slotWeight * (value - current) : value)
      if (cached !== undefined) keepMedian(cached, m, known && before > ACTIVE_ABOVE, before, s.slotsQ[i]! > ACTIVE_ABOVE, s.slotsQ[i]!)
    }
    // Saturating: an 8-bit count that wrapped to 0 would make the slot unknown again after ~5 years.
    if (s.slotHours[h]! < 255) s.slotHours[h] += 1
  }
  // Without an entry at the start nothing was tracked; `expected` above may have made one from
  // slots this roll changed after.
  if (cached === undefined) forgetCached(s)
  s.hour = hour
  // Reset in place: a new array per agent and hour was garbage for the collector to sweep.
  s.win.fill(0)
  s.mix.fill(0)
  s.winAgents = 0
  // Only where it is set: assigning undefined would add the field to every agent's own state.
  if (s.excessNow !== undefined) s.excessNow = undefined
}

/**
 * The values of a blueprint's `excessNow`, sorted ascending, kept beside it (not in it, so the state
 * stays plain JSON) and updated on every write; built on first use for a new or restored table.
 * Undefined while a value is NaN (never in practice): then the values are sorted per call as before.
 */
const sortedExcess = new WeakMap<Record<string, number>, number[] | null>()

function sortedValues(table: Record<string, number>): number[] | undefined {
  let sorted = sortedExcess.get(table)
  if (sorted === undefined) {
    const values = Object.values(table)
    sorted = values.some((x) => x !== x) ? null : values.sort((a, b) => a - b)
    sortedExcess.set(table, sorted)
  }
  return sorted ?? undefined
}

/** `table[id] = value`, keeping its sorted values (if built) in step. */
function setExcess(table: Record<string, number>, id: string, value: number): void {
  const before = ownNumber(table, id)
  setOwnEntry(table, id, value)
  const sorted = sortedExcess.get(table)
  if (!sorted || before === value) return
  if ((before !== undefined && before !== before) || value !== value) {
    sortedExcess.set(table, null)
    return
  }
  if (before !== undefined) sorted.splice(lowerBound(sorted, before), 1)
  sorted.splice(lowerBound(sorted, value), 0, value)
}

/** Entries of an excessNow table. */
function excessCount(table: Record<string, number>): number {
  return sortedExcess.get(table)?.length ?? Object.keys(table).length
}

/** First index of `sorted` whose value is not below `x`. */
function lowerBound(sorted: readonly number[], x: number): number {
  let lo = 0
  let hi = sorted.length
  while (lo < hi) {
    const mid = (lo + hi) >> 1
    if (sorted[mid]! < x) lo = mid + 1
    else hi = mid
  }
  return lo
}

/**
 * What the sizes of `tool`'s calls are judged by: the agent's entry once it knows the tool, else the
 * blueprint's once enough peers are established (`peerSizesReady`); none when neither knows it well
 * enough (an unknown tool's volume is then judged against the hour alone).
 */
function sizeBasis(own: State, peers: State | undefined, tool: string, cfg: Cfg, peerSizesReady: boolean): SizeBasis | undefined {
  const mine = own.sizes.slotOf(tool)
  if (mine >= 0 && own.sizes.callsAt(mine) >= cfg.minCallsForSizes) return { sizes: own.sizes, slot: mine, baseline: 'own' }
  if (!peerSizesReady || !peers) return undefined
  const theirs = peers.sizes.slotOf(tool)
  if (theirs >= 0 && peers.sizes.callsAt(theirs) >= cfg.minCallsForSizes) return { sizes: peers.sizes, slot: theirs, baseline: 'peers' }
  return undefined
}

/** The sizes a tool's calls are judged by: the tool's slot in the agent's or the blueprint's table. */
interface SizeBasis {
  sizes: ToolSizes
  slot: number
  baseline: 'own' | 'peers'
}

/** Residual histogram on a linear doublings scale (the residual already is a log). */
function addToLogHistogramLinear(h: Uint32Counts, doublings: number): void {
  const i = Math.min(h.length - 1, Math.max(0, Math.floor(doublings / STEP)))
  h[i] += 1
}

/** 95th percentile of the residual histogram, doublings; 0 when empty. */
export function usualExcess(h: Uint32Counts): number {
  const q = logHistogramQuantile(h, 0.95, STEP)
  return q < 0 ? 0 : q
}

/** Median excess (doublings) of the other agents active in the open hour, weighted down below quorum. */
function fleetExcessOf(peers: State, agentId: string, cfg: Cfg): { excess: number; others: number } {
  if (peers.excessNow === undefined) return { excess: 0, others: 0 }
  const sorted = sortedValues(peers.excessNow)
  if (sorted !== undefined) {
    // The others' values are all values but one occurrence of this agent's own.
    const own = ownNumber(peers.excessNow, agentId)
    const n = own === undefined ? sorted.length : sorted.length - 1
    if (n === 0) return { excess: 0, others: 0 }
    const k = (n - 1) >> 1
    const skip = own === undefined ? sorted.length : lowerBound(sorted, own)
    const median = sorted[k < skip ? k : k + 1]!
    return { excess: Math.min(1, n / cfg.fleetQuorum) * Math.max(0, median), others: n }
  }
  const others = Object.entries(peers.excessNow)
    .filter(([id]) => id !== agentId)
    .map(([, x]) => x)
    .sort((a, b) => a - b)
  if (others.length === 0) return { excess: 0, others: 0 }
  // Lower median: with two others, the smaller excess, so one surging peer excuses nothing.
  const median = others[Math.floor((others.length - 1) / 2)]
  return { excess: Math.min(1, others.length / cfg.fleetQuorum) * Math.max(0, median), others: others.length }
}

export const volume: Detector<Cfg, State> = {
  name: 'volume',
  family: 'volume',
  description: 'Calls, records and bytes per hour against the agent\'s hour-of-week rhythm, and per-call size outliers, discounted by fleet-wide surges.',
  config: Config,
  init: () => ({
    hour: -1,
    win: zeros(M),
    mix: [0, 0],
    winAgents: 0,
    countedHour: -1,
    slotsQ: uint16Counts(undefined, SLOTS * M),
    slotHours: uint8Counts(undefined, SLOTS),
    excess: uint32Counts(undefined, RESIDUAL_BUCKETS),
    sizes: new ToolSizes(),
    calls: 0,
    firstTs: -1,
  }),
  revive: (s) => {
    s.mix ??= [0, 0]
    s.sizes = ToolSizes.from(s.sizes)
    s.slotHours = uint8Counts(s.slotHours, SLOTS)
    s.slotsQ = reviveSlots(s)
    s.excess = uint32Counts(s.excess, RESIDUAL_BUCKETS)
    return s
  },

  score(e, own, peers, cfg, ctx) {
    if (e.kind !== 'tool_call') return undefined
    const hour = Math.floor(e.ts / HOUR)
    const h = hourOfWeek(e.ts)
    const minHistoryMs = cfg.minHistoryDays * DAY
    const ownReady = own.firstTs >= 0 && e.ts - own.firstTs >= minHistoryMs
    const peerReady = peers !== undefined && ctx.peerAgents >= cfg.minPeerAgents && peers.firstTs >= 0 && e.ts - peers.firstTs >= minHistoryMs
    const records = e.records ?? 0
    const bytes = e.bytes ?? 0
    const sameHour = own.hour === hour
    const callBasis = sizeBasis(own, peers, e.tool, cfg, ctx.peerAgents >= cfg.minPeerAgents)

    // Per-hour surge against own rhythm, or the peers' per-agent rhythm for a new agent. Evidence is
    // written only for the finding returned; the loop keeps the metric and expectation behind it.
    let hourScore = 0
    let hourMetric = -1
    let hourExp = 0
    /** Records or bytes this hour's calls usually move (log2 units); -1 for the calls metric. */
    let hourMix = -1
    let tolerance = 0
    let fleetExcess = 0
    let othersActive = 0
    const basis = ownReady ? own : peerReady ? peers : undefined
    if (basis) {
      // Fleet excess: the median over the other agents active this hour of their own excess.
      if (peers && peers.hour === hour) {
        const fleet = fleetExcessOf(peers, e.agent.id, cfg)
        fleetExcess = fleet.excess
        othersActive = fleet.others
      }
      tolerance = ownReady ? Math.max(cfg.toleranceDoublings, usualExcessOf(own)) : cfg.toleranceDoublings + cfg.newAgentExtraDoublings
      for (let m = 0; m < M; m++) {
        const call = m === 0 ? 1 : m === 1 ? records : bytes
        const now = (sameHour ? own.win[m]! : 0) + call
        if (m > 0 && call === 0 && now === 0) continue
        let exp = expected(basis, h, m, cfg.quietHourFloorDoublings) ?? activeMedian(basis, m)
        // What this hour's calls usually move, this one included.
        const mix = m === 0 ? -1 : log2p((sameHour ? own.mix[m - 1]! : 0) + (callBasis ? callBasis.sizes.meanAt(callBasis.slot, m as 1 | 2) : 0))
        if (mix > exp) exp = mix
        const raw = log2p(now) - exp
        const over = raw - fleetExcess - tolerance
        const s = fromDoublings(over, cfg.halfScoreDoublings)
        if (s > hourScore) {
          hourScore = s
          hourMetric = m
          hourExp = exp
          hourMix = mix
        }
      }
    }

    // Per-call size against the largest call of this tool: own, else the blueprint's.
    let sizeScore = 0
    let sizeMetric = -1
    if (callBasis) {
      for (let m = 1; m < M; m++) {
        const value = m === 1 ? e.records : e.bytes
        if (value === undefined) continue
        const over = log2p(value) - callBasis.sizes.largestAt(callBasis.slot, m as 1 | 2) - cfg.sizeMarginDoublings
        const s = fromDoublings(over, cfg.halfScoreDoublings)
        if (s > sizeScore) {
          sizeScore = s
          sizeMetric = m
        }
      }
    }

    const top = Math.max(hourScore, sizeScore)
    if (top <= 0) return undefined
    // Volume of sensitive data matters more: x0.81 public .. x1 restricted.
    const sensitivity = e.sensitivity ?? 'internal'
    const score = round(top * (0.75 + 0.25 * SENSITIVITY_WEIGHT[sensitivity]))
    if (score <= 0) return undefined
    const perCall = sizeScore >= hourScore
    if (perCall) {
      const metric = METRICS[sizeMetric]!
      const thisCall = (sizeMetric === 1 ? e.records : e.bytes)!
      const largestBefore = round(Math.pow(2, callBasis!.sizes.largestAt(callBasis!.slot, sizeMetric as 1 | 2)) - 1, 0)
      const callsOfTool = callBasis!.sizes.callsAt(callBasis!.slot)
      const baseline = callBasis!.baseline
      return {
        score,
        observation: 'surge',
        reason: `one ${e.tool} call moved ${thisCall} ${metric}; the largest of ${callsOfTool} earlier calls moved ${largestBefore} (${baseline} baseline)`,
        evidence: { metric: `${metric}PerCall`, thisCall, largestBefore, callsOfTool, baseline, tool: e.tool, sensitivity },
      }
    }
    const thisHour = (sameHour ? own.win[hourMetric]! : 0) + (hourMetric === 0 ? 1 : hourMetric === 1 ? records : bytes)
    const usualForThisHour = round(Math.pow(2, hourExp) - 1, 1)
    const usualForTheseCalls = hourMix < 0 ? undefined : round(Math.pow(2, hourMix) - 1, 1)
    const byMix = hourMix >= 0 && hourMix >= hourExp
    const baseline = ownReady ? 'own' : 'peers'
    const fleetExcessDoublings = round(fleetExcess, 2)
    const reason =
      `${thisHour} ${METRICS[hourMetric]} this hour, against a usual ${usualForThisHour} ${byMix ? 'for calls of these tools' : 'for this hour of the week'} (${baseline} baseline)` +
      (fleetExcessDoublings > 0 ? `; the peers are up ${round(Math.pow(2, fleetExcessDoublings), 1)}x too` : '')
    // Hourly surges through one tool across several agents are a blueprint change (a rollout, a
    // campaign); a single oversized call is judged on its own.
    return {
      score,
      observation: 'surge',
      reason,
      evidence: {
        metric: METRICS[hourMetric],
        thisHour,
        usualForThisHour,
        ...(usualForTheseCalls !== undefined ? { usualForTheseCalls } : {}),
        baseline,
        toleranceDoublings: round(tolerance, 2),
        fleetExcessDoublings,
        otherPeerAgentsActiveThisHour: othersActive,
        tool: e.tool,
        sensitivity,
      },
      fleetKey: `surge:${e.tool}`,
    }
  },

  learn(e, own, peers, cfg, ctx) {
    if (e.kind !== 'tool_call') return
    const hour = Math.floor(e.ts / HOUR)
    const h = hourOfWeek(e.ts)
    const records = e.records ?? 0
    const bytes = e.bytes ?? 0
    rollTo(own, hour, cfg, false)
    if (own.firstTs < 0) own.firstTs = e.ts
    if (own.hour === hour) {
      own.win[0] += 1
      own.win[1] += records
      own.win[2] += bytes
      const basis = sizeBasis(own, peers[0], e.tool, cfg, ctx.peerAgents >= cfg.minPeerAgents)
      if (basis) {
        own.mix[0] += basis.sizes.meanAt(basis.slot, 1)
        own.mix[1] += basis.sizes.meanAt(basis.slot, 2)
      }
    }
    own.calls += 1
    own.sizes.note(e.tool, e.records, e.bytes, cfg.sizeCapacity)
    if (peers.length === 0) return
    // Each state closes hours on its own clock (a partial's agents may be silent when the view's are not).
    for (const p of peers) {
      rollTo(p, hour, cfg, true)
      if (p.firstTs < 0) p.firstTs = e.ts
    }
    // This agent's excess over its own rhythm so far this hour (over its peers' while it is new),
    // against the view; counted once per hour in every state, as the view counts it.
    const basis = e.ts - own.firstTs >= cfg.minHistoryDays * DAY ? own : peers[0]!
    let excess = 0
    for (let m = 0; m < M; m++) {
      const exp = expected(basis, h, m, cfg.quietHourFloorDoublings)
      if (exp !== undefined) excess = Math.max(excess, log2p(own.win[m]) - exp)
    }
    excess = round(excess, 3)
    const counted = own.countedHour === hour
    for (const p of peers) {
      if (p.hour === hour) {
        p.win[0] += 1
        p.win[1] += records
        p.win[2] += bytes
        if (!counted) {
          p.winAgents += 1
          own.countedHour = hour
        }
        const excessNow = (p.excessNow ??= {})
        if (ownNumber(excessNow, e.agent.id) !== undefined || excessCount(excessNow) < cfg.fleetCapacity) setExcess(excessNow, e.agent.id, excess)
      }
      p.calls += 1
      p.sizes.note(e.tool, e.records, e.bytes, cfg.peerSizeCapacity)
    }
  },

  mergePeers(into, from, cfg) {
    // mix and countedHour are the agent's own.
    if (from.firstTs >= 0 && (into.firstTs < 0 || from.firstTs < into.firstTs)) into.firstTs = from.firstTs
    into.calls += from.calls
    into.sizes.merge(from.sizes, cfg.peerSizeCapacity)
    // Residuals are folded by agents' own states only; a peer state's stay zero, and add all the same.
    addCounts(into.excess, from.excess)
    // Close `into`'s hours up to `from`'s open one, so that both have closed the same hours.
    if (from.hour > into.hour) rollTo(into, from.hour, cfg, true)
    // Hour-of-week rhythm: a slot is a moving average of log2(1 + volume per active agent) of the
    // hours folded into it, and an average over the union of two agent sets is not a function of the
    // two averages, so the merge approximates. It keeps the larger of the two: where only one
    // partition's agents work at that hour (the other folded silent hours, zeros) the larger is the
    // view's value exactly, and where both work it errs towards the busier partition's level; a mean
    // would halve the log volume of hours one partition sleeps through and read every such hour as a
    // surge. The hours folded are calendar hours, not events, so the larger count is kept too.
    for (let h = 0; h < SLOTS; h++) {
      const theirs = from.slotHours[h]!
      if (theirs === 0) continue
      const mine = into.slotHours[h]!
      for (let m = 0; m < M; m++) {
        const i = h * M + m
        into.slotsQ[i] = mine === 0 ? from.slotsQ[i]! : Math.max(into.slotsQ[i]!, from.slotsQ[i]!)
      }
      into.slotHours[h] = Math.max(mine, theirs)
    }
    forgetCached(into)
    // The open hour: the same hour's calls and agents add up. An older open hour of `from` is over
    // for `into`, which has already closed it without them: those calls are left out of the rhythm.
    if (from.hour === into.hour && from.hour >= 0) {
      for (let m = 0; m < M; m++) into.win[m] += from.win[m]!
      into.winAgents += from.winAgents
      const excessNow: Record<string, number> = {}
      let n = 0
      for (const table of [into.excessNow ?? {}, from.excessNow ?? {}]) {
        for (const id of Object.keys(table)) {
          if (n >= cfg.fleetCapacity) break
          if (Object.hasOwn(excessNow, id)) continue
          setOwnEntry(excessNow, id, table[id]!)
          n++
        }
      }
      into.excessNow = n > 0 ? excessNow : undefined
    }
  },
}
