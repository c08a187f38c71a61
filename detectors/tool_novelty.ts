/**
 * tool_novelty: a tool the agent has never (or rarely) invoked, and a first destructive or
 * administrative operation (delete, admin) by an agent that never did one. Both are discounted when
 * the blueprint's peers already do the same, so a tool rolled out to every agent of a blueprint is
 * not an anomaly. A brand-new agent is judged against its peers from its first event.
 */
import { z } from 'zod'
import { CountTable, mergeOptional, optionalTable } from './bounded.ts'
import { OPERATION_RISK, peerDiscount, round } from './scoring.ts'
import { SENSITIVITY_WEIGHT, clamp01, type Detector } from './types.ts'

const Config = z
  .object({
    minOwnEvents: z.number().int().min(1).default(50).describe('Tool calls an agent must have made before its own baseline is trusted; until then it is judged against its peers. Events.'),
    minPeerAgents: z.number().int().min(1).default(3).describe('Peer agents needed before the blueprint baseline is used. Agents.'),
    peerAdoptionQuiet: z.number().min(0).max(1).default(0.2).describe('Fraction of peer agents that already use a tool (or operation) at which it counts as normal for the blueprint. 0-1.'),
    rareFraction: z.number().min(0).max(1).default(0.002).describe('A known tool is rare when it accounts for less than this fraction of the agent\'s calls. 0-1.'),
    firstToolScore: z.number().min(0).max(1).default(0.35).describe('Score of a first-seen tool used for a read, before peer discount; more for writes, deletes and admin operations. 0-1.'),
    firstPrivilegedOpScore: z.number().min(0).max(1).default(0.6).describe('Score of an agent\'s first delete operation, before peer discount; a first admin operation scores 0.1 more, and restricted data adds up to 0.15. 0-1.'),
    capacity: z.number().int().min(8).max(4096).default(64).describe('Distinct tools remembered per agent; the rarest are evicted first. Entries.'),
    peerCapacity: z.number().int().min(8).max(65536).default(512).describe('Distinct tools remembered per blueprint. Entries.'),
  })
  .strict()

type Cfg = z.infer<typeof Config>
interface State {
  /** tool -> [calls, firstSeen, lastSeen] */
  tools: CountTable
  /** operation -> [calls, firstSeen, lastSeen]; at most five keys */
  ops: CountTable
  /** tool calls learned */
  n: number
  /** peer state only: tool -> [distinct agents that use it, firstSeen, lastSeen]. Absent while empty. */
  toolAdopters?: CountTable
  /** peer state only: operation -> [distinct agents that used it, firstSeen, lastSeen]. Absent while empty. */
  opAdopters?: CountTable
}

const PRIVILEGED = new Set(['delete', 'admin'])

/** Fraction of the established peers that use `key`; 0 while the peers are not to be trusted. */
function adoptionOf(peerReady: boolean, table: CountTable | undefined, key: string, peerAgents: number): number {
  return peerReady && table ? Math.min(1, table.count(key) / peerAgents) : 0
}

export const toolNovelty: Detector<Cfg, State> = {
  name: 'tool_novelty',
  family: 'novelty',
  description: 'First-seen and rare tools, and first delete or admin operations, against the agent and its blueprint peers.',
  config: Config,
  init: () => ({ tools: new CountTable(), ops: new CountTable(), n: 0 }),
  revive: (s) => {
    s.tools = CountTable.from(s.tools)
    s.ops = CountTable.from(s.ops)
    if (s.toolAdopters !== undefined) s.toolAdopters = optionalTable(s.toolAdopters)
    if (s.opAdopters !== undefined) s.opAdopters = optionalTable(s.opAdopters)
    return s
  },

  score(e, own, peers, cfg, ctx) {
    if (e.kind !== 'tool_call') return undefined
    const ownReady = own.n >= cfg.minOwnEvents
    const peerReady = peers !== undefined && ctx.peerAgents >= cfg.minPeerAgents
    if (!ownReady && !peerReady) return undefined
    const sensitivity = e.sensitivity ?? 'internal'

    // During warm-up the agent's own history is too short to call anything new; only what the
    // peers never do counts, so "new for the agent" is replaced by "not yet done by the agent".
    const toolSeen = own.tools.count(e.tool)
    const toolAdoption = peers ? adoptionOf(peerReady, peers.toolAdopters, e.tool, ctx.peerAgents) : 0
    const toolDiscount = peerReady ? peerDiscount(toolAdoption, cfg.peerAdoptionQuiet) : 1
    const toolBase = clamp01(cfg.firstToolScore + 0.25 * OPERATION_RISK[e.operation])
    let toolScore = 0
    let toolObservation: 'first_seen' | 'rare' = 'first_seen'
    if (toolSeen === 0) toolScore = toolBase * toolDiscount
    else if (ownReady && toolSeen / own.n < cfg.rareFraction) {
      toolScore = 0.5 * toolBase * toolDiscount
      toolObservation = 'rare'
    }

    let opScore = 0
    const opSeen = own.ops.count(e.operation)
    const opAdoption = peers ? adoptionOf(peerReady, peers.opAdopters, e.operation, ctx.peerAgents) : 0
    if (PRIVILEGED.has(e.operation) && opSeen === 0) {
      const base = cfg.firstPrivilegedOpScore + (e.operation === 'admin' ? 0.1 : 0) + 0.15 * Math.max(0, SENSITIVITY_WEIGHT[sensitivity] - 0.5) * 2
      opScore = clamp01(base) * (peerReady ? peerDiscount(opAdoption, cfg.peerAdoptionQuiet) : 1)
    }

    const score = round(Math.max(toolScore, opScore))
    if (score <= 0) return undefined
    const peerEvidence = peerReady
      ? { peerAgents: ctx.peerAgents, peerAgentsUsingTool: peers.toolAdopters?.count(e.tool) ?? 0, peerAgentsUsingOperation: peers.opAdopters?.count(e.operation) ?? 0 }
      : {}
    const who = ownReady ? `in ${own.n} tool calls` : `(new agent, ${own.n} tool calls so far)`
    const reason =
      opScore >= toolScore
        ? `first ${e.operation} operation by this agent ${who}, via ${e.tool} on ${sensitivity} ${e.resource}` + (peerReady ? `; ${peers.opAdopters?.count(e.operation) ?? 0} of ${ctx.peerAgents} peers ever did one` : '')
        : toolObservation === 'first_seen'
          ? `first use of tool ${e.tool} ${who}` + (peerReady ? `; ${peers.toolAdopters?.count(e.tool) ?? 0} of ${ctx.peerAgents} peers use it` : '')
          : `tool ${e.tool} is rare for this agent: ${toolSeen} of ${own.n} calls`
    return {
      score,
      observation: opScore >= toolScore ? 'first_seen' : toolObservation,
      reason,
      fleetKey: opScore >= toolScore ? `operation:${e.operation}:${e.tool}` : `tool:${e.tool}`,
      evidence: {
        tool: e.tool,
        operation: e.operation,
        sensitivity,
        ownToolCalls: own.n,
        ownCallsWithTool: toolSeen,
        ownCallsWithOperation: opSeen,
        distinctToolsKnown: own.tools.size,
        ...peerEvidence,
      },
    }
  },

  learn(e, own, peers, cfg) {
    if (e.kind !== 'tool_call') return
    const newTool = own.tools.count(e.tool) === 0
    const newOp = own.ops.count(e.operation) === 0
    own.tools.bump(e.tool, e.ts, cfg.capacity)
    own.ops.bump(e.operation, e.ts, 8)
    own.n += 1
    for (const p of peers) {
      p.tools.bump(e.tool, e.ts, cfg.peerCapacity)
      p.ops.bump(e.operation, e.ts, 8)
      p.n += 1
      if (newTool) (p.toolAdopters ??= new CountTable()).bump(e.tool, e.ts, cfg.peerCapacity)
      if (newOp) (p.opAdopters ??= new CountTable()).bump(e.operation, e.ts, 8)
    }
  },

  mergePeers(into, from, cfg) {
    into.tools.merge(from.tools, cfg.peerCapacity)
    // Five operations at most: the 8 of learn never evicts.
    into.ops.merge(from.ops, 8)
    into.n += from.n
    into.toolAdopters = mergeOptional(into.toolAdopters, from.toolAdopters, cfg.peerCapacity)
    into.opAdopters = mergeOptional(into.opAdopters, from.opAdopters, 8)
  },
}
