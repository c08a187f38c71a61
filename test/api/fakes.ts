/**
 * In-memory stand-ins for the service ports, so the API can be tested with app.inject() and no
 * pipeline, store or socket. Config and enforcement use the real in-memory components.
 */
import { ConfigSchema, type Role } from '../../schemas/config.ts'
import { decodeRaw } from '../../schemas/events.ts'
import type { RiskEvent } from '../../schemas/risk.ts'
import { buildApp } from '../../src/api/app.ts'
import type { AgentSummary, AppDeps, AuditEntry, DeadLetterRow, FeedbackInput, IngestOutcome } from '../../src/api/deps.ts'
import { ConfigHolder } from '../../src/config/holder.ts'
import { EnforcementStore, enforcementPort } from '../../src/enforcement/store.ts'
import type { RawMessage } from '../../src/sources/types.ts'
import { log } from '../../src/util/log.ts'

export const KEYS: Record<Role, string> = {
  analyst: 'analyst-key-0123456789',
  responder: 'responder-key-0123456789',
  operator: 'operator-key-0123456789',
  admin: 'admin-key-0123456789abc',
}
export const auth = (role: Role) => ({ authorization: `Bearer ${KEYS[role]}` })

export const T0 = Date.parse('2026-03-02T09:00:00.000Z')

export function riskEvent(over: Partial<RiskEvent> = {}): RiskEvent {
  return {
    riskEventId: 'risk-1',
    tenantId: 't1',
    agentId: 'agent-1',
    blueprintId: 'bp-1',
    time: '2026-03-02T09:00:00.000Z',
    detectedAt: '2026-03-02T09:00:00.050Z',
    riskLevel: 'high',
    previousRiskLevel: 'medium',
    riskScore: 88,
    detections: [{ detector: 'resource_novelty', score: 0.95, observation: 'first_seen', reason: 'first access to restricted hr-db', evidence: { resource: 'hr-db' } }],
    eventIds: ['e-1'],
    action: 'quarantine',
    ...over,
  }
}

export function agent(over: Partial<AgentSummary> = {}): AgentSummary {
  return {
    agentId: 'agent-1',
    tenantId: 't1',
    blueprintId: 'bp-1',
    events: 10,
    firstSeen: '2026-03-01T09:00:00.000Z',
    lastSeen: '2026-03-02T09:00:00.000Z',
    riskLevel: 'none',
    riskScore: 0,
    compromised: false,
    ...over,
  }
}

export function fakeDeps() {
  const config = new ConfigHolder(
    ConfigSchema.parse({ api: { keys: (Object.keys(KEYS) as Role[]).map((role) => ({ name: `${role}-bob`, role, key: KEYS[role] })) } }),
    { now: () => T0 },
  )
  const ingestCalls: RawMessage[][] = []
  const seen = new Set<string>()
  const feedbackCalls: { input: FeedbackInput; by: string }[] = []
  const audit: AuditEntry[] = []
  const agents: AgentSummary[] = [agent(), agent({ agentId: 'agent-2', blueprintId: 'bp-2', riskLevel: 'high', riskScore: 85 })]
  const stored: RiskEvent[] = [riskEvent()]
  const deadLetters: DeadLetterRow[] = [{ receivedAt: '2026-03-02T09:00:00.000Z', origin: 'http', reason: 'agent.id: required', payload: '{}' }]
  const listeners = new Set<(e: RiskEvent) => void>()
  let ready = false
  const enforcement = new EnforcementStore({ now: () => T0, logger: log.child({}, { level: 'silent' }) })

  const deps: AppDeps = {
    config,
    async ingest(messages) {
      ingestCalls.push(messages)
      const results: IngestOutcome[] = messages.map((m, index) => {
        const d = decodeRaw(m.value)
        if (!d.ok) return { index, status: 'rejected', reason: d.reason }
        if (seen.has(d.event.eventId)) return { index, status: 'duplicate', eventId: d.event.eventId }
        seen.add(d.event.eventId)
        return { index, status: 'accepted', eventId: d.event.eventId }
      })
      const count = (s: IngestOutcome['status']) => results.filter((r) => r.status === s).length
      return { accepted: count('accepted'), duplicates: count('duplicate'), rejected: count('rejected'), results, riskEvents: [] }
    },
    agents: {
      async list({ limit, offset, level, blueprintId }) {
        const all = agents.filter((a) => (!level || a.riskLevel === level) && (!blueprintId || a.blueprintId === blueprintId))
        return { items: all.slice(offset, offset + limit), total: all.length }
      },
      get: (id) => agents.find((a) => a.agentId === id),
      baseline: (id) => (agents.some((a) => a.agentId === id) ? { agentId: id, detectors: { resource_novelty: { resources: { 'hr-db': 1 } } } } : undefined),
    },
    riskEvents: {
      async query(f) {
        const items = stored.filter((e) => (!f.agentId || e.agentId === f.agentId) && (!f.level || e.riskLevel === f.level))
        return { items: items.slice(0, f.limit) }
      },
      subscribe(fn) {
        listeners.add(fn)
        return () => listeners.delete(fn)
      },
    },
    deadLetters: { query: async ({ limit }) => deadLetters.slice(0, limit) },
    enforcement: enforcementPort(enforcement),
    async feedback(input, by) {
      feedbackCalls.push({ input, by })
      return { applied: `${input.verdict} recorded` }
    },
    audit: {
      async record(e) {
        audit.push({ ...e, at: new Date(T0).toISOString() })
      },
      query: async ({ limit, target }) => audit.filter((e) => !target || e.target === target).slice(-limit).reverse(),
    },
    metrics: () => '# HELP agentwatch_events_total Events processed.\n# TYPE agentwatch_events_total counter\nagentwatch_events_total 42',
    ready: () => ready,
  }

  return {
    deps,
    config,
    ingestCalls,
    feedbackCalls,
    audit,
    listeners,
    enforcement,
    setReady: (v: boolean) => (ready = v),
    publish: (e: RiskEvent) => listeners.forEach((fn) => fn(e)),
  }
}

export type Fakes = ReturnType<typeof fakeDeps>

export function testApp(opts: { sseKeepAliveMs?: number; bodyLimit?: number } = {}) {
  const fakes = fakeDeps()
  const app = buildApp(fakes.deps, { logger: log.child({}, { level: 'silent' }), ...opts })
  return { app, ...fakes }
}

export function signin(eventId: string, over: Record<string, unknown> = {}) {
  return {
    eventId,
    time: '2026-03-02T09:00:00.000Z',
    tenantId: 't1',
    agent: { id: 'agent-1', blueprintId: 'bp-1' },
    kind: 'signin',
    credential: 'certificate',
    network: { ip: '10.0.0.1' },
    resource: 'graph',
    scopes: ['User.Read'],
    outcome: 'success',
    ...over,
  }
}
