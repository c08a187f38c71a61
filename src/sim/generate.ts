/**
 * generateFleet: a labelled fleet over N days, as contract events sorted by event time.
 *
 * The first week is always clean (baselines form); attack episodes start on day 7 or later. Benign
 * changes (rollouts, an incident night, new agents, weekends) are part of every run, attacks or not,
 * and the normal stream is identical with and without attacks for the same seed.
 */
import type { AgentEventInput } from '../../schemas/events.ts'
import { agentDay } from './activity.ts'
import { AttackPlanner, type Episode } from './attacks.ts'
import { byTime, type SimEvent } from './events.ts'
import { buildPlan, DAY_MS, HOUR_MS, type FleetPlan } from './fleet.ts'
import { SCENARIOS, type BenignWindow, type Labels } from './labels.ts'

export interface FleetOptions {
  seed: number
  /** Agents in the initial fleet, sub-agents included. */
  agents: number
  days: number
  /** First day, 00:00 UTC; a Monday keeps weekdays aligned with day numbers. Default 2026-03-02 (a Monday). */
  start?: string
  /** Inject attack episodes after the first week. Default true. */
  attacks?: boolean
  /** Episodes per scenario; default one per 60 agents, at least 1. */
  attacksPerScenario?: number
}

export interface Fleet {
  events: AgentEventInput[]
  labels: Labels
}

/** Attacks never start before this many days of clean history. */
export const CLEAN_DAYS = 7

export function defaultAttacksPerScenario(agents: number): number {
  return Math.max(1, Math.round(agents / 60))
}

/** Normal events of every agent for one UTC day, unsorted. */
export function normalDay(plan: FleetPlan, day: number): SimEvent[] {
  const out: SimEvent[] = []
  // Snapshot: agents added while planning attacks do not generate normal activity.
  for (const agent of plan.agents.slice()) {
    const events = agentDay(plan, agent, day)
    for (const e of events) out.push(e)
  }
  return out
}

/** Attack episodes spread over [day 7, end), `perScenario` of each scenario, in a fixed order. */
export function planAttacks(plan: FleetPlan, perScenario: number): Episode[] {
  const planner = new AttackPlanner(plan)
  const from = plan.start + CLEAN_DAYS * DAY_MS
  const episodes: Episode[] = []
  if (plan.end <= from) return episodes
  for (let k = 0; k < perScenario; k++) {
    for (const scenario of SCENARIOS) {
      // Latest start four hours before the end, so the longest episode (a new agent's) still fits.
      const episode = planner.plan(scenario, from, plan.end - 4 * HOUR_MS)
      if (episode) episodes.push(episode)
    }
  }
  return episodes.sort((a, b) => a.label.start.localeCompare(b.label.start))
}

export function benignWindows(plan: FleetPlan): BenignWindow[] {
  const windows: BenignWindow[] = []
  const iso = (ts: number) => new Date(Math.min(ts, plan.end)).toISOString()
  let n = 0
  const id = () => `bw-s${plan.seed}-${String(++n).padStart(3, '0')}`
  for (const r of plan.rollouts) {
    const agentIds = plan.agents.filter((a) => a.blueprint.kind === r.kind && a.drivesItself && !plan.newPeerAgentIds.includes(a.id)).map((a) => a.id)
    windows.push({
      windowId: id(),
      type: 'tool_rollout',
      agentIds,
      fleetWide: false,
      start: iso(r.at),
      // Two days: every agent of the blueprint has used the new tool by then.
      end: iso(r.at + 48 * HOUR_MS),
      description: `${r.action.tool} on ${r.action.resource} rolled out to all ${agentIds.length} ${r.kind} agents`,
    })
  }
  if (plan.incident) {
    windows.push({
      windowId: id(),
      type: 'incident_burst',
      agentIds: [...plan.incident.agentIds],
      fleetWide: false,
      start: iso(plan.incident.start),
      end: iso(plan.incident.end),
      description: `production incident: ${plan.incident.agentIds.size} devops and monitoring agents work through the night`,
    })
  }
  if (plan.newPeerAgentIds.length) {
    const froms = plan.newPeerAgentIds.map((a) => plan.byId.get(a)?.activeFrom ?? plan.end)
    windows.push({
      windowId: id(),
      type: 'new_agents_like_peers',
      agentIds: plan.newPeerAgentIds.slice(),
      fleetWide: false,
      start: iso(Math.min(...froms)),
      end: iso(plan.end),
      description: `${plan.newPeerAgentIds.length} new agents that behave like their blueprint peers`,
    })
  }
  for (let day = 0; day < plan.days; day++) {
    const dayStart = plan.start + day * DAY_MS
    if (new Date(dayStart).getUTCDay() !== 6) continue
    windows.push({
      windowId: id(),
      type: 'weekend',
      agentIds: [],
      fleetWide: true,
      start: iso(dayStart),
      end: iso(dayStart + 2 * DAY_MS),
      description: 'weekend (UTC Saturday and Sunday)',
    })
  }
  return windows
}

export function generateFleet(opts: FleetOptions): Fleet {
  if (!Number.isInteger(opts.seed)) throw new Error('seed must be an integer')
  if (!Number.isInteger(opts.agents) || opts.agents < 1) throw new Error('agents must be a positive integer')
  if (!Number.isInteger(opts.days) || opts.days < 1) throw new Error('days must be a positive integer')
  const plan = buildPlan({ seed: opts.seed, agents: opts.agents, days: opts.days, start: opts.start })
  const attacks = opts.attacks ?? true
  const episodes = attacks ? planAttacks(plan, opts.attacksPerScenario ?? defaultAttacksPerScenario(opts.agents)) : []

  const all: SimEvent[] = []
  for (let day = 0; day < plan.days; day++) for (const e of normalDay(plan, day)) all.push(e)
  for (const ep of episodes) for (const e of ep.events) all.push(e)
  all.sort(byTime)

  const events = all.map((e) => e.event)
  const distinct = new Set<string>()
  for (const e of events) distinct.add(e.agent.id)
  const labels: Labels = {
    version: 1,
    fleet: {
      seed: opts.seed,
      agents: opts.agents,
      days: opts.days,
      start: new Date(plan.start).toISOString(),
      end: new Date(plan.end).toISOString(),
      distinctAgents: distinct.size,
      events: events.length,
      attacks,
    },
    episodes: episodes.map((e) => e.label),
    benign: benignWindows(plan),
  }
  return { events, labels }
}
