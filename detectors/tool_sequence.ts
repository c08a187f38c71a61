/**
 * tool_sequence: learned tool-to-tool transitions per agent (previous tool -> this tool, within one
 * trace, or within `maxGapMinutes` when events carry no trace). A path the agent has never taken
 * stands out even when each tool alone is allowed, for example sharepoint.read -> mail.send ->
 * http.post. Scored higher when the step writes, executes or administers, and on sensitive data;
 * discounted when peers of the blueprint routinely take the same step.
 */
import { z } from 'zod'
import { CountTable, mergeOptional, optionalTable } from './bounded.ts'
import { OPERATION_RISK, peerDiscount, round } from './scoring.ts'
import { MINUTE } from './time.ts'
import { SENSITIVITY_WEIGHT, clamp01, type Detector } from './types.ts'

const Config = z
  .object({
    minOwnTransitions: z.number().int().min(1).default(50).describe('Transitions an agent must have made before its own baseline is trusted; until then it is judged against its peers. Transitions.'),
    minPeerAgents: z.number().int().min(1).default(3).describe('Peer agents needed before the blueprint baseline is used. Agents.'),
    peerAdoptionQuiet: z.number().min(0).max(1).default(0.2).describe('Fraction of peer agents that have taken a transition at which it counts as normal for the blueprint. 0-1.'),
    maxGapMinutes: z.number().positive().default(30).describe('Without trace ids, two calls further apart than this are not a transition. Minutes.'),
    rareFraction: z.number().min(0).max(1).default(0.01).describe('A known transition is rare when it is less than this fraction of the steps out of its previous tool. 0-1.'),
    baseScore: z.number().min(0).max(1).default(0.2).describe('Score of an unseen transition to a read of public data. 0-1.'),
    outboundWeight: z.number().min(0).max(1).default(0.1).describe('Added when the new step sends data (write or execute) to an outside web address (http:// or https://): the shape of exfiltration. Score.'),
    operationWeight: z.number().min(0).max(1).default(0.35).describe('Added for the step\'s operation: x0 read, x0.3 write, x0.5 execute, x0.7 delete, x1 admin. Score.'),
    sensitivityWeight: z.number().min(0).max(1).default(0.15).describe('Added for the data touched: x0.25 public .. x1 restricted. Score.'),
    capacity: z.number().int().min(8).max(4096).default(256).describe('Distinct transitions remembered per agent; the rarest are evicted first. Entries.'),
    peerCapacity: z.number().int().min(8).max(65536).default(2048).describe('Distinct transitions remembered per blueprint. Entries.'),
  })
  .strict()

type Cfg = z.infer<typeof Config>
interface State {
  /** Own only: the last tool call learned, [tool, ts, traceId or ''], or null. */
  last: [string, number, string] | null
  /** "from -> to" -> [count, firstSeen, lastSeen] */
  trans: CountTable
  /** from tool -> [transitions out of it, firstSeen, lastSeen] */
  from: CountTable
  /** Transitions learned. */
  n: number
  /** Blueprint only: "from -> to" -> [distinct agents that took it, firstSeen, lastSeen]. Absent while empty. */
  adopters?: CountTable
}

/** The last key built: score and learn of one event ask for the same one. */
let lastFrom = ''
let lastTo = ''
let lastKey = ' -> '

function keyOf(from: string, to: string): string {
  if (from !== lastFrom || to !== lastTo) {
    lastFrom = from
    lastTo = to
    lastKey = `${from} -> ${to}`
  }
  return lastKey
}

/** The tool this call follows, if it continues the same task. */
function previousTool(last: State['last'], ts: number, traceId: string | undefined, maxGapMs: number): string | undefined {
  if (!last) return undefined
  const [tool, lastTs, lastTrace] = last
  if (traceId && lastTrace) return traceId === lastTrace ? tool : undefined
  return ts - lastTs <= maxGapMs && ts >= lastTs ? tool : undefined
}

export const toolSequence: Detector<Cfg, State> = {
  name: 'tool_sequence',
  family: 'novelty',
  description: 'Tool-to-tool transitions the agent, and its peers, have never taken.',
  config: Config,
  init: () => ({ last: null, trans: new CountTable(), from: new CountTable(), n: 0 }),
  revive: (s) => {
    s.trans = CountTable.from(s.trans)
    s.from = CountTable.from(s.from)
    if (s.adopters !== undefined) s.adopters = optionalTable(s.adopters)
    return s
  },

  score(e, own, peers, cfg, ctx) {
    if (e.kind !== 'tool_call') return undefined
    const from = previousTool(own.last, e.ts, e.traceId, cfg.maxGapMinutes * MINUTE)
    if (from === undefined || from === e.tool) return undefined
    const key = keyOf(from, e.tool)
    const ownReady = own.n >= cfg.minOwnTransitions
    const peerReady = peers !== undefined && ctx.peerAgents >= cfg.minPeerAgents
    if (!ownReady && !peerReady) return undefined

    const seen = own.trans.count(key)
    const fromSeen = own.from.count(from)
    let novelty = 0
    let observation: 'unseen_transition' | 'rare' = 'unseen_transition'
    if (seen === 0) novelty = 1
    else if (ownReady && fromSeen > 0 && seen / fromSeen < cfg.rareFraction) {
      novelty = 0.5
      observation = 'rare'
    }
    if (novelty === 0) return undefined

    const sensitivity = e.sensitivity ?? 'internal'
    const outbound = (e.operation === 'write' || e.operation === 'execute') && /^https?:\/\//i.test(e.resource)
    const base = cfg.baseScore + cfg.operationWeight * OPERATION_RISK[e.operation] + cfg.sensitivityWeight * SENSITIVITY_WEIGHT[sensitivity] + (outbound ? cfg.outboundWeight : 0)
    const peerUsers = peerReady ? (peers.adopters?.count(key) ?? 0) : 0
    const discount = peerReady ? peerDiscount(Math.min(1, peerUsers / ctx.peerAgents), cfg.peerAdoptionQuiet) : 1
    const score = round(clamp01(base * novelty * discount))
    if (score <= 0) return undefined
    return {
      score,
      observation,
      // Keyed on the destination: a tool rolled out to a blueprint is reached from many different
      // previous tools, one new step per agent, and is one change.
      fleetKey: `transition-to:${e.tool}`,
      reason:
        (observation === 'rare'
          ? `rare step ${key} for this agent (${seen} of ${fromSeen} steps out of ${from})`
          : `${ownReady ? 'this agent has never' : 'new agent; its peers have never widely'} gone from ${from} to ${e.tool}`) +
        ` (${e.operation} on ${sensitivity} data${outbound ? `, sent to ${e.resource}` : ''})` +
        (peerReady ? `; ${peerUsers} of ${ctx.peerAgents} peers take this step` : ''),
      evidence: {
        from,
        to: e.tool,
        operation: e.operation,
        sensitivity,
        traceId: e.traceId,
        resource: e.resource,
        outbound,
        timesTaken: seen,
        stepsOutOfPreviousTool: fromSeen,
        transitionsLearned: own.n,
        distinctTransitionsKnown: own.trans.size,
        ...(peerReady ? { peerAgents: ctx.peerAgents, peerAgentsTakingIt: peerUsers } : {}),
      },
    }
  },

  learn(e, own, peers, cfg) {
    if (e.kind !== 'tool_call') return
    const from = previousTool(own.last, e.ts, e.traceId, cfg.maxGapMinutes * MINUTE)
    if (from !== undefined && from !== e.tool) {
      const key = keyOf(from, e.tool)
      const isNewForAgent = own.trans.count(key) === 0
      own.trans.bump(key, e.ts, cfg.capacity)
      own.from.bump(from, e.ts, cfg.capacity)
      own.n += 1
      for (const p of peers) {
        p.trans.bump(key, e.ts, cfg.peerCapacity)
        p.from.bump(from, e.ts, cfg.peerCapacity)
        p.n += 1
        if (isNewForAgent) (p.adopters ??= new CountTable()).bump(key, e.ts, cfg.peerCapacity)
      }
    }
    const last = own.last
    if (!last) own.last = [e.tool, e.ts, e.traceId ?? '']
    else if (e.ts >= last[1]) {
      // Updated in place, and a string only when it differs: a profile lives as long as the
      // service, and a new array, or the event's own copy of an unchanged tool name, stored into it
      // on every call is a young object the collector must track from the old generation and then
      // promote, only for it to die there at the agent's next call.
      if (last[0] !== e.tool) last[0] = e.tool
      last[1] = e.ts
      const trace = e.traceId ?? ''
      if (last[2] !== trace) last[2] = trace
    }
  },

  mergePeers(into, from, cfg) {
    // `last` is the agent's own; a peer state's stays null.
    into.trans.merge(from.trans, cfg.peerCapacity)
    into.from.merge(from.from, cfg.peerCapacity)
    into.n += from.n
    into.adopters = mergeOptional(into.adopters, from.adopters, cfg.peerCapacity)
  },
}
