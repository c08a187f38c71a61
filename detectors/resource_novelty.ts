/**
 * resource_novelty: a tool call on a resource the agent has never (or rarely) touched, weighted by
 * the resource's sensitivity, and discounted when the agent's blueprint peers already use it (so a
 * resource rolled out to a whole blueprint is not an anomaly). A brand-new agent is judged against
 * its peers from its first event.
 */
import { z } from 'zod'
import { bump, countOf, type Counts } from './bounded.ts'
import { SENSITIVITY_WEIGHT, clamp01, type Detector } from './types.ts'

const Config = z
  .object({
    minOwnEvents: z.number().int().min(1).default(50).describe('Tool calls an agent must have made before its own baseline is trusted; until then it is judged against its peers. Events.'),
    minPeerAgents: z.number().int().min(1).default(3).describe('Peer agents needed before the blueprint baseline is used. Agents.'),
    peerAdoptionQuiet: z.number().min(0).max(1).default(0.2).describe('Fraction of peer agents that already use a resource at which it counts as normal for the blueprint. 0-1.'),
    rareFraction: z.number().min(0).max(1).default(0.002).describe('A known resource is rare when it accounts for less than this fraction of the agent\'s calls. 0-1.'),
    capacity: z.number().int().min(8).max(4096).default(128).describe('Distinct resources remembered per agent; the rarest are evicted first. Entries.'),
    peerCapacity: z.number().int().min(8).max(65536).default(1024).describe('Distinct resources remembered per blueprint. Entries.'),
  })
  .strict()

type Cfg = z.infer<typeof Config>
interface State {
  /** resource -> [count, firstSeen, lastSeen] */
  res: Counts
  /** tool calls learned */
  n: number
  /** peer state only: resource -> [distinct agents that use it, firstSeen, lastSeen] */
  adopters: Counts
}

const weightOf = (s: keyof typeof SENSITIVITY_WEIGHT | undefined) => SENSITIVITY_WEIGHT[s ?? 'internal']

export const resourceNovelty: Detector<Cfg, State> = {
  name: 'resource_novelty',
  description: 'First-seen and rare resources, weighted by sensitivity, against the agent and its blueprint peers.',
  config: Config,
  init: () => ({ res: {}, n: 0, adopters: {} }),

  score(e, own, peers, cfg, ctx) {
    if (e.kind !== 'tool_call') return undefined
    const weight = weightOf(e.sensitivity)
    const peerReady = peers !== undefined && ctx.peerAgents >= cfg.minPeerAgents
    const adoption = peerReady ? Math.min(1, countOf(peers.adopters, e.resource) / ctx.peerAgents) : 0
    const peerEvidence = peerReady
      ? { peerAgentsUsingIt: countOf(peers.adopters, e.resource), peerAgents: ctx.peerAgents }
      : {}
    // Discount by how widely the blueprint already uses the resource: 0 at peerAdoptionQuiet or above.
    const peerDiscount = peerReady ? clamp01(1 - adoption / cfg.peerAdoptionQuiet) : 1

    if (own.n < cfg.minOwnEvents) {
      // Warm-up: no trustworthy own baseline. Judge against the peers, or abstain without them.
      if (!peerReady) return undefined
      if (peerDiscount === 0) return undefined
      return {
        score: clamp01(weight * peerDiscount),
        observation: 'first_seen',
        reason: `new agent touched ${e.sensitivity ?? 'internal'} resource ${e.resource}, which ${countOf(peers.adopters, e.resource)} of its ${ctx.peerAgents} blueprint peers use`,
        evidence: { resource: e.resource, sensitivity: e.sensitivity ?? 'internal', ownToolCalls: own.n, ...peerEvidence },
      }
    }

    const seen = countOf(own.res, e.resource)
    if (seen === 0) {
      const score = clamp01(weight * peerDiscount)
      if (score === 0) return undefined
      return {
        score,
        observation: 'first_seen',
        reason: `first ${e.operation} of ${e.sensitivity ?? 'internal'} resource ${e.resource} in ${own.n} tool calls`,
        evidence: { resource: e.resource, sensitivity: e.sensitivity ?? 'internal', ownToolCalls: own.n, distinctResourcesKnown: Object.keys(own.res).length, ...peerEvidence },
      }
    }
    const fraction = seen / own.n
    if (fraction < cfg.rareFraction) {
      const score = clamp01(weight * 0.5 * peerDiscount)
      if (score === 0) return undefined
      return {
        score,
        observation: 'rare',
        reason: `${e.resource} is rare for this agent: ${seen} of ${own.n} tool calls`,
        evidence: { resource: e.resource, sensitivity: e.sensitivity ?? 'internal', seen, ownToolCalls: own.n, ...peerEvidence },
      }
    }
    return undefined
  },

  learn(e, own, peers, cfg) {
    if (e.kind !== 'tool_call') return
    const isNewForAgent = countOf(own.res, e.resource) === 0
    bump(own.res, e.resource, e.ts, cfg.capacity)
    own.n += 1
    if (peers) {
      bump(peers.res, e.resource, e.ts, cfg.peerCapacity)
      peers.n += 1
      if (isNewForAgent) bump(peers.adopters, e.resource, e.ts, cfg.peerCapacity)
    }
  },
}
