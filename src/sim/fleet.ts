/**
 * The fleet plan: every agent with its stable traits (blueprint, network, users, the subset of its
 * blueprint's tools and resources it uses and how often), plus the benign changes of the run
 * (rollouts, an incident night, new agents). A plan is a pure function of (seed, agents, days, start).
 */
import { BLUEPRINTS, ROLLOUTS, type ActionTemplate, type Blueprint, type BlueprintKind, type HomeNetwork } from './catalog.ts'
import { hashSeed, Rng, zipfWeights } from './random.ts'

export const MINUTE_MS = 60_000
export const HOUR_MS = 60 * MINUTE_MS
export const DAY_MS = 24 * HOUR_MS

/** Monday 2026-03-02 00:00 UTC. */
export const DEFAULT_START = '2026-03-02T00:00:00.000Z'
export const TENANT_ID = 'tenant-contoso'

/** One tool call an agent makes, with this agent's own typical volume. */
export interface SimAction extends ActionTemplate {
  /** This agent's median records per call. Items. */
  typicalRecords: number
}

export interface AgentNetwork {
  ip: string
  /** A second address in the same /24 (another host of the same deployment). */
  altIp: string
  asn: number
  country: string
  location: string
}

export interface SimAgent {
  id: string
  /** Position in the plan; part of the per-agent random stream's seed. */
  index: number
  blueprint: Blueprint
  ownerId: string
  parentId?: string
  network: AgentNetwork
  utcOffsetHours: number
  /** Users this agent acts for (attended blueprints), favourites first, with draw weights. */
  users: string[]
  userWeights: number[]
  actions: SimAction[]
  actionWeights: number[]
  /** Same, once the blueprint's rollout has happened (undefined without a rollout). */
  rolledOutActions?: SimAction[]
  rolledOutWeights?: number[]
  /** Multiplies the blueprint's session rate. */
  activity: number
  /** Fraction of a weekday's sessions that also happen on a weekend day. 0-1. */
  weekendShare: number
  /** Batch agents: minute of the UTC day the nightly job starts. */
  jobMinuteUtc: number
  /** Batch agents: calls in a nightly job. */
  jobCalls: number
  /** Batch agents: also refresh at midday on weekdays. */
  middayRefresh: boolean
  /** Monitoring agents: minutes between checks. */
  checkEveryMinutes: number
  /** Orchestrators: their sub-agents. */
  workerIds: string[]
  /** First moment the agent exists (epoch ms); agents of the initial fleet exist from the start. */
  activeFrom: number
  /** Generates its own activity (sub-agents are driven by their orchestrator). */
  drivesItself: boolean
  /** Index into the blueprint's audiences, with weights. */
  audienceWeights: number[]
}

export interface Rollout {
  kind: BlueprintKind
  action: ActionTemplate
  /** Epoch ms. */
  at: number
}

export interface IncidentNight {
  start: number
  end: number
  agentIds: Set<string>
}

export interface FleetPlan {
  seed: number
  /** Agents requested (the initial fleet, sub-agents included). */
  agentCount: number
  days: number
  start: number
  end: number
  tenantId: string
  agents: SimAgent[]
  byId: Map<string, SimAgent>
  rollouts: Rollout[]
  incident?: IncidentNight
  /** Agents added mid-run that behave like their peers. */
  newPeerAgentIds: string[]
  /** Next free number per agent-id prefix, for agents created later (attacks). */
  nextNumber: Map<string, number>
}

export interface PlanOptions {
  seed: number
  agents: number
  days: number
  start?: string
}

/** How the initial fleet splits across blueprints (orchestrators bring 2-3 workers each). */
const ORCHESTRATOR_SHARE = 0.06
const REST_SHARES: [BlueprintKind, number][] = [
  ['support', 0.4],
  ['batch', 0.17],
  ['devops', 0.17],
  ['monitor', 0.16],
  ['hr', 0.1],
]

function ipIn(prefix: readonly [number, number], rng: Rng): string {
  return `${prefix[0]}.${prefix[1]}.${rng.int(0, 255)}.${rng.int(1, 254)}`
}

/**
 * The agent's actions with their draw weights. Weights follow a Zipf law over the blueprint's
 * tools as this agent uses them (its favourite first), and a tool's weight is shared by the
 * resources it is used on: a deploy pipeline runs the same steps for each service it owns, so the
 * steps of a service are as familiar as the service. Drawing each (tool, resource) pair as its own
 * Zipf rank would give a pair used on the agent's fourth service a weight of a few in ten thousand,
 * so an agent would still be meeting its own everyday resources for the first time in its second
 * week, which real agents, running the same few workflows all day, do not.
 */
function expandActions(bp: Blueprint, rng: Rng): { actions: SimAction[]; templateWeight: (exponent: number) => number[] } {
  const picks: Record<string, string[]> = {}
  for (const [name, pool] of Object.entries(bp.pools ?? {})) {
    picks[name] = rng.sample(pool.values, rng.int(pool.perAgent[0], pool.perAgent[1]))
  }
  const optionalShare = rng.between(bp.optionalShare[0], bp.optionalShare[1])
  const core: SimAction[][] = []
  const optional: SimAction[][] = []
  for (const t of bp.actions) {
    if (!t.core && !rng.chance(optionalShare)) continue
    const placeholder = /\{(\w+)\}/.exec(t.resource)
    const resources = placeholder ? (picks[placeholder[1]] ?? []).map((v) => t.resource.replace(placeholder[0], v)) : [t.resource]
    const typicalRecords = Math.max(1, Math.round(t.records * rng.logNormal(1, 0.4)))
    const group = resources.map((resource): SimAction => ({ ...t, resource, typicalRecords }))
    if (group.length) (t.core ? core : optional).push(group)
  }
  // Core tools first so they get the largest Zipf weights; order within each group varies per agent.
  const groups = [...rng.shuffle(core), ...rng.shuffle(optional)]
  return {
    actions: groups.flat(),
    templateWeight: (exponent) => {
      const zipf = zipfWeights(groups.length, exponent)
      return groups.flatMap((g, rank) => g.map(() => zipf[rank] / g.length))
    },
  }
}

function withRollout(actions: SimAction[], weights: number[], rollout: ActionTemplate): { actions: SimAction[]; weights: number[] } {
  const total = weights.reduce((a, b) => a + b, 0)
  // The new tool takes about a tenth of the agent's calls once it is available.
  return {
    actions: [...actions, { ...rollout, typicalRecords: rollout.records }],
    weights: [...weights, total * 0.1],
  }
}

export interface NewAgentOptions {
  kind: BlueprintKind
  activeFrom: number
  parentId?: string
  /** Explicit id (spawned sub-agents); otherwise the blueprint prefix and the next free number. */
  id?: string
  drivesItself?: boolean
}

/** Create an agent with traits drawn like its peers' and add it to the plan. */
export function addAgent(plan: FleetPlan, opts: NewAgentOptions): SimAgent {
  const bp = BLUEPRINTS[opts.kind]
  const index = plan.agents.length
  const rng = new Rng(hashSeed(plan.seed, 'agent', index, opts.id ?? ''))
  let id = opts.id
  if (!id) {
    const n = plan.nextNumber.get(bp.agentPrefix) ?? 1
    plan.nextNumber.set(bp.agentPrefix, n + 1)
    id = `${bp.agentPrefix}-${String(n).padStart(3, '0')}`
  }
  const parent = opts.parentId ? plan.byId.get(opts.parentId) : undefined
  const home: HomeNetwork = parent ? parent.blueprint.networks[0] : rng.pick(bp.networks)
  const ip = parent ? parent.network.ip : ipIn(home.ipPrefix, rng)
  const network: AgentNetwork = {
    ip,
    altIp: ip.replace(/\.\d+$/, `.${rng.int(1, 254)}`),
    asn: home.asn,
    country: home.country,
    location: home.location,
  }
  let users: string[] = []
  if (bp.attended && bp.userPrefix && bp.userPoolSize && bp.usersPerAgent) {
    const pool = Array.from({ length: bp.userPoolSize }, (_, i) => `${bp.userPrefix}-${String(i + 1).padStart(4, '0')}`)
    users = rng.sample(pool, rng.int(bp.usersPerAgent[0], bp.usersPerAgent[1]))
  }
  const { actions, templateWeight } = expandActions(bp, rng)
  const actionWeights = templateWeight(rng.between(0.8, 1.4))
  const rollout = plan.rollouts.find((r) => r.kind === opts.kind)
  const rolled = rollout ? withRollout(actions, actionWeights, rollout.action) : undefined
  const ownerIndex = bp.kind === 'support' ? bp.networks.indexOf(home) : rng.int(0, bp.owners.length - 1)
  const agent: SimAgent = {
    id,
    index,
    blueprint: bp,
    ownerId: bp.owners[Math.max(0, ownerIndex) % bp.owners.length],
    parentId: opts.parentId,
    network,
    utcOffsetHours: home.utcOffsetHours,
    users,
    userWeights: zipfWeights(users.length, 1),
    actions,
    actionWeights,
    rolledOutActions: rolled?.actions,
    rolledOutWeights: rolled?.weights,
    activity: rng.logNormal(1, 0.3),
    weekendShare: rng.chance(0.3) ? rng.between(0.08, 0.2) : rng.between(0, 0.04),
    // Nightly jobs start between 00:30 and 04:30 UTC, on a whole five minutes like a cron entry.
    jobMinuteUtc: 30 + 5 * rng.int(0, 48),
    jobCalls: rng.int(36, 76),
    middayRefresh: rng.chance(0.5),
    checkEveryMinutes: rng.pick([20, 30, 30, 45]),
    workerIds: [],
    activeFrom: opts.activeFrom,
    drivesItself: opts.drivesItself ?? true,
    audienceWeights: zipfWeights(bp.audiences.length, 1.2),
  }
  plan.agents.push(agent)
  plan.byId.set(agent.id, agent)
  return agent
}

/** The day (0-based) a benign change happens: its preferred day, or earlier in a short run. */
function benignDay(preferred: number, days: number): number | undefined {
  const day = Math.min(preferred, days - 1)
  return day >= 1 ? day : undefined
}

export function buildPlan(opts: PlanOptions): FleetPlan {
  const start = Date.parse(opts.start ?? DEFAULT_START)
  if (!Number.isFinite(start)) throw new Error(`start is not a valid time: ${opts.start}`)
  const rng = new Rng(hashSeed(opts.seed, 'plan'))
  const plan: FleetPlan = {
    seed: opts.seed,
    agentCount: opts.agents,
    days: opts.days,
    start,
    end: start + opts.days * DAY_MS,
    tenantId: TENANT_ID,
    agents: [],
    byId: new Map(),
    rollouts: [],
    newPeerAgentIds: [],
    nextNumber: new Map(),
  }

  // Rollouts: the support desk gets a summariser on the second Tuesday, devops an SBOM scanner on the
  // second Thursday (both mid-morning UTC), so they fall after the first week's baselines.
  const supportRolloutDay = benignDay(8, opts.days)
  if (supportRolloutDay !== undefined && ROLLOUTS.support) {
    plan.rollouts.push({ kind: 'support', action: ROLLOUTS.support, at: start + supportRolloutDay * DAY_MS + 9 * HOUR_MS })
  }
  const devopsRolloutDay = benignDay(10, opts.days)
  if (devopsRolloutDay !== undefined && ROLLOUTS.devops) {
    plan.rollouts.push({ kind: 'devops', action: ROLLOUTS.devops, at: start + devopsRolloutDay * DAY_MS + 14 * HOUR_MS })
  }

  // The initial fleet.
  const orchestrators = opts.agents >= 8 ? Math.max(1, Math.round(opts.agents * ORCHESTRATOR_SHARE)) : 0
  const workersOf: number[] = []
  for (let i = 0; i < orchestrators; i++) workersOf.push(2 + (rng.chance(0.6) ? 1 : 0))
  const rest = Math.max(0, opts.agents - orchestrators - workersOf.reduce((a, b) => a + b, 0))
  const counts = REST_SHARES.map(([kind, share]) => [kind, Math.floor(rest * share)] as [BlueprintKind, number])
  counts[0][1] += rest - counts.reduce((a, [, n]) => a + n, 0)
  for (const [kind, n] of counts) for (let i = 0; i < n; i++) addAgent(plan, { kind, activeFrom: start })
  for (let i = 0; i < orchestrators; i++) {
    const orch = addAgent(plan, { kind: 'orchestrator', activeFrom: start })
    for (let w = 1; w <= workersOf[i]; w++) {
      const worker = addAgent(plan, { kind: 'worker', activeFrom: start, parentId: orch.id, id: `${orch.id}-worker-${w}`, drivesItself: false })
      orch.workerIds.push(worker.id)
    }
  }

  // Incident night: ops agents work through a production incident, 01:30-03:30 UTC on the
  // second Wednesday.
  const incidentDay = benignDay(9, opts.days)
  if (incidentDay !== undefined) {
    const incidentStart = start + incidentDay * DAY_MS + 90 * MINUTE_MS
    plan.incident = {
      start: incidentStart,
      end: incidentStart + 2 * HOUR_MS,
      agentIds: new Set(plan.agents.filter((a) => a.blueprint.kind === 'devops' || a.blueprint.kind === 'monitor').map((a) => a.id)),
    }
  }

  // New agents that behave like their peers, created on the second Tuesday and Wednesday.
  const newAgentDay = benignDay(8, opts.days)
  if (newAgentDay !== undefined) {
    const kinds: BlueprintKind[] = ['support', 'batch', 'monitor', 'devops', 'hr']
    const count = Math.max(2, Math.round(opts.agents * 0.02))
    for (let i = 0; i < count; i++) {
      const day = Math.min(opts.days - 1, newAgentDay + (i % 2))
      const activeFrom = start + day * DAY_MS + rng.int(0, 23) * HOUR_MS + rng.int(0, 59) * MINUTE_MS
      const agent = addAgent(plan, { kind: kinds[i % kinds.length], activeFrom })
      plan.newPeerAgentIds.push(agent.id)
    }
  }
  return plan
}
