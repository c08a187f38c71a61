/**
 * resource_novelty: a tool call on a resource the agent has never (or rarely) touched, weighted by
 * the resource's sensitivity, and discounted when the agent's blueprint peers already use it (so a
 * resource rolled out to a whole blueprint is not an anomaly). A brand-new agent is judged against
 * its peers from its first event.
 *
 * Restricted data is judged by what the blueprint's agents usually do with it. Where established
 * agents routinely start reading restricted resources their peers already read (deployment agents
 * reading the secrets of each service they take on), one more such first read is weak evidence; the
 * blueprint learns that rate (first reads per established agent and week) and discounts a first
 * touch of a restricted resource peers already use by it. A restricted resource no peer uses keeps
 * its full weight, whatever the rate.
 */
import { z } from 'zod'
import { CountTable, mergeOptional, optionalTable } from './bounded.ts'
import { OPERATION_RISK, peerDiscount, round } from './scoring.ts'
import { WEEK } from './time.ts'
import { clamp01, type Detector } from './types.ts'

const Config = z
  .object({
    minOwnEvents: z.number().int().min(1).default(50).describe('Tool calls an agent must have made before its own baseline is trusted; until then it is judged against its peers. Events.'),
    minPeerAgents: z.number().int().min(1).default(3).describe('Peer agents needed before the blueprint baseline is used. Agents.'),
    peerAdoptionQuiet: z.number().min(0).max(1).default(0.2).describe('Fraction of peer agents that already use a resource at which it counts as normal for the blueprint. 0-1.'),
    restrictedAdoptionQuiet: z.number().min(0).max(1).default(0.5).describe('The same for restricted resources: only wide use by peers makes a first touch of restricted data normal. 0-1.'),
    rareFraction: z.number().min(0).max(1).default(0.002).describe('A known resource is rare when it accounts for less than this fraction of the agent\'s calls. 0-1.'),
    familiarNamespaceResources: z.number().int().min(1).default(3).describe('Distinct resources an agent already uses under one namespace (a resource up to its last "/", e.g. vault://kv/) before a new resource there counts as a familiar kind of access. Resources.'),
    familiarNamespaceFactor: z.number().min(0).max(1).default(0.5).describe('Multiplies the score of a first touch in a familiar namespace. 0-1.'),
    restrictedJoinsHalf: z.number().positive().default(0.15).describe('First reads of restricted resources their peers already use, per established agent and week of the blueprint, at which such a first read weighs half. Reads per agent-week.'),
    capacity: z.number().int().min(8).max(4096).default(128).describe('Distinct resources remembered per agent; the rarest are evicted first. Entries.'),
    peerCapacity: z.number().int().min(8).max(65536).default(1024).describe('Distinct resources remembered per blueprint. Entries.'),
  })
  .strict()

type Cfg = z.infer<typeof Config>
interface State {
  /** resource -> [count, firstSeen, lastSeen] */
  res: CountTable
  /** tool calls learned */
  n: number
  /** peer state only: resource -> [distinct agents that use it, firstSeen, lastSeen]. Absent while empty. */
  adopters?: CountTable
  /** own state only: namespace -> [distinct learned resources in it, firstSeen, lastSeen]. Absent while empty. */
  ns?: CountTable
  /**
   * peer state only: [first learned event time, first touches of a restricted resource other peers
   * already used, by agents past their warm-up]. Absent before the first.
   */
  joins?: [number, number]
}

/**
 * What is left of a first touch of a restricted resource that peers already use, 0-1, given how
 * often the blueprint's agents start using such resources: 1 where they never do, 0.5 at
 * `restrictedJoinsHalf` per established agent and week.
 */
function joinFactor(peers: State, peerAgents: number, ts: number, cfg: Cfg): { factor: number; perAgentWeek: number } {
  if (!peers.joins || peers.joins[1] === 0 || peerAgents === 0) return { factor: 1, perAgentWeek: 0 }
  // At least a day of exposure, so the first joins of a young blueprint do not read as a high rate.
  const weeks = Math.max(1 / 7, (ts - peers.joins[0]) / WEEK)
  const perAgentWeek = peers.joins[1] / (peerAgents * weeks)
  return { factor: 1 / (1 + perAgentWeek / cfg.restrictedJoinsHalf), perAgentWeek }
}

/**
 * The namespace of a resource: everything up to its last "/" when there is a path below the
 * authority (vault://kv/payments -> vault://kv/); none for a bare authority (servicenow://incidents).
 */
export function namespaceOf(resource: string): string | undefined {
  const scheme = resource.indexOf('://')
  const last = resource.lastIndexOf('/')
  const authorityEnd = scheme >= 0 ? resource.indexOf('/', scheme + 3) : resource.indexOf('/')
  if (authorityEnd < 0 || last <= authorityEnd) return undefined
  return resource.slice(0, last + 1)
}

/**
 * Score of a first touch by sensitivity, before peer discount: a new internal resource is a weak
 * novelty, a new restricted one is clearly abnormal on its own.
 */
const FIRST_TOUCH = { public: 0.2, internal: 0.35, confidential: 0.5, restricted: 0.7 } as const
/** Extra for a first touch that deletes or administers rather than reads. */
const OPERATION_BONUS = 0.15

export const resourceNovelty: Detector<Cfg, State> = {
  name: 'resource_novelty',
  family: 'novelty',
  description: 'First-seen and rare resources, weighted by sensitivity, against the agent and its blueprint peers.',
  config: Config,
  init: () => ({ res: new CountTable(), n: 0 }),
  revive: (s) => {
    s.res = CountTable.from(s.res)
    if (s.adopters !== undefined) s.adopters = optionalTable(s.adopters)
    if (s.ns !== undefined) s.ns = optionalTable(s.ns)
    return s
  },

  score(e, own, peers, cfg, ctx) {
    if (e.kind !== 'tool_call') return undefined
    const sensitivity = e.sensitivity ?? 'internal'
    const base = clamp01(FIRST_TOUCH[sensitivity] + OPERATION_BONUS * Math.max(0, OPERATION_RISK[e.operation] - 0.5) * 2)
    const peerReady = peers !== undefined && ctx.peerAgents >= cfg.minPeerAgents
    const peerUsers = peerReady ? (peers.adopters?.count(e.resource) ?? 0) : 0
    const adoption = peerReady ? Math.min(1, peerUsers / ctx.peerAgents) : 0
    const quiet = sensitivity === 'restricted' ? cfg.restrictedAdoptionQuiet : cfg.peerAdoptionQuiet
    const discount = peerReady ? peerDiscount(adoption, quiet) : 1
    const peerEvidence = peerReady ? { peerAgentsUsingIt: peerUsers, peerAgents: ctx.peerAgents } : {}
    const seen = own.res.count(e.resource)

    if (own.n < cfg.minOwnEvents) {
      // Warm-up: no trustworthy own baseline. Judge against the peers, or abstain without them.
      if (!peerReady || seen > 0) return undefined
      const score = round(base * discount)
      if (score === 0) return undefined
      return {
        score,
        observation: 'first_seen',
        reason: `new agent ${e.operation} on ${sensitivity} resource ${e.resource}, which ${peerUsers} of its ${ctx.peerAgents} blueprint peers use`,
        evidence: { resource: e.resource, sensitivity, operation: e.operation, ownToolCalls: own.n, ...peerEvidence },
        fleetKey: `resource:${e.resource}`,
      }
    }

    if (seen === 0) {
      const namespace = namespaceOf(e.resource)
      const siblings = namespace && own.ns ? own.ns.count(namespace) : 0
      const familiar = siblings >= cfg.familiarNamespaceResources
      const joining = sensitivity === 'restricted' && peerUsers > 0 ? joinFactor(peers!, ctx.peerAgents, e.ts, cfg) : undefined
      const score = round(base * discount * (familiar ? cfg.familiarNamespaceFactor : 1) * (joining?.factor ?? 1))
      if (score === 0) return undefined
      return {
        score,
        observation: 'first_seen',
        reason:
          `first ${e.operation} of ${sensitivity} resource ${e.resource} in ${own.n} tool calls` +
          (familiar ? ` (it already uses ${siblings} other resources under ${namespace})` : '') +
          (peerReady ? `; ${peerUsers} of ${ctx.peerAgents} blueprint peers use it` : '') +
          (joining && joining.factor < 1 ? `; the blueprint's agents start reading restricted resources their peers use ${round(joining.perAgentWeek, 2)} times a week each` : ''),
        evidence: {
          resource: e.resource,
          sensitivity,
          operation: e.operation,
          ownToolCalls: own.n,
          distinctResourcesKnown: own.res.size,
          namespace,
          resourcesKnownInNamespace: siblings,
          ...peerEvidence,
          ...(joining ? { blueprintRestrictedJoinsPerAgentWeek: round(joining.perAgentWeek, 3) } : {}),
        },
        fleetKey: `resource:${e.resource}`,
      }
    }
    const fraction = seen / own.n
    if (fraction < cfg.rareFraction) {
      // Known but rare: half the weight of a first touch.
      const score = round(base * 0.5 * discount)
      if (score === 0) return undefined
      return {
        score,
        observation: 'rare',
        reason: `${e.resource} is rare for this agent: ${seen} of ${own.n} tool calls`,
        evidence: { resource: e.resource, sensitivity, seen, ownToolCalls: own.n, rareFraction: cfg.rareFraction, ...peerEvidence },
        fleetKey: `resource:${e.resource}`,
      }
    }
    return undefined
  },

  learn(e, own, peers, cfg) {
    if (e.kind !== 'tool_call') return
    const isNewForAgent = own.res.count(e.resource) === 0
    // An established agent starting on a restricted resource its peers (the view) already use.
    const joining = isNewForAgent && e.sensitivity === 'restricted' && own.n + 1 > cfg.minOwnEvents && peers.length > 0 && (peers[0]!.adopters?.count(e.resource) ?? 0) > 0
    own.res.bump(e.resource, e.ts, cfg.capacity)
    const namespace = isNewForAgent ? namespaceOf(e.resource) : undefined
    if (namespace) (own.ns ??= new CountTable()).bump(namespace, e.ts, cfg.capacity)
    own.n += 1
    for (const p of peers) {
      const joins = (p.joins ??= [e.ts, 0])
      if (joining) joins[1] += 1
      p.res.bump(e.resource, e.ts, cfg.peerCapacity)
      p.n += 1
      if (isNewForAgent) (p.adopters ??= new CountTable()).bump(e.resource, e.ts, cfg.peerCapacity)
    }
  },

  mergePeers(into, from, cfg) {
    into.res.merge(from.res, cfg.peerCapacity)
    into.n += from.n
    // Distinct agents per resource add: the two states learned from different agents.
    into.adopters = mergeOptional(into.adopters, from.adopters, cfg.peerCapacity)
    if (from.joins) {
      // The rate is measured from the first event either learned, over the joins of both.
      if (!into.joins) into.joins = [from.joins[0], from.joins[1]]
      else into.joins = [Math.min(into.joins[0], from.joins[0]), into.joins[1] + from.joins[1]]
    }
  },
}
