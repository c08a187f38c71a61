/**
 * time_of_week: activity in an hour of the week (see hourOfWeek) where the agent is normally
 * silent, for example at 03:00 or on a weekend for an agent that only ever works weekdays. The
 * agent's own rhythm is trusted once it spans `minHistoryDays`; before that the blueprint's rhythm
 * is used. Discounted when peers routinely work at that hour, or are active right now (an incident
 * night when the whole blueprint works late is not an anomaly).
 */
import { z } from 'zod'
import { mergeTally, othersNow, peerDiscount, round, tallyAgentIn } from './scoring.ts'
import { DAY, HOUR } from './time.ts'
import { clamp01, hourOfWeek, type Detector } from './types.ts'
import { addCounts, narrowCounts, widened, type Uint16Counts, type Uint32Counts } from './packed.ts'

const Config = z
  .object({
    minHistoryDays: z.number().positive().default(7).describe('History span an agent (or its blueprint) needs before its hour-of-week rhythm is trusted. Days.'),
    minOwnEvents: z.number().int().min(1).default(50).describe('Events an agent needs before its own rhythm is trusted. Events.'),
    minPeerAgents: z.number().int().min(1).default(3).describe('Peer agents needed before the blueprint rhythm is used. Agents.'),
    activeShare: z.number().min(0).max(1).default(0.002).describe('An hour of the week (with half of each neighbouring hour) counts as usual when it holds at least this share of the agent\'s events. 0-1.'),
    peerAdoptionQuiet: z.number().min(0).max(1).default(0.3).describe('Fraction of peer agents that have ever worked in this hour of the week at which it counts as normal. 0-1.'),
    fleetNowQuiet: z.number().min(0).max(1).default(0.5).describe('Fraction of the other peer agents active in this very hour at which it counts as normal (the whole blueprint working late). 0-1.'),
    baseScore: z.number().min(0).max(1).default(0.15).describe('Score of activity just outside the usual hours, before distance. 0-1.'),
    perHourAway: z.number().min(0).max(1).default(0.08).describe('Score added per hour between this hour and the nearest usual hour. Score per hour.'),
    maxScore: z.number().min(0).max(1).default(0.45).describe('Highest score of off-hours activity; below the medium threshold, because timing is rarely an attack signal by itself and only raises risk together with other evidence. 0-1.'),
  })
  .strict()

type Cfg = z.infer<typeof Config>
const SLOTS = 168

interface State {
  /** Events per hour of the week: 16-bit until one would pass 65,535, then 32-bit (see narrowCounts). */
  hours: Uint16Counts | Uint32Counts
  /** Events learned. */
  n: number
  /** Event time of the first learned event, ms; -1 before. */
  firstTs: number
  /**
   * Blueprint only: distinct agents that have ever been active in each hour of the week. Created on
   * the first such agent, so that agents' own states do not carry 168 zeros; absent means all zeros.
   */
  hourAgents?: number[]
  /** Blueprint only: [start of the open hour, distinct agents active in it]. Absent before the first. */
  now?: [number, number]
  /** Own only: start of the hour in which this agent was last tallied in the blueprint's `now`. */
  counted: number
}

/** Events in hour `h` plus half of each neighbour, so the edge of a working day is not off-hours. */
const around = (hours: ArrayLike<number>, h: number) => hours[h] + 0.5 * (hours[(h + SLOTS - 1) % SLOTS] + hours[(h + 1) % SLOTS])

/** Hours to the nearest usual hour (circular over the week); SLOTS/2 when none is usual. */
function hoursToUsual(hours: ArrayLike<number>, n: number, h: number, share: number): number {
  for (let d = 0; d <= SLOTS / 2; d++) {
    if (hours[(h + d) % SLOTS] / n >= share || hours[(h - d + SLOTS) % SLOTS] / n >= share) return d
  }
  return SLOTS / 2
}

export const timeOfWeek: Detector<Cfg, State> = {
  name: 'time_of_week',
  family: 'timing',
  description: 'Activity in an hour of the week where the agent, and its peers, are normally silent.',
  config: Config,
  init: () => ({ hours: narrowCounts(undefined, SLOTS), n: 0, firstTs: -1, counted: -1 }),
  revive: (s) => {
    s.hours = narrowCounts(s.hours, SLOTS)
    return s
  },

  score(e, own, peers, cfg, ctx) {
    const h = hourOfWeek(e.ts)
    const minSpan = cfg.minHistoryDays * DAY
    const ownReady = own.n >= cfg.minOwnEvents && own.firstTs >= 0 && e.ts - own.firstTs >= minSpan
    const peerReady = peers !== undefined && ctx.peerAgents >= cfg.minPeerAgents && peers.firstTs >= 0 && e.ts - peers.firstTs >= minSpan && peers.n >= cfg.minOwnEvents
    const basis = ownReady ? own : peerReady ? peers : undefined
    if (!basis) return undefined

    const share = around(basis.hours, h) / basis.n
    if (share >= cfg.activeShare) return undefined
    const distance = hoursToUsual(basis.hours, basis.n, h, cfg.activeShare)
    // A few stray events at this hour before: rare rather than never, half the score.
    const never = around(basis.hours, h) === 0
    let score = Math.min(cfg.maxScore, cfg.baseScore + cfg.perHourAway * distance) * (never ? 1 : 0.5)

    let peerEvidence = {}
    if (peerReady) {
      const everActive = peers.hourAgents?.[h] ?? 0
      const everAdoption = Math.min(1, everActive / ctx.peerAgents)
      const others = othersNow(peers.now, own.counted, e.ts, HOUR)
      const nowAdoption = Math.min(1, others / Math.max(1, ctx.peerAgents - 1))
      score *= Math.min(peerDiscount(everAdoption, cfg.peerAdoptionQuiet), peerDiscount(nowAdoption, cfg.fleetNowQuiet))
      peerEvidence = { peerAgents: ctx.peerAgents, peerAgentsEverActiveThisHour: everActive, peerAgentsActiveNow: others }
    }
    score = round(clamp01(score))
    if (score <= 0) return undefined
    const day = ['Monday', 'Tuesday', 'Wednesday', 'Thursday', 'Friday', 'Saturday', 'Sunday'][Math.floor(h / 24)]
    const when = `${day} ${String(h % 24).padStart(2, '0')}:00 UTC`
    const whose = ownReady ? 'this agent' : 'its blueprint peers'
    return {
      score,
      observation: 'off_hours',
      fleetKey: `hour:${h}`,
      reason: `${e.kind === 'signin' ? 'sign-in' : `call to ${e.tool}`} on ${when}, an hour when ${whose} ${never ? 'never' : 'rarely'} ${ownReady ? 'works' : 'work'}; the nearest usual hour is ${distance} h away`,
      evidence: {
        hourOfWeek: h,
        baseline: ownReady ? 'own' : 'peers',
        eventsAtThisHour: basis.hours[h],
        eventsLearned: basis.n,
        historyDays: round((e.ts - basis.firstTs) / DAY, 1),
        hoursToUsualHour: distance,
        ...peerEvidence,
      },
    }
  },

  learn(e, own, peers) {
    const h = hourOfWeek(e.ts)
    const firstAtHour = own.hours[h] === 0
    own.hours = widened(own.hours, h)
    own.hours[h] += 1
    own.n += 1
    if (own.firstTs < 0 || e.ts < own.firstTs) own.firstTs = e.ts
    if (peers.length === 0) return
    for (const p of peers) {
      p.hours = widened(p.hours, h)
      p.hours[h] += 1
      p.n += 1
      if (p.firstTs < 0 || e.ts < p.firstTs) p.firstTs = e.ts
      if (firstAtHour) (p.hourAgents ??= new Array<number>(SLOTS).fill(0))[h] += 1
    }
    own.counted = tallyAgentIn(peers, nowOf, own.counted, e.ts, HOUR)
  },

  mergePeers(into, from) {
    // `counted` is the agent's own.
    for (let h = 0; h < SLOTS; h++) into.hours = widened(into.hours, h, from.hours[h])
    addCounts(into.hours, from.hours)
    into.n += from.n
    if (from.firstTs >= 0 && (into.firstTs < 0 || from.firstTs < into.firstTs)) into.firstTs = from.firstTs
    if (from.hourAgents) {
      if (!into.hourAgents) into.hourAgents = from.hourAgents.slice()
      else addCounts(into.hourAgents, from.hourAgents)
    }
    into.now = mergeTally(into.now, from.now)
  },
}

const nowOf = (s: State) => (s.now ??= [-1, 0])
