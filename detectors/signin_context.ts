/**
 * signin_context: sign-ins from a network (ASN, country, named location) or with a credential type
 * the agent has never used (`unfamiliar`), discounted when its blueprint peers use them; and bursts
 * of failed sign-ins well above the agent's own worst usual window (`failure_burst`), discounted
 * when the peers are failing at the same time (an identity-provider outage, a rotated secret).
 */
import { z } from 'zod'
import { CountTable, mergeOptional, optionalTable } from './bounded.ts'
import { anyOf, fromDoublings, mergeTally, othersNow, peerDiscount, round, tallyAgentIn } from './scoring.ts'
import { MINUTE } from './time.ts'
import { type Detector } from './types.ts'

const Config = z
  .object({
    minOwnSignins: z.number().int().min(1).default(20).describe('Sign-ins an agent must have made before its own baseline is trusted; until then it is judged against its peers. Sign-ins.'),
    minPeerAgents: z.number().int().min(1).default(3).describe('Peer agents needed before the blueprint baseline is used. Agents.'),
    peerAdoptionQuiet: z.number().min(0).max(1).default(0.2).describe('Fraction of peer agents that sign in from a network or with a credential type at which it counts as normal. 0-1.'),
    countryScore: z.number().min(0).max(1).default(0.5).describe('Score of a country the agent never signed in from. 0-1.'),
    asnScore: z.number().min(0).max(1).default(0.35).describe('Score of an autonomous system the agent never signed in from. 0-1.'),
    locationScore: z.number().min(0).max(1).default(0.25).describe('Score of a named location the agent never signed in from. 0-1.'),
    credentialScore: z.number().min(0).max(1).default(0.5).describe('Score of a credential type the agent never used (for example a secret for a certificate agent). 0-1.'),
    failureWindowMinutes: z.number().positive().default(10).describe('Window in which failed sign-ins are counted. Minutes.'),
    minFailureBurst: z.number().int().min(2).default(5).describe('Least failed sign-ins in one window that can be a burst. Sign-ins.'),
    failureBurstFactor: z.number().min(1).default(2).describe('A burst must also exceed this multiple of the agent\'s own worst usual window. Multiple.'),
    fleetFailureQuiet: z.number().min(0).max(1).default(0.3).describe('Fraction of the other peer agents failing in the same window at which a burst counts as fleet-wide (an outage). 0-1.'),
    capacity: z.number().int().min(8).max(4096).default(64).describe('Distinct networks and credentials remembered per agent; the rarest are evicted first. Entries.'),
    peerCapacity: z.number().int().min(8).max(65536).default(1024).describe('Distinct networks and credentials remembered per blueprint. Entries.'),
  })
  .strict()

type Cfg = z.infer<typeof Config>
interface State {
  /** "asn:8075", "country:US", "location:eastus", "credential:certificate" -> [count, firstSeen, lastSeen] */
  seen: CountTable
  /** Sign-ins learned. */
  n: number
  /** Blueprint only: attribute -> [distinct agents that used it, firstSeen, lastSeen]. Absent while empty. */
  adopters?: CountTable
  /** Own only: [start of the open failure window, failures in it]. */
  failWin: [number, number]
  /** Own only: most failures in one closed window, decaying slowly so one old burst is forgotten. */
  usualMaxFailures: number
  /** Blueprint only: [start of the open window, distinct agents with failures in it]. Absent before the first. */
  failingNow?: [number, number]
  /** Own only: window in which this agent was last tallied in the blueprint's failingNow. */
  failCounted: number
}

/** Per closed window, how much of the remembered worst window survives. */
const MAX_DECAY = 0.98

type Attr = 'country' | 'asn' | 'location' | 'credential'
const attributesOf = (e: { credential: string; network: { asn?: number; country?: string; location?: string } }) => {
  const out: [Attr, string][] = [['credential', e.credential]]
  if (e.network.country) out.push(['country', e.network.country])
  if (e.network.asn !== undefined) out.push(['asn', String(e.network.asn)])
  if (e.network.location) out.push(['location', e.network.location])
  return out
}

export const signinContext: Detector<Cfg, State> = {
  name: 'signin_context',
  family: 'signin',
  description: 'Sign-ins from unfamiliar networks or with unfamiliar credentials, and bursts of failed sign-ins.',
  config: Config,
  init: () => ({ seen: new CountTable(), n: 0, failWin: [-1, 0], usualMaxFailures: 0, failCounted: -1 }),
  revive: (s) => {
    s.seen = CountTable.from(s.seen)
    if (s.adopters !== undefined) s.adopters = optionalTable(s.adopters)
    return s
  },

  score(e, own, peers, cfg, ctx) {
    if (e.kind !== 'signin') return undefined
    const ownReady = own.n >= cfg.minOwnSignins
    const peerReady = peers !== undefined && ctx.peerAgents >= cfg.minPeerAgents

    // Unfamiliar context: each attribute new to the agent is a piece of evidence.
    let unfamiliar = 0
    const novel: Record<string, unknown>[] = []
    if (ownReady || peerReady) {
      const weights: Record<Attr, number> = { country: cfg.countryScore, asn: cfg.asnScore, location: cfg.locationScore, credential: cfg.credentialScore }
      const parts: number[] = []
      for (const [attr, value] of attributesOf(e)) {
        const key = `${attr}:${value}`
        if (own.seen.count(key) > 0) continue
        const peerUsers = peerReady ? (peers.adopters?.count(key) ?? 0) : 0
        const s = weights[attr] * (peerReady ? peerDiscount(Math.min(1, peerUsers / ctx.peerAgents), cfg.peerAdoptionQuiet) : 1)
        if (s <= 0) continue
        parts.push(s)
        novel.push({ attribute: attr, value, ...(peerReady ? { peerAgentsUsingIt: peerUsers } : {}) })
      }
      unfamiliar = anyOf(parts)
    }

    // Failure burst: failed sign-ins in the open window, this one included.
    let burst = 0
    let failures = 0
    let threshold = 0
    let othersFailing = 0
    if (e.outcome === 'failure') {
      const windowMs = cfg.failureWindowMinutes * MINUTE
      const start = Math.floor(e.ts / windowMs) * windowMs
      failures = (own.failWin[0] === start ? own.failWin[1] : 0) + 1
      threshold = Math.max(cfg.minFailureBurst, Math.ceil(cfg.failureBurstFactor * own.usualMaxFailures))
      if (failures >= threshold) {
        // 0.5 at the threshold, rising by doublings above it.
        burst = 0.5 + 0.45 * fromDoublings(Math.log2(failures / threshold), 1)
        if (peerReady) {
          othersFailing = othersNow(peers.failingNow, own.failCounted, e.ts, windowMs)
          burst *= peerDiscount(Math.min(1, othersFailing / Math.max(1, ctx.peerAgents - 1)), cfg.fleetFailureQuiet)
        }
      }
    }

    const score = round(Math.max(unfamiliar, burst))
    if (score <= 0) return undefined
    const peerEvidence = peerReady ? { peerAgents: ctx.peerAgents } : {}
    if (burst >= unfamiliar) {
      return {
        score,
        observation: 'failure_burst',
        reason: `${failures} failed sign-ins within ${cfg.failureWindowMinutes} minutes, against a usual worst of ${round(own.usualMaxFailures, 1)}` + (peerReady ? `; ${othersFailing} other peer agents failing now` : ''),
        evidence: { failuresInWindow: failures, windowMinutes: cfg.failureWindowMinutes, burstThreshold: threshold, usualMaxFailures: round(own.usualMaxFailures, 2), otherPeerAgentsFailingNow: othersFailing, failureReason: e.failureReason, ...peerEvidence },
      }
    }
    return {
      score,
      observation: 'unfamiliar',
      fleetKey: `signin:${novel.map((n) => `${n.attribute}=${n.value}`).join(',')}`,
      reason: `${e.outcome === 'failure' ? 'failed ' : ''}sign-in with unfamiliar ${novel.map((n) => `${n.attribute} ${n.value}`).join(', ')}` + (ownReady ? ` after ${own.n} sign-ins` : ' (new agent, judged against its peers)'),
      evidence: { unfamiliar: novel, ownSignins: own.n, ip: e.network.ip, ...peerEvidence },
    }
  },

  learn(e, own, peers, cfg) {
    if (e.kind !== 'signin') return
    for (const [attr, value] of attributesOf(e)) {
      const key = `${attr}:${value}`
      const isNewForAgent = own.seen.count(key) === 0
      own.seen.bump(key, e.ts, cfg.capacity)
      for (const p of peers) {
        p.seen.bump(key, e.ts, cfg.peerCapacity)
        if (isNewForAgent) (p.adopters ??= new CountTable()).bump(key, e.ts, cfg.peerCapacity)
      }
    }
    own.n += 1
    for (const p of peers) p.n += 1
    if (e.outcome !== 'failure') return
    const windowMs = cfg.failureWindowMinutes * MINUTE
    const start = Math.floor(e.ts / windowMs) * windowMs
    if (start > own.failWin[0]) {
      if (own.failWin[0] >= 0) own.usualMaxFailures = Math.max(own.failWin[1], own.usualMaxFailures * MAX_DECAY)
      own.failWin = [start, 0]
    }
    // A late failure from an already closed window is not counted again.
    if (start === own.failWin[0]) own.failWin[1] += 1
    own.failCounted = tallyAgentIn(peers, failingNowOf, own.failCounted, e.ts, windowMs)
  },

  mergePeers(into, from, cfg) {
    // failWin, usualMaxFailures and failCounted are the agent's own.
    into.seen.merge(from.seen, cfg.peerCapacity)
    into.n += from.n
    into.adopters = mergeOptional(into.adopters, from.adopters, cfg.peerCapacity)
    into.failingNow = mergeTally(into.failingNow, from.failingNow)
  },
}

const failingNowOf = (s: State) => (s.failingNow ??= [-1, 0])
