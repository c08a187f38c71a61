/**
 * Whether a number of agents fits in this process's V8 heap. Node's default heap limit is about a
 * quarter of the machine's memory and at most ~4 GiB, far below what a large fleet's baselines
 * take: without a larger limit (`--max-old-space-size`), the profiles of a million restored agents
 * end in V8's out-of-memory crash half way through their revival. This says so, with the flag to
 * give, once a restore has read the rows and before it revives them.
 */
import { getHeapStatistics } from 'node:v8'

/**
 * V8 heap taken by a restored agent with realistic history, bytes: the memory bench's 8,280 bytes
 * per agent (`npm run bench -- --only memory`, 1,000,000 agents) less its ~2.2 KB of typed arrays,
 * whose bytes live outside the heap and its limit; a service holding 200,000 restored agents had
 * 1.15 GB of heap in use. Agents with little history take less: a projection, not an accounting.
 */
export const BYTES_PER_AGENT = 6_000

/**
 * V8 heap taken by a dormant agent (src/baselines/dormant-profiles.ts), bytes: its deflated profile,
 * id and map entry, all in the heap; the memory bench's 2,230-2,260 bytes per agent with every
 * agent dormant and its record keeping all 64 recent ids (`baselines.dormantRecentIds` at its
 * largest), rounded up. With the default's 16, ~1,900: the projection errs towards warning.
 */
export const DORMANT_BYTES_PER_AGENT = 2_300

/** Share of the heap limit the projection may reach: collections need room to work in. */
const HEADROOM = 0.85

export interface HeapProjection {
  /** Heap the agents would take on top of what is used now, bytes. */
  neededBytes: number
  usedBytes: number
  limitBytes: number
  fits: boolean
  /** `--max-old-space-size` (MiB) that would give them room, when they do not fit. */
  suggestedMiB?: number
}

/**
 * Whether `agents` more agents fit in a heap of `limitBytes` of which `usedBytes` are used (this
 * process's by default), `dormant` of them kept dormant.
 */
export function projectAgents(agents: number, heap: { usedBytes: number; limitBytes: number } = currentHeap(), dormant = 0): HeapProjection {
  const neededBytes = (agents - dormant) * BYTES_PER_AGENT + dormant * DORMANT_BYTES_PER_AGENT
  const fits = heap.usedBytes + neededBytes <= heap.limitBytes * HEADROOM
  const out: HeapProjection = { neededBytes, ...heap, fits }
  // Rounded up to a whole GiB, in MiB as the flag takes it.
  if (!fits) out.suggestedMiB = Math.ceil((heap.usedBytes + neededBytes) / HEADROOM / 2 ** 30) * 1024
  return out
}

function currentHeap(): { usedBytes: number; limitBytes: number } {
  const s = getHeapStatistics()
  return { usedBytes: s.used_heap_size, limitBytes: s.heap_size_limit }
}
