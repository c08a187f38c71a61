import { describe, expect, it } from 'vitest'
import { ConfigSchema, type Config } from '../../schemas/config.ts'
import type { RiskEvent } from '../../schemas/risk.ts'
import type { AuditEntry } from '../../src/api/deps.ts'
import { createLogNotifier, type Notification } from '../../src/enforcement/notifier.ts'
import { EnforcementStore, enforcementPort } from '../../src/enforcement/store.ts'
import type { EnforcementChange } from '../../src/enforcement/types.ts'
import type { ActionSink } from '../../src/sinks/types.ts'
import { log } from '../../src/util/log.ts'

const MIN = 60_000
const T0 = Date.parse('2026-03-02T09:00:00.000Z')

function policy(over: Partial<Config['policy']> = {}): Config['policy'] {
  return { ...ConfigSchema.parse({}).policy, ...over }
}

function risk(level: RiskEvent['riskLevel'], id = `r-${level}`, agentId = 'a1'): RiskEvent {
  return {
    riskEventId: id,
    tenantId: 't1',
    agentId,
    time: '2026-03-02T09:00:00.000Z',
    detectedAt: '2026-03-02T09:00:00.100Z',
    riskLevel: level,
    previousRiskLevel: 'none',
    riskScore: level === 'high' ? 90 : 60,
    detections: [{ detector: 'resource_novelty', score: 0.9, observation: 'first_seen', reason: 'first access to hr-db', evidence: {} }],
    eventIds: ['e1'],
    action: 'none',
  }
}

function setup() {
  let now = T0
  const written: EnforcementChange[] = []
  const saved: EnforcementChange[] = []
  const notified: Notification[] = []
  const audited: Omit<AuditEntry, 'at'>[] = []
  const sink: ActionSink = { name: 'mem', write: (c) => written.push(c), flush: async () => {}, close: async () => {} }
  const store = new EnforcementStore({
    sink,
    persistence: { save: (c) => saved.push(c) },
    notifier: { notify: (n) => notified.push(n) },
    audit: { record: async (e) => void audited.push(e) },
    now: () => now,
  })
  return { store, written, saved, notified, audited, advance: (ms: number) => (now += ms), at: () => now }
}

describe('EnforcementStore', () => {
  it('allows an unknown agent', () => {
    const { store } = setup()
    expect(store.get('nobody').mode).toBe('allowed')
  })

  it('quarantines on high risk with the default policy, notifies, and records the change everywhere', () => {
    const { store, written, saved, notified, audited } = setup()
    const change = store.applyRisk(risk('high'), policy())
    expect(change).toMatchObject({ agentId: 'a1', tenantId: 't1', from: 'allowed', to: 'quarantined', riskEventId: 'r-high' })
    expect(change!.state.by).toBe('policy')
    expect(change!.state.until).toBeUndefined() // quarantineMinutes null = until released
    expect(change!.state.reason).toContain('first access to hr-db')
    expect(store.get('a1').mode).toBe('quarantined')
    expect(written).toEqual([change])
    expect(saved).toEqual([change])
    expect(notified).toHaveLength(1)
    expect(notified[0]).toMatchObject({ agentId: 'a1', riskEventId: 'r-high', riskLevel: 'high', reasons: ['first access to hr-db'] })
    expect(audited).toEqual([expect.objectContaining({ actor: 'policy', role: 'system', action: 'quarantine', target: 'a1' })])
  })

  it('notify_owner alone is a notification, not a state change', () => {
    const { store, written, notified } = setup()
    expect(store.applyRisk(risk('medium'), policy())).toBeUndefined()
    expect(store.get('a1').mode).toBe('allowed')
    expect(written).toHaveLength(0)
    expect(notified).toHaveLength(1)
  })

  it('quarantine beats throttle when a level lists both', () => {
    const { store } = setup()
    const change = store.applyRisk(risk('high'), policy({ high: ['throttle', 'quarantine'] }))
    expect(change?.to).toBe('quarantined')
  })

  it('throttles with the policy rate and duration, then expires on read', () => {
    const { store, advance } = setup()
    const change = store.applyRisk(risk('medium'), policy({ medium: ['throttle'], throttle: { ratePerMinute: 7, durationMinutes: 30 } }))
    expect(change?.state).toMatchObject({ mode: 'throttled', ratePerMinute: 7, until: T0 + 30 * MIN })
    advance(30 * MIN - 1)
    expect(store.get('a1').mode).toBe('throttled')
    advance(1)
    const after = store.get('a1')
    expect(after.mode).toBe('allowed')
    expect(after.since).toBe(T0 + 30 * MIN)
  })

  it('escalates throttle to quarantine but never downgrades automatically', () => {
    const { store } = setup()
    const p = policy({ medium: ['throttle'], high: ['quarantine'] })
    expect(store.applyRisk(risk('medium', 'm1'), p)?.to).toBe('throttled')
    expect(store.applyRisk(risk('high', 'h1'), p)?.to).toBe('quarantined')
    expect(store.applyRisk(risk('medium', 'm2'), p)).toBeUndefined()
    expect(store.get('a1').mode).toBe('quarantined')
  })

  it('keeps a manual quarantine when the policy would throttle', () => {
    const { store } = setup()
    store.quarantine('a1', 'investigating', 'alice')
    expect(store.applyRisk(risk('medium'), policy({ medium: ['throttle'] }))).toBeUndefined()
    expect(store.get('a1')).toMatchObject({ mode: 'quarantined', by: 'alice', reason: 'investigating' })
  })

  it('applies a redelivered risk event once', () => {
    const { store, written, notified } = setup()
    store.applyRisk(risk('high'), policy())
    store.release('a1', 'false positive', 'bob')
    expect(store.applyRisk(risk('high'), policy())).toBeUndefined()
    expect(store.get('a1').mode).toBe('allowed')
    expect(written.map((c) => c.to)).toEqual(['quarantined', 'allowed'])
    expect(notified).toHaveLength(1)
  })

  it('gives the same change id when the same risk event is applied to a fresh store', () => {
    const a = setup().store.applyRisk(risk('high'), policy())
    const b = setup()
    b.advance(5 * MIN)
    expect(b.store.applyRisk(risk('high'), policy())?.changeId).toBe(a?.changeId)
    expect(a?.changeId).toMatch(/^chg_[0-9a-f]{32}$/)
  })

  it('manual throttle, quarantine with duration, and release', () => {
    const { store, advance, saved } = setup()
    const t = store.throttle('a1', 'noisy', 'alice', 5, 10)
    expect(t).toMatchObject({ from: 'allowed', to: 'throttled', state: { ratePerMinute: 5, until: T0 + 10 * MIN, by: 'alice' } })
    const q = store.quarantine('a1', 'worse', 'alice', 60)
    expect(q).toMatchObject({ from: 'throttled', to: 'quarantined', state: { until: T0 + 60 * MIN } })
    advance(MIN)
    const r = store.release('a1', 'cleared', 'bob')
    expect(r).toMatchObject({ from: 'quarantined', to: 'allowed', state: { by: 'bob', reason: 'cleared', since: T0 + MIN } })
    expect(new Set(saved.map((c) => c.changeId)).size).toBe(3)
    expect(store.get('a1').mode).toBe('allowed')
  })

  it('restores from recorded changes in time order, without re-emitting them', () => {
    const first = setup()
    first.store.throttle('a1', 'noisy', 'alice', 5)
    first.advance(1000)
    first.store.quarantine('a1', 'worse', 'alice')
    first.store.applyRisk(risk('high', 'h9', 'a2'), policy())
    const recorded = [...first.saved].reverse()

    const second = setup()
    second.store.restore(recorded)
    expect(second.store.get('a1')).toMatchObject({ mode: 'quarantined', reason: 'worse' })
    expect(second.store.get('a2').mode).toBe('quarantined')
    expect(second.written).toHaveLength(0)
    expect(second.saved).toHaveLength(0)
    // The restored risk event id is remembered: replaying it changes nothing.
    second.store.release('a2', 'ok', 'bob')
    expect(second.store.applyRisk(risk('high', 'h9', 'a2'), policy())).toBeUndefined()
  })

  it('a restored state that expired meanwhile reads as allowed', () => {
    const first = setup()
    first.store.quarantine('a1', 'short', 'alice', 5)
    const second = setup()
    second.advance(6 * MIN)
    second.store.restore(first.saved)
    expect(second.store.get('a1').mode).toBe('allowed')
    expect(second.store.active()).toEqual([])
  })

  it('the port adapter resolves to the same changes', async () => {
    const { store } = setup()
    const port = enforcementPort(store)
    const c = await port.quarantine('a1', 'x', 'alice')
    expect(c.to).toBe('quarantined')
    expect(port.get('a1').mode).toBe('quarantined')
    expect((await port.release('a1', 'y', 'alice')).to).toBe('allowed')
  })
})

describe('log notifier', () => {
  it('records an audit entry as the policy', async () => {
    const audited: Omit<AuditEntry, 'at'>[] = []
    const n = createLogNotifier({ audit: { record: async (e) => void audited.push(e) }, logger: log.child({}, { level: 'silent' }) })
    const s = new EnforcementStore({ notifier: n, now: () => T0 })
    s.applyRisk(risk('medium'), policy())
    expect(s.get('a1').mode).toBe('allowed')
    expect(audited).toEqual([expect.objectContaining({ actor: 'policy', role: 'system', action: 'notify_owner', target: 'a1' })])
    expect(audited[0].detail).toMatchObject({ notificationId: 'notify:r-medium', riskLevel: 'medium' })
  })
})
