import { afterEach, describe, expect, it } from 'vitest'
import { auth, T0, testApp } from './fakes.ts'

let t: ReturnType<typeof testApp>
afterEach(async () => t?.app.close())

describe('agents', () => {
  it('lists with paging and filters', async () => {
    t = testApp()
    const all = await t.app.inject({ method: 'GET', url: '/v1/agents?limit=1&offset=1', headers: auth('analyst') })
    expect(all.json()).toMatchObject({ total: 2, limit: 1, offset: 1, items: [{ agentId: 'agent-2' }] })
    const high = await t.app.inject({ method: 'GET', url: '/v1/agents?level=high', headers: auth('analyst') })
    expect(high.json().items.map((a: { agentId: string }) => a.agentId)).toEqual(['agent-2'])
    const bp = await t.app.inject({ method: 'GET', url: '/v1/agents?blueprintId=bp-1', headers: auth('analyst') })
    expect(bp.json().total).toBe(1)
  })

  it('shows one agent and its baseline; 404 for an unknown one', async () => {
    t = testApp()
    expect((await t.app.inject({ method: 'GET', url: '/v1/agents/agent-1', headers: auth('analyst') })).json().agentId).toBe('agent-1')
    const b = await t.app.inject({ method: 'GET', url: '/v1/agents/agent-1/baseline', headers: auth('analyst') })
    expect(b.json()).toMatchObject({ agentId: 'agent-1', detectors: { resource_novelty: expect.any(Object) } })
    expect((await t.app.inject({ method: 'GET', url: '/v1/agents/ghost/baseline', headers: auth('analyst') })).statusCode).toBe(404)
  })

  it('quarantine then release change the enforcement state and are audited with the key', async () => {
    t = testApp()
    const enforcement = () => t.app.inject({ method: 'GET', url: '/v1/agents/agent-1/enforcement', headers: auth('analyst') })
    expect((await enforcement()).json().mode).toBe('allowed')

    const q = await t.app.inject({ method: 'POST', url: '/v1/agents/agent-1/quarantine', headers: auth('responder'), payload: { reason: 'exfiltration suspected', durationMinutes: 30 } })
    expect(q.statusCode).toBe(200)
    expect(q.json()).toMatchObject({ from: 'allowed', to: 'quarantined', state: { by: 'responder-bob', reason: 'exfiltration suspected', until: T0 + 30 * 60_000 } })
    const state = await enforcement()
    expect(state.json()).toMatchObject({ mode: 'quarantined', by: 'responder-bob' })
    expect(state.headers['cache-control']).toBe('no-store')

    const r = await t.app.inject({ method: 'POST', url: '/v1/agents/agent-1/release', headers: auth('admin'), payload: { reason: 'owner confirmed' } })
    expect(r.json()).toMatchObject({ from: 'quarantined', to: 'allowed' })
    expect((await enforcement()).json().mode).toBe('allowed')

    expect(t.audit.map((e) => [e.actor, e.role, e.action, e.target])).toEqual([
      ['responder-bob', 'responder', 'quarantine', 'agent-1'],
      ['admin-bob', 'admin', 'release', 'agent-1'],
    ])
    expect(t.audit[0].detail).toMatchObject({ changeId: q.json().changeId, reason: 'exfiltration suspected', durationMinutes: 30 })
  })

  it('throttle uses the policy rate unless one is given', async () => {
    t = testApp()
    const d = await t.app.inject({ method: 'POST', url: '/v1/agents/agent-1/throttle', headers: auth('responder'), payload: { reason: 'noisy' } })
    expect(d.json().state).toMatchObject({ mode: 'throttled', ratePerMinute: t.config.current().policy.throttle.ratePerMinute })
    const g = await t.app.inject({ method: 'POST', url: '/v1/agents/agent-2/throttle', headers: auth('responder'), payload: { reason: 'noisy', ratePerMinute: 3 } })
    expect(g.json().state.ratePerMinute).toBe(3)
  })

  it('a blank reason is refused', async () => {
    t = testApp()
    const r = await t.app.inject({ method: 'POST', url: '/v1/agents/agent-1/release', headers: auth('responder'), payload: { reason: '   ' } })
    expect(r.statusCode).toBe(400)
    expect(r.json().issues[0].path).toBe('body.reason')
    expect(t.audit).toHaveLength(0)
  })

  it('the enforcement lookup answers from memory and is timed by the server in /metrics', async () => {
    t = testApp()
    await t.enforcement.quarantine('agent-1', 'x', 'alice')
    const n = 50
    for (let i = 0; i < n; i++) {
      const r = await t.app.inject({ method: 'GET', url: '/v1/agents/agent-1/enforcement', headers: auth('analyst') })
      expect(r.json()).toMatchObject({ agentId: 'agent-1', mode: 'quarantined' })
    }
    // The state changes the moment the store does: no cache in front of it to go stale.
    await t.enforcement.release('agent-1', 'cleared', 'alice')
    const after = await t.app.inject({ method: 'GET', url: '/v1/agents/agent-1/enforcement', headers: auth('analyst') })
    expect(after.json().mode).toBe('allowed')
    // Server time per lookup is exported for operators (its speed is a benchmark figure, not a test).
    const text = (await t.app.inject({ method: 'GET', url: '/metrics' })).body
    const label = '{method="GET",route="/v1/agents/:id/enforcement",status="200"}'
    const count = Number(new RegExp(`agentwatch_api_request_duration_seconds_count${label.replace(/[{}()]/g, '\\$&')} (\\S+)`).exec(text)?.[1])
    const sum = Number(new RegExp(`agentwatch_api_request_duration_seconds_sum${label.replace(/[{}()]/g, '\\$&')} (\\S+)`).exec(text)?.[1])
    expect(count).toBe(n + 1)
    expect(sum).toBeGreaterThan(0)
  })
})

describe('feedback', () => {
  it('reaches the port with the key name as the actor, and is audited', async () => {
    t = testApp()
    const r = await t.app.inject({
      method: 'POST',
      url: '/v1/feedback',
      headers: auth('analyst'),
      payload: { agentId: 'agent-1', riskEventId: 'risk-1', verdict: 'confirm_safe', note: 'new integration' },
    })
    expect(r.statusCode).toBe(200)
    expect(r.json()).toEqual({ applied: 'confirm_safe recorded' })
    expect(t.feedbackCalls).toEqual([{ input: { agentId: 'agent-1', riskEventId: 'risk-1', verdict: 'confirm_safe', note: 'new integration' }, by: 'analyst-bob' }])
    expect(t.audit[0]).toMatchObject({ actor: 'analyst-bob', role: 'analyst', action: 'feedback', target: 'agent-1', detail: { verdict: 'confirm_safe' } })
  })

  it('an unknown verdict lists the problem', async () => {
    t = testApp()
    const r = await t.app.inject({ method: 'POST', url: '/v1/feedback', headers: auth('analyst'), payload: { agentId: 'agent-1', verdict: 'meh' } })
    expect(r.statusCode).toBe(400)
    expect(r.json().issues.map((i: { path: string }) => i.path)).toEqual(['body.verdict'])
    expect(t.feedbackCalls).toHaveLength(0)
  })
})

describe('read endpoints', () => {
  it('risk events, dead letters and audit answer with their items', async () => {
    t = testApp()
    const risk = await t.app.inject({ method: 'GET', url: '/v1/risk-events?agentId=agent-1&level=high', headers: auth('analyst') })
    expect(risk.json().items.map((e: { riskEventId: string }) => e.riskEventId)).toEqual(['risk-1'])
    const none = await t.app.inject({ method: 'GET', url: '/v1/risk-events?agentId=agent-9', headers: auth('analyst') })
    expect(none.json().items).toEqual([])
    const dl = await t.app.inject({ method: 'GET', url: '/v1/dead-letters?limit=5', headers: auth('analyst') })
    expect(dl.json().items[0]).toMatchObject({ origin: 'http', reason: 'agent.id: required' })
    await t.app.inject({ method: 'POST', url: '/v1/agents/agent-1/quarantine', headers: auth('responder'), payload: { reason: 'x' } })
    const audit = await t.app.inject({ method: 'GET', url: '/v1/audit?target=agent-1', headers: auth('analyst') })
    expect(audit.json().items).toHaveLength(1)
  })

  it('from after to is refused', async () => {
    t = testApp()
    const r = await t.app.inject({ method: 'GET', url: '/v1/risk-events?from=2026-03-02T10:00:00Z&to=2026-03-02T09:00:00Z', headers: auth('analyst') })
    expect(r.statusCode).toBe(400)
    expect(r.json().issues).toEqual([{ path: 'query.from', message: 'from must not be after to' }])
  })
})
