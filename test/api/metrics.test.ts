import { afterEach, describe, expect, it } from 'vitest'
import { auth, testApp } from './fakes.ts'

let t: ReturnType<typeof testApp>
afterEach(async () => t?.app.close())

describe('GET /metrics', () => {
  it('serves the service metrics and the API counters in Prometheus text format', async () => {
    t = testApp()
    await t.app.inject({ method: 'GET', url: '/v1/agents/agent-1', headers: auth('analyst') })
    await t.app.inject({ method: 'GET', url: '/v1/agents/agent-2', headers: auth('analyst') })
    await t.app.inject({ method: 'GET', url: '/v1/agents' })
    const r = await t.app.inject({ method: 'GET', url: '/metrics' })
    expect(r.statusCode).toBe(200)
    expect(r.headers['content-type']).toBe('text/plain; version=0.0.4; charset=utf-8')
    const text = r.body
    expect(text.endsWith('\n')).toBe(true)
    expect(text).toContain('agentwatch_events_total 42\n')
    // Labelled by route pattern, not by URL.
    expect(text).toContain('agentwatch_api_requests_total{method="GET",route="/v1/agents/:id",status="200"} 2\n')
    expect(text).toContain('agentwatch_api_requests_total{method="GET",route="/v1/agents",status="401"} 1\n')
    expect(text).toContain('# TYPE agentwatch_api_request_duration_seconds summary')
    // Every sample line is `name{labels} value` or `name value`.
    for (const line of text.trimEnd().split('\n')) {
      if (line.startsWith('#')) expect(line).toMatch(/^# (HELP|TYPE) [a-z_]+ .+/)
      else expect(line).toMatch(/^[a-zA-Z_:][a-zA-Z0-9_:]*(\{[^}]*\})? -?[0-9.e+-]+$/)
    }
  })
})
