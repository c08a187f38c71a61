/**
 * Normal activity: one agent's events for one UTC day, a pure function of (plan, agent, day).
 * Because every agent-day has its own random stream, an attack planner can look at when an agent
 * is normally active without disturbing anything, and a live feed can produce days one at a time.
 *
 * Rhythms, per blueprint kind:
 * - support, hr, orchestrator: attended sessions in local business hours, a trickle on weekends;
 *   orchestrators spawn 1-2 of their sub-agents per task (same traceId, child carries parentId);
 * - batch: one nightly job every day at a fixed UTC minute, some also a midday refresh on weekdays;
 * - devops: bursts of pipeline activity at random times of the working day;
 * - monitor: a small check every 20-45 minutes, around the clock.
 */
import { DAY_MS, HOUR_MS, MINUTE_MS, type FleetPlan, type SimAction, type SimAgent } from './fleet.ts'
import { IdSource, signin, toolCall, type CallTarget, type SimEvent } from './events.ts'
import { hashSeed, Rng } from './random.ts'

/** Relative session rate by local hour of a working day (0-23). */
const BUSINESS_HOURS = [0, 0, 0, 0, 0, 0, 0.02, 0.3, 0.8, 1, 1, 1, 0.6, 0.9, 1, 1, 0.9, 0.6, 0.25, 0.1, 0.03, 0.01, 0, 0]
const BUSINESS_HOURS_TOTAL = BUSINESS_HOURS.reduce((a, b) => a + b, 0)
/** Devops bursts: flat over 08:00-19:00 local. */
const DEVOPS_HOURS: number[] = BUSINESS_HOURS.map((_, h) => (h >= 8 && h < 19 ? 1 : 0))
const DEVOPS_HOURS_TOTAL = DEVOPS_HOURS.reduce((a, b) => a + b, 0)

/** Sessions per working day for an agent with activity 1. */
const SESSIONS_PER_DAY = { support: 17, hr: 13, orchestrator: 8, devops: 2.8 } as const

/** Tokens are cached for about an hour, so a busy agent signs in roughly hourly. Milliseconds. */
const TOKEN_LIFETIME_MS: readonly [number, number] = [55 * MINUTE_MS, 75 * MINUTE_MS]

export interface DayContext {
  plan: FleetPlan
  rng: Rng
  ids: IdSource
  traces: IdSource
  out: SimEvent[]
  /** Token expiry per agent id (epoch ms); every day starts without a cached token. */
  tokenUntil: Map<string, number>
}

export function dayContext(plan: FleetPlan, agent: SimAgent, day: number): DayContext {
  return {
    plan,
    rng: new Rng(hashSeed(plan.seed, 'day', agent.index, day)),
    ids: new IdSource(`s${plan.seed}-a${agent.index}-d${day}`),
    traces: new IdSource(`tr-s${plan.seed}-a${agent.index}-d${day}`),
    out: [],
    tokenUntil: new Map(),
  }
}

/** The actions an agent can choose from at `ts` (with its blueprint's rollout once it happened). */
export function actionsAt(plan: FleetPlan, agent: SimAgent, ts: number): { actions: SimAction[]; weights: number[] } {
  const rollout = plan.rollouts.find((r) => r.kind === agent.blueprint.kind)
  if (rollout && ts >= rollout.at && agent.rolledOutActions && agent.rolledOutWeights) {
    return { actions: agent.rolledOutActions, weights: agent.rolledOutWeights }
  }
  return { actions: agent.actions, weights: agent.actionWeights }
}

/** Mostly success; about 0.6% errors (timeouts, 5xx) and 0.25% denials (locked ticket, expired grant). */
function normalOutcome(rng: Rng): 'success' | 'error' | 'denied' {
  const x = rng.float()
  return x < 0.006 ? 'error' : x < 0.0085 ? 'denied' : 'success'
}

/** Sign in when the cached token has expired; returns when the agent can make its first call. */
export function ensureToken(ctx: DayContext, agent: SimAgent, ts: number, traceId: string, userId?: string): number {
  if ((ctx.tokenUntil.get(agent.id) ?? -Infinity) > ts) return ts
  let t = ts
  if (ctx.rng.chance(0.008)) {
    ctx.out.push(signin(ctx.plan, agent, t, ctx.ids, ctx.rng, { traceId, userId, outcome: 'failure', failureReason: ctx.rng.pick(['token endpoint timeout', 'AADSTS50196: loop detected', 'temporarily unavailable']) }))
    t += ctx.rng.int(2_000, 20_000)
  }
  ctx.out.push(signin(ctx.plan, agent, t, ctx.ids, ctx.rng, { traceId, userId }))
  ctx.tokenUntil.set(agent.id, t + ctx.rng.int(TOKEN_LIFETIME_MS[0], TOKEN_LIFETIME_MS[1]))
  return t + ctx.rng.int(300, 2_500)
}

/** One call drawn from the agent's own mix; returns when the next call can start. */
function call(ctx: DayContext, agent: SimAgent, ts: number, traceId: string, userId?: string, choose?: (a: SimAction) => boolean): number {
  const { actions, weights } = actionsAt(ctx.plan, agent, ts)
  let w = weights
  if (choose) {
    w = weights.map((x, i) => (choose(actions[i]) ? x : 0))
    if (!w.some((x) => x > 0)) w = weights
  }
  const target = actions[ctx.rng.weighted(w)]
  const e = toolCall(ctx.plan, agent, ts, target, ctx.ids, ctx.rng, { traceId, userId, outcome: normalOutcome(ctx.rng) })
  ctx.out.push(e)
  const duration = e.event.kind === 'tool_call' ? (e.event.durationMs ?? 0) : 0
  return ts + duration
}

function target(tool: string, resource: string): CallTarget {
  return { tool, resource, operation: 'execute', typicalRecords: 1, bytesPerRecord: 1_500, durationMs: 400 }
}

/** Session start times in this UTC day, drawn hour by hour from a local-time profile. */
function sessionStarts(ctx: DayContext, agent: SimAgent, dayStart: number, perDay: number, profile: number[], profileTotal: number): number[] {
  const starts: number[] = []
  for (let h = 0; h < 24; h++) {
    const hourStart = dayStart + h * HOUR_MS
    const local = new Date(hourStart + agent.utcOffsetHours * HOUR_MS)
    const weekday = local.getUTCDay()
    const weekend = weekday === 0 || weekday === 6
    const rate = (perDay * agent.activity * profile[local.getUTCHours()]) / profileTotal
    const n = ctx.rng.poisson(weekend ? rate * agent.weekendShare : rate)
    for (let i = 0; i < n; i++) starts.push(hourStart + Math.floor(ctx.rng.float() * HOUR_MS))
  }
  return starts.sort((a, b) => a - b)
}

function attendedSession(ctx: DayContext, agent: SimAgent, start: number): void {
  const { rng } = ctx
  const userId = agent.users.length ? agent.users[rng.weighted(agent.userWeights)] : undefined
  const traceId = ctx.traces.next()
  let t = ensureToken(ctx, agent, start, traceId, userId)
  const calls = 2 + rng.poisson(2.5)
  for (let i = 0; i < calls; i++) {
    t = call(ctx, agent, t, traceId, userId)
    // Think time between a model's tool calls, seconds to a minute.
    t += Math.round(rng.logNormal(30_000, 0.6))
  }
}

function orchestratorSession(ctx: DayContext, agent: SimAgent, start: number): void {
  const { rng, plan } = ctx
  const userId = agent.users.length ? agent.users[rng.weighted(agent.userWeights)] : undefined
  const traceId = ctx.traces.next()
  let t = ensureToken(ctx, agent, start, traceId, userId)
  t = call(ctx, agent, t, traceId, userId, (a) => a.tool === 'plan.create') + rng.int(500, 3_000)
  const workers = rng.sample(agent.workerIds, rng.chance(0.6) ? 1 : 2)
  for (const workerId of workers) {
    const worker = plan.byId.get(workerId)
    if (!worker) continue
    ctx.out.push(toolCall(plan, agent, t, target('agent.spawn', `agent://${worker.id}`), ctx.ids, rng, { traceId, userId }))
    let wt = ensureToken(ctx, worker, t + rng.int(500, 3_000), traceId, userId)
    const calls = 3 + rng.poisson(3)
    for (let i = 0; i < calls; i++) wt = call(ctx, worker, wt, traceId, userId) + Math.round(rng.logNormal(8_000, 0.6))
    t = wt + rng.int(1_000, 10_000)
  }
  call(ctx, agent, t, traceId, userId, (a) => a.tool === 'doc.write')
}

function batchJob(ctx: DayContext, agent: SimAgent, start: number, calls: number): void {
  const { rng } = ctx
  const traceId = ctx.traces.next()
  let t = ensureToken(ctx, agent, start, traceId)
  const reads = Math.max(1, calls - 2)
  for (let i = 0; i < calls; i++) {
    t = ensureToken(ctx, agent, t, traceId)
    // Queries first, then the job writes its outputs (blob, dashboard refresh, mail).
    const wantRead = i < reads
    t = call(ctx, agent, t, traceId, undefined, (a) => (a.operation === 'read') === wantRead)
    t += Math.round(rng.logNormal(3_000, 0.7))
  }
}

function devopsBurst(ctx: DayContext, agent: SimAgent, start: number, calls: number, only?: (a: SimAction) => boolean): void {
  const { rng } = ctx
  const traceId = ctx.traces.next()
  let t = ensureToken(ctx, agent, start, traceId)
  // A burst works on one service: its repo, pipeline, clusters and secrets.
  // Tools rolled out later are not tied to a service, so they stay available in every burst.
  const services = [...new Set(agent.actions.map((a) => a.resource.split('/').pop() ?? ''))]
  const service = rng.pick(services)
  const serviceBound = new Set(agent.actions.map((a) => a.resource))
  // A pipeline fetches the service's secrets when it starts, not at random points of its day: an
  // agent that reads a service's secrets at all reads them on every burst for that service.
  const secrets = only ? undefined : agent.actions.find((a) => a.tool === 'secrets.read' && a.resource.endsWith(`/${service}`))
  if (secrets) {
    t = call(ctx, agent, t, traceId, undefined, (a) => a === secrets) + Math.round(rng.logNormal(3_000, 0.7))
  }
  for (let i = 0; i < calls; i++) {
    t = ensureToken(ctx, agent, t, traceId)
    t = call(ctx, agent, t, traceId, undefined, (a) => (a.resource.endsWith(`/${service}`) || !serviceBound.has(a.resource)) && (!only || only(a)))
    t += Math.round(rng.logNormal(12_000, 0.7))
  }
}

function monitorCheck(ctx: DayContext, agent: SimAgent, start: number, calls: number): void {
  const traceId = ctx.traces.next()
  let t = ensureToken(ctx, agent, start, traceId)
  for (let i = 0; i < calls; i++) t = call(ctx, agent, t, traceId) + ctx.rng.int(200, 2_000)
}

/** Extra ops activity during the incident night, if it touches this agent and day. */
function incidentActivity(ctx: DayContext, agent: SimAgent, dayStart: number): void {
  const incident = ctx.plan.incident
  if (!incident || !incident.agentIds.has(agent.id)) return
  if (incident.end <= dayStart || incident.start >= dayStart + DAY_MS) return
  const { rng } = ctx
  if (agent.blueprint.kind === 'monitor') {
    // Checks every ~3 minutes instead of every half hour, heavier on logs and alerts.
    for (let t = incident.start + rng.int(0, 60_000); t < incident.end; t += rng.int(150_000, 210_000)) {
      monitorCheck(ctx, agent, t, 2 + rng.poisson(1.5))
    }
  } else {
    // Rollbacks and log digging on production, a burst every ~15 minutes.
    for (let t = incident.start + rng.int(0, 300_000); t < incident.end; t += rng.int(10 * MINUTE_MS, 20 * MINUTE_MS)) {
      devopsBurst(ctx, agent, t, 5 + rng.poisson(5), (a) => a.resource.startsWith('k8s://prod') || a.resource.startsWith('ci://'))
    }
  }
}

/** One agent's normal events for UTC day `day` (0-based), unsorted; sub-agents come with their orchestrator. */
export function agentDay(plan: FleetPlan, agent: SimAgent, day: number): SimEvent[] {
  const dayStart = plan.start + day * DAY_MS
  if (!agent.drivesItself || agent.activeFrom >= dayStart + DAY_MS) return []
  const ctx = dayContext(plan, agent, day)
  const { rng } = ctx
  switch (agent.blueprint.kind) {
    case 'support':
    case 'hr':
      for (const s of sessionStarts(ctx, agent, dayStart, SESSIONS_PER_DAY[agent.blueprint.kind], BUSINESS_HOURS, BUSINESS_HOURS_TOTAL)) attendedSession(ctx, agent, s)
      break
    case 'orchestrator':
      for (const s of sessionStarts(ctx, agent, dayStart, SESSIONS_PER_DAY.orchestrator, BUSINESS_HOURS, BUSINESS_HOURS_TOTAL)) orchestratorSession(ctx, agent, s)
      break
    case 'devops':
      for (const s of sessionStarts(ctx, agent, dayStart, SESSIONS_PER_DAY.devops, DEVOPS_HOURS, DEVOPS_HOURS_TOTAL)) devopsBurst(ctx, agent, s, 8 + rng.poisson(12))
      break
    case 'batch': {
      const jitter = rng.int(-8, 8) * MINUTE_MS
      batchJob(ctx, agent, dayStart + agent.jobMinuteUtc * MINUTE_MS + jitter, Math.max(5, agent.jobCalls + rng.int(-4, 4)))
      const weekday = new Date(dayStart).getUTCDay()
      if (agent.middayRefresh && weekday !== 0 && weekday !== 6) batchJob(ctx, agent, dayStart + 12 * HOUR_MS + rng.int(0, 20) * MINUTE_MS, 4 + rng.poisson(3))
      break
    }
    case 'monitor': {
      const every = agent.checkEveryMinutes * MINUTE_MS
      const phase = (agent.index * 7 * MINUTE_MS) % every
      for (let t = dayStart + phase; t < dayStart + DAY_MS; t += every) monitorCheck(ctx, agent, t + rng.int(-30_000, 30_000), 1 + rng.poisson(0.6))
      break
    }
    case 'worker':
      break
  }
  incidentActivity(ctx, agent, dayStart)
  return ctx.out.filter((e) => e.ts >= agent.activeFrom && e.ts >= plan.start && e.ts < plan.end)
}

/** Normal events of one agent (sub-agents included) between two times, sorted. */
export function agentEventsBetween(plan: FleetPlan, agentId: string, from: number, to: number): SimEvent[] {
  const agent = plan.byId.get(agentId)
  if (!agent) return []
  const driver = agent.drivesItself ? agent : plan.byId.get(agent.parentId ?? '')
  if (!driver) return []
  const out: SimEvent[] = []
  const firstDay = Math.max(0, Math.floor((from - plan.start) / DAY_MS) - 1)
  const lastDay = Math.min(plan.days - 1, Math.floor((to - plan.start) / DAY_MS))
  for (let d = firstDay; d <= lastDay; d++) {
    for (const e of agentDay(plan, driver, d)) if (e.event.agent.id === agentId && e.ts >= from && e.ts < to) out.push(e)
  }
  return out.sort((a, b) => a.ts - b.ts)
}
