/** The control API over the real service: chDB store, in-memory pipeline, no socket. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { FastifyInstance } from 'fastify'
import { buildApp } from '../../src/api/app.ts'
import { createService, type Service } from '../../src/service.ts'
import { testConfig } from '../helpers/store.ts'
import { DAY, HOUR, MINUTE, T0, toolCall } from '../../detectors/fixtures/kit.ts'
import type { AgentEvent } from '../../schemas/events.ts'

const KEYS = {
  analyst: 'analyst-key-0123456789',
  responder: 'responder-key-0123456789',
  operator: 'operator-key-0123456789',
}
const auth = (role: keyof typeof KEYS) => ({ authorization: `Bearer ${KEYS[role]}` })
const line = (e: AgentEvent) => JSON.stringify(e, (k, v) => (k === 'ts' ? undefined : v))

let service: Service
let app: FastifyInstance
beforeAll(async () => {
  service = await createService(
    testConfig({
      api: {
        keys: [
          { name: 'ana', role: 'analyst', key: KEYS.analyst },
          { name: 'rex', role: 'responder', key: KEYS.responder },
          { name: 'ops', role: 'operator', key: KEYS.operator },
        ],
      },
    }),
  )
  await service.start()
  app = buildApp(service.deps)
  await app.ready()
})
afterAll(async () => {
  await app.close()
  await service.stop()
})

function history(agentId: string): AgentEvent[] {
  const out: AgentEvent[] = []
  for (let d = 0; d < 10; d++) for (let m = 0; m < 8 * 60; m += 15) out.push(toolCall(T0 + d * DAY + 9 * HOUR + m * MINUTE, { agent: { id: agentId } }))
  return out
}

describe('control API over the service', () => {
  it('ingests NDJSON, answers per event, and keeps the rejected one as a dead letter', async () => {
    const body = [...history('api-agent').map(line), '{"kind":"tool_call","eventId":"broken"}'].join('\n')
    const res = await app.inject({ method: 'POST', url: '/v1/events', headers: { ...auth('operator'), 'content-type': 'application/x-ndjson' }, payload: body })
    expect(res.statusCode).toBe(200)
    const json = res.json()
    expect(json.accepted).toBe(320)
    expect(json.rejected).toBe(1)
    const rejected = json.results.find((r: { status: string }) => r.status === 'rejected')
    expect(rejected.reason).toContain('agent: required')

    const dl = await app.inject({ method: 'GET', url: '/v1/dead-letters', headers: auth('analyst') })
    expect(dl.statusCode).toBe(200)
    expect(JSON.stringify(dl.json())).toContain('broken')
  })

  it('refuses ingest without a key (401) and with an analyst key (403)', async () => {
    const payload = [line(toolCall(T0))]
    expect((await app.inject({ method: 'POST', url: '/v1/events', payload })).statusCode).toBe(401)
    expect((await app.inject({ method: 'POST', url: '/v1/events', headers: auth('analyst'), payload })).statusCode).toBe(403)
  })

  it('raises risk on an attack, lists it, and shows the agent and its baseline', async () => {
    const attack = toolCall(T0 + 10 * DAY + 3 * HOUR, { agent: { id: 'api-agent' }, resource: 'sql://hr/salaries', sensitivity: 'restricted', tool: 'sql.query' })
    const res = await app.inject({ method: 'POST', url: '/v1/events', headers: auth('operator'), payload: [JSON.parse(line(attack))] })
    expect(res.json().accepted).toBe(1)

    const risk = await app.inject({ method: 'GET', url: '/v1/risk-events?agentId=api-agent&limit=5', headers: auth('analyst') })
    expect(risk.statusCode).toBe(200)
    const [latest] = risk.json().items
    expect(['medium', 'high']).toContain(latest.riskLevel)
    expect(latest.eventIds).toContain(attack.eventId)

    const agent = await app.inject({ method: 'GET', url: '/v1/agents/api-agent', headers: auth('analyst') })
    expect(agent.json()).toMatchObject({ agentId: 'api-agent', riskLevel: latest.riskLevel })
    const baseline = await app.inject({ method: 'GET', url: '/v1/agents/api-agent/baseline', headers: auth('analyst') })
    expect(baseline.statusCode).toBe(200)
    expect(JSON.stringify(baseline.json())).toContain('sharepoint://sites/support')
    // Tables read as key -> [count, first seen ms, last seen ms], as they are saved.
    const [count, first, last] = baseline.json().detectors.resource_novelty.res['sharepoint://sites/support']
    expect(count).toBeGreaterThan(0)
    expect(first).toBeLessThanOrEqual(last)
    // Counts read as numbers here, though they are saved as base64.
    const hours = baseline.json().detectors.time_of_week.hours
    expect(hours).toHaveLength(168)
    expect(hours.every((n: unknown) => Number.isInteger(n))).toBe(true)
    expect(hours.reduce((a: number, b: number) => a + b, 0)).toBeGreaterThan(0)
  })

  it('feedback confirm_safe teaches the baseline and resets risk; the actor is audited', async () => {
    const res = await app.inject({ method: 'POST', url: '/v1/feedback', headers: auth('analyst'), payload: { agentId: 'api-agent', verdict: 'confirm_safe', note: 'payroll run' } })
    expect(res.statusCode).toBe(200)
    expect(service.pipeline.baselines.agents.get('api-agent')!.risk.level).toBe('none')
    expect(JSON.stringify(service.pipeline.baselines.agents.get('api-agent')!.states)).toContain('sql://hr/salaries')
    const audit = await app.inject({ method: 'GET', url: '/v1/audit?target=api-agent', headers: auth('analyst') })
    expect(audit.json().items ?? audit.json()).toEqual(expect.arrayContaining([expect.objectContaining({ actor: 'ana', action: 'feedback' })]))
  })

  it('feedback on an unknown agent is 404, not 500', async () => {
    const res = await app.inject({ method: 'POST', url: '/v1/feedback', headers: auth('analyst'), payload: { agentId: 'nobody', verdict: 'dismiss' } })
    expect(res.statusCode).toBe(404)
  })

  it('quarantine and release by a responder change what an enforcement point reads', async () => {
    // The attack above already quarantined the agent automatically (policy: high -> quarantine).
    const auto = await app.inject({ method: 'GET', url: '/v1/agents/api-agent/enforcement', headers: auth('analyst') })
    expect(auto.json()).toMatchObject({ mode: 'quarantined', by: 'policy' })
    const denied = await app.inject({ method: 'POST', url: '/v1/agents/api-agent/quarantine', headers: auth('analyst'), payload: { reason: 'x' } })
    expect(denied.statusCode).toBe(403)
    const q = await app.inject({ method: 'POST', url: '/v1/agents/api-agent/quarantine', headers: auth('responder'), payload: { reason: 'suspicious export' } })
    expect(q.statusCode).toBe(200)
    const state = await app.inject({ method: 'GET', url: '/v1/agents/api-agent/enforcement', headers: auth('analyst') })
    expect(state.json()).toMatchObject({ mode: 'quarantined', by: 'rex', reason: 'suspicious export' })
    const r = await app.inject({ method: 'POST', url: '/v1/agents/api-agent/release', headers: auth('responder'), payload: { reason: 'cleared' } })
    expect(r.statusCode).toBe(200)
    const rows = await service.store.select<{ to_mode: string; by: string }>(`SELECT to_mode, by FROM agentwatch.enforcement_actions WHERE agent_id = 'api-agent' AND by = 'rex' ORDER BY at`)
    expect(rows).toEqual([
      { to_mode: 'quarantined', by: 'rex' },
      { to_mode: 'allowed', by: 'rex' },
    ])
  })

  it('an operator tunes a threshold through the API; the pipeline uses it and the version is stored', async () => {
    const bad = await app.inject({ method: 'PUT', url: '/v1/config', headers: auth('operator'), payload: { risk: { thresholds: { low: 'high' } } } })
    expect(bad.statusCode).toBe(400)
    const ok = await app.inject({ method: 'PUT', url: '/v1/config', headers: auth('operator'), payload: { risk: { halfLifeMinutes: 30 } } })
    expect(ok.statusCode).toBe(200)
    expect(service.config.current().risk.halfLifeMinutes).toBe(30)
    const versions = await service.store.loadConfigVersions()
    expect(versions[versions.length - 1].config.risk.halfLifeMinutes).toBe(30)
  })

  it('serves its heap against the limit in /metrics, so a fleet outgrowing --max-old-space-size can be alerted on', async () => {
    const text = (await app.inject({ method: 'GET', url: '/metrics' })).body
    const value = (name: string) => Number(new RegExp(`^${name} ([0-9.e+]+)$`, 'm').exec(text)?.[1])
    expect(value('agentwatch_heap_used_bytes')).toBeGreaterThan(0)
    expect(value('agentwatch_heap_limit_bytes')).toBeGreaterThan(value('agentwatch_heap_used_bytes'))
  })
})
