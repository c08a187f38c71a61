import { afterEach, describe, expect, it } from 'vitest'
import { auth, testApp } from './fakes.ts'

let t: ReturnType<typeof testApp>
afterEach(async () => t?.app.close())

describe('bad input is a 4xx with every problem listed', () => {
  it('400 for an invalid body, listing each field', async () => {
    t = testApp()
    const r = await t.app.inject({
      method: 'POST',
      url: '/v1/agents/agent-1/throttle',
      headers: auth('responder'),
      payload: { ratePerMinute: -3, durationMinutes: 'long', colour: 'red' },
    })
    expect(r.statusCode).toBe(400)
    const body = r.json()
    expect(body.error).toBe('bad_request')
    const paths = body.issues.map((i: { path: string }) => i.path)
    expect(paths).toEqual(expect.arrayContaining(['body.reason', 'body.ratePerMinute', 'body.durationMinutes']))
    expect(body.issues.length).toBeGreaterThanOrEqual(4) // plus the unknown key
    expect(body.issues.find((i: { path: string }) => i.path === 'body.reason').message).toBe('required')
    expect(t.enforcement.get('agent-1').mode).toBe('allowed')
  })

  it('400 for invalid query parameters, listing each', async () => {
    t = testApp()
    const r = await t.app.inject({ method: 'GET', url: '/v1/risk-events?limit=5000&level=severe&from=yesterday', headers: auth('analyst') })
    expect(r.statusCode).toBe(400)
    const paths = r.json().issues.map((i: { path: string }) => i.path).sort()
    expect(paths).toEqual(['query.from', 'query.level', 'query.limit'])
  })

  it('400, not 500, for malformed JSON', async () => {
    t = testApp()
    const r = await t.app.inject({
      method: 'POST',
      url: '/v1/feedback',
      headers: { ...auth('analyst'), 'content-type': 'application/json' },
      payload: '{"agentId": "a1", "verdict": ',
    })
    expect(r.statusCode).toBe(400)
    expect(r.json()).toMatchObject({ error: 'bad_request', message: expect.any(String) })
    expect(t.feedbackCalls).toHaveLength(0)
  })

  it('413 for a body over the limit', async () => {
    t = testApp({ bodyLimit: 1024 })
    const r = await t.app.inject({
      method: 'POST',
      url: '/v1/feedback',
      headers: auth('analyst'),
      payload: { agentId: 'a1', verdict: 'dismiss', note: 'x'.repeat(2000) },
    })
    expect(r.statusCode).toBe(413)
    expect(r.json().error).toBe('payload_too_large')
  })

  it('415 for an unsupported content type', async () => {
    t = testApp()
    const r = await t.app.inject({ method: 'POST', url: '/v1/feedback', headers: { ...auth('analyst'), 'content-type': 'application/xml' }, payload: '<a/>' })
    expect(r.statusCode).toBe(415)
    expect(r.json().error).toBe('unsupported_media_type')
  })

  it('404 in the same shape for an unknown route and an unknown agent', async () => {
    t = testApp()
    const route = await t.app.inject({ method: 'GET', url: '/v1/nothing', headers: auth('analyst') })
    const agent = await t.app.inject({ method: 'GET', url: '/v1/agents/ghost', headers: auth('analyst') })
    for (const r of [route, agent]) {
      expect(r.statusCode).toBe(404)
      expect(r.json()).toMatchObject({ error: 'not_found', message: expect.any(String) })
    }
  })

  it('router errors use the same shape: bad URL encoding, overlong agent id', async () => {
    t = testApp()
    const bad = await t.app.inject({ method: 'GET', url: '/v1/agents/%E0%A4%A', headers: auth('analyst') })
    expect(bad.statusCode).toBe(400)
    expect(bad.json()).toEqual({ error: 'bad_request', message: expect.any(String) })
    const long = await t.app.inject({ method: 'GET', url: `/v1/agents/${'x'.repeat(600)}`, headers: auth('analyst') })
    expect(long.statusCode).toBe(414)
    expect(long.json().error).toBe('uri_too_long')
    // An id at the contract's 512-character limit reaches the route.
    const max = await t.app.inject({ method: 'GET', url: `/v1/agents/${'x'.repeat(512)}/enforcement`, headers: auth('analyst') })
    expect(max.statusCode).toBe(200)
  })

  it('500 hides the fault from the caller', async () => {
    t = testApp()
    t.deps.audit.query = async () => {
      throw new Error('clickhouse down at 10.0.0.7')
    }
    const r = await t.app.inject({ method: 'GET', url: '/v1/audit', headers: auth('analyst') })
    expect(r.statusCode).toBe(500)
    expect(r.json()).toEqual({ error: 'internal', message: 'internal error; see the service log' })
  })
})
