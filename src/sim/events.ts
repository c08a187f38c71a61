/**
 * Builders for contract events (schemas/events.ts). The simulator keeps each event's time as epoch
 * milliseconds next to it (`SimEvent.ts`) so sorting never re-parses timestamps.
 */
import type { AgentEventInput, SigninEventInput, ToolCallEventInput } from '../../schemas/events.ts'
import type { Credential } from './catalog.ts'
import type { FleetPlan, SimAction, SimAgent } from './fleet.ts'
import type { Rng } from './random.ts'

export interface SimEvent {
  /** Event time, epoch milliseconds. */
  ts: number
  event: AgentEventInput
}

/** Unique, deterministic ids: `<prefix>-<counter>`, the prefix naming the run and the stream. */
export class IdSource {
  private counter = 0
  constructor(private readonly prefix: string) {}
  next(): string {
    this.counter += 1
    return `${this.prefix}-${this.counter.toString(36).padStart(4, '0')}`
  }
}

export function agentRef(agent: SimAgent): AgentEventInput['agent'] {
  const ref: AgentEventInput['agent'] = {
    id: agent.id,
    blueprintId: agent.blueprint.id,
    ownerId: agent.ownerId,
    platform: agent.blueprint.platform,
  }
  if (agent.parentId) ref.parentId = agent.parentId
  return ref
}

export interface SigninOptions {
  traceId?: string
  userId?: string
  credential?: Credential
  network?: SigninEventInput['network']
  audience?: { resource: string; scopes: string[] }
  outcome?: 'success' | 'failure'
  failureReason?: string
}

export function signin(plan: FleetPlan, agent: SimAgent, ts: number, ids: IdSource, rng: Rng, o: SigninOptions = {}): SimEvent {
  const audience = o.audience ?? agent.blueprint.audiences[rng.weighted(agent.audienceWeights)]
  // Most token requests come from the deployment's main host, some from a sibling host.
  const network = o.network ?? {
    ip: rng.chance(0.85) ? agent.network.ip : agent.network.altIp,
    asn: agent.network.asn,
    country: agent.network.country,
    location: agent.network.location,
  }
  const event: SigninEventInput = {
    eventId: ids.next(),
    kind: 'signin',
    time: new Date(ts).toISOString(),
    tenantId: plan.tenantId,
    agent: agentRef(agent),
    credential: o.credential ?? agent.blueprint.credential,
    network,
    resource: audience.resource,
    scopes: audience.scopes.slice(),
    outcome: o.outcome ?? 'success',
  }
  if (o.failureReason) event.failureReason = o.failureReason
  if (o.userId) event.onBehalfOf = { userId: o.userId }
  if (o.traceId) event.traceId = o.traceId
  return { ts, event }
}

export interface CallOptions {
  traceId?: string
  userId?: string
  outcome?: ToolCallEventInput['outcome']
  /** Overrides the drawn volume. Items. */
  records?: number
  /** Overrides the drawn payload. Bytes. */
  bytes?: number
  /** Overrides the drawn duration. Milliseconds. */
  durationMs?: number
}

/** What a call touches; a `SimAction` or an ad-hoc action of an attack. */
export type CallTarget = Pick<SimAction, 'tool' | 'resource' | 'operation' | 'sensitivity' | 'typicalRecords' | 'bytesPerRecord' | 'durationMs'>

/** A tool call with volume and duration drawn around the agent's typical values. */
export function toolCall(plan: FleetPlan, agent: SimAgent, ts: number, target: CallTarget, ids: IdSource, rng: Rng, o: CallOptions = {}): SimEvent {
  const outcome = o.outcome ?? 'success'
  const failed = outcome !== 'success'
  const single = target.typicalRecords <= 1 && target.operation !== 'read'
  const records = o.records ?? (failed ? 0 : single ? 1 : Math.max(0, Math.round(rng.logNormal(target.typicalRecords, 0.5))))
  // Fixed overhead of about 300 bytes per response (headers, envelope) plus the payload.
  const bytes = o.bytes ?? (failed ? rng.int(120, 600) : Math.round(records * target.bytesPerRecord * rng.logNormal(1, 0.3)) + 300)
  const durationMs = o.durationMs ?? Math.round(rng.logNormal(target.durationMs, 0.5) * (failed ? 0.3 : 1))
  const event: ToolCallEventInput = {
    eventId: ids.next(),
    kind: 'tool_call',
    time: new Date(ts).toISOString(),
    tenantId: plan.tenantId,
    agent: agentRef(agent),
    tool: target.tool,
    resource: target.resource,
    operation: target.operation,
    outcome,
    records,
    bytes,
    durationMs,
  }
  if (target.sensitivity) event.sensitivity = target.sensitivity
  if (o.userId) event.onBehalfOf = { userId: o.userId }
  if (o.traceId) event.traceId = o.traceId
  return { ts, event }
}

/** Sort by event time; stable, so events of one moment keep their generation order. */
export function byTime(a: SimEvent, b: SimEvent): number {
  return a.ts - b.ts
}
