/**
 * delegation: who an agent acts for and what it sets in motion.
 *
 * - `first_seen`: acting on behalf of a user the agent (and its blueprint) has never served,
 *   weighted by the sensitivity of the call and discounted for agents that routinely meet new users.
 *   A lone call for a new user is weak evidence whatever it touches: user pools turn over, and a
 *   colleague's first request is an everyday event. It is held below medium until the user's
 *   session corroborates it, with `corroboratingCalls` calls on confidential or restricted data
 *   within `userSessionMinutes` of the first; a session that goes straight for sensitive data, call
 *   after call, is what acting for a stolen or invented identity looks like;
 * - `spawn_burst`: many new sub-agents of one parent in a short window (counted from the
 *   sub-agents' first events, whose agent.parentId names the parent);
 * - `delegation_depth`: a sub-agent chain deeper than configured and than the blueprint has seen;
 * - `probing`: several denied outcomes or admin operations in a short window, well above the agent's
 *   own usual, and not shared by the peers at the same time (a permission change breaking everyone).
 *
 * Spawns and depth are tallied in the sub-agents' blueprint state, so they are seen only when the
 * sub-agents carry a blueprint; a chain that crosses blueprints restarts its depth count.
 */
import { z } from 'zod'
import { CountTable, mergeOptional, optionalTable } from './bounded.ts'
import { fromDoublings, mergeTally, othersNow, peerDiscount, round, tallyAgentIn } from './scoring.ts'
import { MINUTE } from './time.ts'
import { SENSITIVITY_WEIGHT, clamp01, type Detector, type Finding } from './types.ts'

const Config = z
  .object({
    minOwnEvents: z.number().int().min(1).default(30).describe('Events an agent must have made before its own users are trusted as a baseline; until then it is judged against its peers. Events.'),
    minPeerAgents: z.number().int().min(1).default(3).describe('Peer agents needed before the blueprint baseline is used. Agents.'),
    peerAdoptionQuiet: z.number().min(0).max(1).default(0.2).describe('Fraction of peer agents serving a user at which serving that user counts as normal for the blueprint. 0-1.'),
    newUserBase: z.number().min(0).max(1).default(0.1).describe('Score of a never-served user before sensitivity. 0-1.'),
    newUserSensitivity: z.number().min(0).max(1).default(0.55).describe('Added to a never-served user\'s score, times the squared sensitivity weight of the call: x0.06 public (and sign-ins), x0.25 internal, x0.64 confidential, x1 restricted. Score.'),
    strangerBoost: z.number().min(0).max(2).default(1).describe('Extra weight for a user none of the blueprint\'s peers has served, scaled by how rarely the blueprint meets new users (1 = up to twice the score). Factor.'),
    windowMinutes: z.number().positive().default(10).describe('Window in which spawns and denied or admin operations are counted. Minutes.'),
    minSpawnBurst: z.number().int().min(2).default(5).describe('Least new sub-agents of one parent in one window that can be a burst. Agents.'),
    minProbes: z.number().int().min(2).default(4).describe('Least denied or admin operations in one window that can be probing. Events.'),
    burstFactor: z.number().min(1).default(2).describe('A spawn or probe burst must also exceed this multiple of the usual worst window (the agent\'s for probes, the blueprint\'s for spawns). Multiple.'),
    fleetQuiet: z.number().min(0).max(1).default(0.3).describe('Fraction of the other peer agents probing in the same window at which it counts as fleet-wide (for example a permission change). 0-1.'),
    maxDepth: z.number().int().min(1).default(3).describe('Sub-agent depth (1 = spawned by a top-level agent) above which a chain is unusual, unless the blueprint already goes deeper. Levels.'),
    corroboratingCalls: z.number().int().min(1).default(3).describe('Calls on confidential or restricted data for a never-served user, within userSessionMinutes of the first, before the finding is raised above holdScore. Calls.'),
    userSessionMinutes: z.number().positive().default(30).describe('How long after the first call for a never-served user its further calls still corroborate it. Minutes.'),
    holdScore: z.number().min(0).max(1).default(0.45).describe('Highest score of a never-served user finding until corroborated (below the medium threshold of 0.5, so it shows at low). Score.'),
    capacity: z.number().int().min(8).max(4096).default(128).describe('Distinct users remembered per agent; the rarest are evicted first. Entries.'),
    peerCapacity: z.number().int().min(8).max(65536).default(2048).describe('Distinct users, parents and sub-agents remembered per blueprint. Entries.'),
    subAgentCapacity: z.number().int().min(8).max(65536).default(256).describe('Sub-agents whose depth the blueprint remembers; the shallowest and oldest are evicted first, so deep chains are kept. Entries.'),
  })
  .strict()

type Cfg = z.infer<typeof Config>
type Probation = [string, number, number, number]
/** New users on probation per agent: enough for sessions that overlap, bounded. */
const PROBATION_KEPT = 4

/** Whether a probation's session, opened by the user's first call, is still open at `ts`. */
const sessionOpen = (p: Probation, ts: number, cfg: Cfg) => ts - p[1] <= cfg.userSessionMinutes * MINUTE

/** The user's probation entry while their session is open. */
function onProbation(own: State, userId: string, ts: number, cfg: Cfg): Probation | undefined {
  if (!own.probation) return undefined
  for (const p of own.probation) if (p[0] === userId && sessionOpen(p, ts, cfg)) return p
  return undefined
}

interface State {
  /** Own: userId -> [calls for them, firstSeen, lastSeen]; blueprint: userId -> [distinct agents serving them, ...]. */
  users: CountTable
  /** Events learned. */
  n: number
  /** Events on behalf of a user. */
  attended: number
  /** Of those, the first for that user (own: new to the agent; blueprint: new to the blueprint). */
  newUsers: number
  /** Own: [start of the open window, denied or admin operations in it]. */
  probeWin: [number, number]
  /** Own: most denied or admin operations in one closed window, decaying slowly. */
  usualMaxProbes: number
  /** Blueprint: [start of the open window, distinct agents probing in it]. Absent before the first. */
  probingNow?: [number, number]
  /** Own: window in which this agent was last tallied in probingNow. */
  probeCounted: number
  /** Blueprint: parentId -> [new sub-agents in the parent's open window, window start, last spawn ts]. Absent while empty. */
  spawns?: CountTable
  /** Blueprint: most new sub-agents of one parent in one closed window, decaying slowly. */
  usualMaxSpawns: number
  /** Blueprint: sub-agent id -> [depth, firstSeen, lastSeen]. Absent while empty. */
  depth?: CountTable
  /** Blueprint: deepest sub-agent learned. */
  maxDepthSeen: number
  /**
   * Own: the latest never-served users on probation (at most PROBATION_KEPT), each [userId, first
   * call ts, calls on confidential or restricted data for them since, weight of their novelty at
   * the first call (0-2)]. Absent before the first.
   */
  probation?: Probation[]
}

/**
 * Weight of what a never-served user's call touches, 0-1: the sensitivity weight squared, so a
 * stranger on internal data stays weak evidence (0.25) while on confidential (0.64) or restricted
 * (1) data it is telling; new users on everyday data are the normal life of an attended agent.
 */
const userDataWeight = (s: keyof typeof SENSITIVITY_WEIGHT) => SENSITIVITY_WEIGHT[s] * SENSITIVITY_WEIGHT[s]

/** Per closed window, how much of a remembered worst window survives. */
const MAX_DECAY = 0.98

const isSensitiveCall = (e: { kind: string; sensitivity?: string }) => e.kind === 'tool_call' && (e.sensitivity === 'confidential' || e.sensitivity === 'restricted')

/**
 * How telling a user never served by this agent is, as a factor on the sensitivity-weighted base
 * (0-2): less for an agent (or blueprint) that meets new users all the time, less when peers serve
 * the user, more when no peer has served them in a blueprint that rarely meets new users.
 */
function newUserNovelty(own: State, peers: State | undefined, userId: string, cfg: Cfg, ctx: { peerAgents: number }, ownReady: boolean, peerReady: boolean) {
  const basis = ownReady ? own : peers!
  const newUserRate = basis.newUsers / (basis.attended + 1)
  const peerServing = peerReady ? peers!.users.count(userId) : 0
  // A user no peer has served either, in a blueprint that rarely meets new users, is a stranger
  // to the whole blueprint: up to twice as telling as a user new to this agent only.
  const peerNewUserRate = peerReady ? peers!.newUsers / (peers!.attended + 1) : 1
  const discount =
    peerServing > 0 ? Math.min(0.5, peerDiscount(Math.min(1, peerServing / ctx.peerAgents), cfg.peerAdoptionQuiet)) : 1 + cfg.strangerBoost * (1 - Math.min(1, peerNewUserRate * 40))
  return { weight: (1 - newUserRate) * discount, peerServing, newUserRate, peerNewUserRate }
}

const isProbe = (e: { kind: string; outcome?: string; operation?: string }) => e.kind === 'tool_call' && (e.outcome === 'denied' || e.operation === 'admin')
const windowStart = (ts: number, windowMs: number) => Math.floor(ts / windowMs) * windowMs

/** 0.5 at the threshold, rising by doublings above it. */
const burstScore = (count: number, threshold: number) => (count >= threshold ? 0.5 + 0.45 * fromDoublings(Math.log2(count / threshold), 1) : 0)

export const delegation: Detector<Cfg, State> = {
  name: 'delegation',
  family: 'delegation',
  description: 'Never-served on-behalf-of users, sub-agent spawn bursts and depth, and privilege probing (denied or admin operations).',
  config: Config,
  init: () => ({
    users: new CountTable(), n: 0, attended: 0, newUsers: 0,
    probeWin: [-1, 0], usualMaxProbes: 0, probeCounted: -1,
    usualMaxSpawns: 0, maxDepthSeen: 0,
  }),
  revive: (s) => {
    s.users = CountTable.from(s.users)
    if (s.spawns !== undefined) s.spawns = optionalTable(s.spawns)
    if (s.depth !== undefined) s.depth = optionalTable(s.depth)
    return s
  },

  score(e, own, peers, cfg, ctx) {
    const peerReady = peers !== undefined && ctx.peerAgents >= cfg.minPeerAgents
    const ownReady = own.n >= cfg.minOwnEvents
    const windowMs = cfg.windowMinutes * MINUTE
    const findings: Finding[] = []
    const peerEvidence = peerReady ? { peerAgents: ctx.peerAgents } : {}

    // Never-served user, weighted by what the call touches, held low until the session corroborates it.
    const userId = e.onBehalfOf?.userId
    const probation = userId !== undefined ? onProbation(own, userId, e.ts, cfg) : undefined
    // Once served, a user on probation is looked at again only when a call touches sensitive data.
    if (userId && (probation ? isSensitiveCall(e) : own.users.count(userId) === 0) && (ownReady || peerReady)) {
      // A sign-in only obtains a token: it touches no data yet, so it weighs as public.
      const sensitivity = e.kind === 'tool_call' ? (e.sensitivity ?? 'internal') : 'public'
      const base = cfg.newUserBase + cfg.newUserSensitivity * userDataWeight(sensitivity)
      const novelty = probation ? { weight: probation[3], peerServing: -1, newUserRate: -1, peerNewUserRate: -1 } : newUserNovelty(own, peers, userId, cfg, ctx, ownReady, peerReady)
      const sensitiveCalls = (probation ? probation[2] : 0) + (isSensitiveCall(e) ? 1 : 0)
      const corroborated = sensitiveCalls >= cfg.corroboratingCalls
      const full = clamp01(base * novelty.weight)
      const score = corroborated ? full : Math.min(full, cfg.holdScore)
      const peerPart = novelty.peerServing < 0 ? '' : peerReady ? ` and ${novelty.peerServing === 0 ? 'none' : novelty.peerServing} of ${ctx.peerAgents} peers serve` : ''
      if (score > 0)
        findings.push({
          score,
          observation: 'first_seen',
          fleetKey: `user:${userId}`,
          reason:
            `acting for user ${userId}, whom this agent ${probation ? `first served ${round((e.ts - probation[1]) / MINUTE, 1)} min ago` : 'has never served'}` + peerPart + ` (${sensitivity} data)` +
            `; ${sensitiveCalls} call${sensitiveCalls === 1 ? '' : 's'} on confidential or restricted data for them in this session` +
            (corroborated ? '' : ` (held below medium until ${cfg.corroboratingCalls})`),
          evidence: {
            userId,
            sensitivity,
            sensitiveCallsForUser: sensitiveCalls,
            corroboratingCalls: cfg.corroboratingCalls,
            ownAttendedEvents: own.attended,
            ownDistinctUsers: own.users.size,
            baseline: ownReady ? 'own' : 'peers',
            ...(novelty.newUserRate >= 0 ? { newUserRate: round(novelty.newUserRate) } : {}),
            ...(peerReady && novelty.peerServing >= 0 ? { peerAgentsServingUser: novelty.peerServing, blueprintNewUserRate: round(novelty.peerNewUserRate, 4) } : {}),
            ...peerEvidence,
          },
        })
    }

    // Spawns and depth: judged on a sub-agent's first event, in its blueprint's state.
    const parentId = e.agent.parentId
    if (parentId && own.n === 0 && peers) {
      const start = windowStart(e.ts, windowMs)
      const spawns = peers.spawns
      const slot = spawns ? spawns.slotOf(parentId) : -1
      const spawned = (slot >= 0 && spawns!.firstAt(slot) === start ? spawns!.countAt(slot) : 0) + 1
      const threshold = Math.max(cfg.minSpawnBurst, Math.ceil(cfg.burstFactor * peers.usualMaxSpawns))
      const s = burstScore(spawned, threshold)
      if (s > 0)
        findings.push({
          score: s,
          observation: 'spawn_burst',
          onParent: true,
          reason: `${parentId} started ${spawned} new sub-agents within ${cfg.windowMinutes} minutes; the blueprint's usual worst is ${round(peers.usualMaxSpawns, 1)}`,
          evidence: { parentId, newSubAgentsInWindow: spawned, windowMinutes: cfg.windowMinutes, burstThreshold: threshold, usualMaxSpawns: round(peers.usualMaxSpawns, 2), ...peerEvidence },
        })
      const depth = (peers.depth?.count(parentId) ?? 0) + 1
      const limit = Math.max(cfg.maxDepth, peers.maxDepthSeen)
      if (depth > limit)
        findings.push({
          score: clamp01(0.5 + 0.1 * (depth - limit - 1)),
          observation: 'delegation_depth',
          onParent: true,
          reason: `sub-agent at depth ${depth} (spawned by ${parentId}); the limit is ${cfg.maxDepth} and the blueprint's deepest so far is ${peers.maxDepthSeen}`,
          evidence: { parentId, depth, configuredMaxDepth: cfg.maxDepth, blueprintMaxDepth: peers.maxDepthSeen },
        })
    }

    // Privilege probing: denied outcomes or admin operations piling up in one window.
    if (isProbe(e)) {
      const start = windowStart(e.ts, windowMs)
      const probes = (own.probeWin[0] === start ? own.probeWin[1] : 0) + 1
      const threshold = Math.max(cfg.minProbes, Math.ceil(cfg.burstFactor * own.usualMaxProbes))
      let s = burstScore(probes, threshold)
      let others = 0
      if (s > 0 && peerReady) {
        others = othersNow(peers.probingNow, own.probeCounted, e.ts, windowMs)
        s *= peerDiscount(Math.min(1, others / Math.max(1, ctx.peerAgents - 1)), cfg.fleetQuiet)
      }
      if (s > 0)
        findings.push({
          score: s,
          observation: 'probing',
          reason: `${probes} denied or admin operations within ${cfg.windowMinutes} minutes (this one: ${e.kind === 'tool_call' ? `${e.operation} on ${e.resource}, ${e.outcome}` : ''}); the agent's usual worst is ${round(own.usualMaxProbes, 1)}` + (peerReady ? `, ${others} other peers probing now` : ''),
          evidence: { probesInWindow: probes, windowMinutes: cfg.windowMinutes, burstThreshold: threshold, usualMaxProbes: round(own.usualMaxProbes, 2), otherPeerAgentsProbingNow: others, ...peerEvidence },
        })
    }

    if (findings.length === 0) return undefined
    const top = findings.reduce((a, b) => (b.score > a.score ? b : a))
    return { ...top, score: round(top.score) }
  },

  learn(e, own, peers, cfg, ctx) {
    const windowMs = cfg.windowMinutes * MINUTE
    const userId = e.onBehalfOf?.userId
    // Serving a user means acting on data for them; a sign-in for them does not make them known.
    if (userId && e.kind === 'tool_call') {
      const newForAgent = own.users.count(userId) === 0
      const probation = onProbation(own, userId, e.ts, cfg)
      if (probation) {
        if (isSensitiveCall(e)) probation[2] += 1
      } else if (newForAgent) {
        // On probation with the novelty they had before this agent served them; ended sessions go.
        const view = peers[0]
        const peerReady = view !== undefined && ctx.peerAgents >= cfg.minPeerAgents
        const ownReady = own.n >= cfg.minOwnEvents
        const weight = ownReady || peerReady ? newUserNovelty(own, view, userId, cfg, ctx, ownReady, peerReady).weight : 0
        const open = (own.probation ?? []).filter((p) => sessionOpen(p, e.ts, cfg)).slice(-(PROBATION_KEPT - 1))
        open.push([userId, e.ts, isSensitiveCall(e) ? 1 : 0, round(weight, 4)])
        own.probation = open
      }
      own.users.bump(userId, e.ts, cfg.capacity)
      own.attended += 1
      if (newForAgent) own.newUsers += 1
      if (peers.length > 0) {
        // New to the blueprint as a whole: the view knows the users of every partition.
        const newForBlueprint = peers[0]!.users.count(userId) === 0
        for (const p of peers) {
          p.attended += 1
          if (newForBlueprint) p.newUsers += 1
          if (newForAgent) p.users.bump(userId, e.ts, cfg.peerCapacity)
        }
      }
    }

    const parentId = e.agent.parentId
    if (parentId && own.n === 0 && peers.length > 0) {
      const start = windowStart(e.ts, windowMs)
      // The parent's depth as the view knows it: the parent may be another partition's agent.
      const depth = (peers[0]!.depth?.count(parentId) ?? 0) + 1
      for (const p of peers) {
        // Each state keeps the parent's spawn window on its own clock, so that windows merge by adding.
        // A parent's entry: [new sub-agents in its open window, window start, last spawn ts].
        const spawns = (p.spawns ??= new CountTable())
        let slot = spawns.slotOf(parentId)
        if (slot < 0) slot = spawns.bump(parentId, start, cfg.peerCapacity)
        else if (start > spawns.firstAt(slot)) {
          p.usualMaxSpawns = Math.max(spawns.countAt(slot), p.usualMaxSpawns * MAX_DECAY)
          spawns.setCountAt(slot, 1)
          spawns.setFirstAt(slot, start)
        } else if (start === spawns.firstAt(slot)) spawns.setCountAt(slot, spawns.countAt(slot) + 1)
        spawns.setLastAt(slot, e.ts)
        const depths = (p.depth ??= new CountTable())
        depths.setCountAt(depths.bump(e.agent.id, e.ts, cfg.subAgentCapacity), depth)
        p.maxDepthSeen = Math.max(p.maxDepthSeen, depth)
      }
    }

    if (isProbe(e)) {
      const start = windowStart(e.ts, windowMs)
      if (start > own.probeWin[0]) {
        if (own.probeWin[0] >= 0) own.usualMaxProbes = Math.max(own.probeWin[1], own.usualMaxProbes * MAX_DECAY)
        own.probeWin = [start, 0]
      }
      if (start === own.probeWin[0]) own.probeWin[1] += 1
      own.probeCounted = tallyAgentIn(peers, probingNowOf, own.probeCounted, e.ts, windowMs)
    }

    own.n += 1
    for (const p of peers) p.n += 1
  },

  mergePeers(into, from, cfg) {
    // probeWin, usualMaxProbes, probeCounted and probation are the agent's own.
    // Distinct agents serving each user add up.
    into.users.merge(from.users, cfg.peerCapacity)
    into.n += from.n
    into.attended += from.attended
    // Each partial counted a user as new when the view did not know them, so these add up to the view's.
    into.newUsers += from.newUsers
    into.probingNow = mergeTally(into.probingNow, from.probingNow)
    // A parent's sub-agents may sit in several partitions: spawns in the same window add; of two
    // different windows the newer is the open one and the older is over. The worst closed window is
    // approximated by the larger of the two states' (and the window closed here): the view closes
    // windows holding the spawns of every partition, so the merge can be lower than the view's.
    let usual = Math.max(into.usualMaxSpawns, from.usualMaxSpawns)
    const theirs = from.spawns
    if (theirs && theirs.size > 0) {
      const mine = (into.spawns ??= new CountTable())
      for (let j = 0; j < theirs.size; j++) {
        const spawned = theirs.countAt(j)
        const start = theirs.firstAt(j)
        const last = theirs.lastAt(j)
        const i = mine.slotOf(theirs.keyAt(j))
        if (i < 0) {
          // Capacity is enforced by the trim below, once over the union.
          mine.insert(theirs.keyAt(j), spawned, start, last)
          continue
        }
        if (start === mine.firstAt(i)) mine.setCountAt(i, mine.countAt(i) + spawned)
        else if (start > mine.firstAt(i)) {
          usual = Math.max(usual, mine.countAt(i))
          mine.setCountAt(i, spawned)
          mine.setFirstAt(i, start)
        } else usual = Math.max(usual, spawned)
        mine.setLastAt(i, Math.max(mine.lastAt(i), last))
      }
      mine.trim(cfg.peerCapacity)
    }
    into.usualMaxSpawns = usual
    // Sub-agent ids are disjoint across partitions; a depth is a level, not a count, so the deeper wins.
    into.depth = mergeOptional(into.depth, from.depth, cfg.subAgentCapacity, Math.max)
    into.maxDepthSeen = Math.max(into.maxDepthSeen, from.maxDepthSeen)
  },
}

const probingNowOf = (s: State) => (s.probingNow ??= [-1, 0])
