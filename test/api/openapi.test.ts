import { afterEach, describe, expect, it } from 'vitest'
import { testApp } from './fakes.ts'

let t: ReturnType<typeof testApp>
afterEach(async () => t?.app.close())

describe('GET /openapi.json', () => {
  it('lists every route with its methods, schemas and security', async () => {
    t = testApp()
    const r = await t.app.inject({ method: 'GET', url: '/openapi.json' })
    expect(r.statusCode).toBe(200)
    const doc = r.json()
    expect(doc.openapi).toMatch(/^3\./)
    const routes = Object.entries(doc.paths as Record<string, Record<string, unknown>>).flatMap(([p, ops]) =>
      Object.keys(ops).map((m) => `${m.toUpperCase()} ${p}`),
    )
    expect(routes).toEqual(
      expect.arrayContaining([
        'GET /health',
        'GET /ready',
        'GET /metrics',
        'POST /v1/events',
        'GET /v1/agents',
        'GET /v1/agents/{id}',
        'GET /v1/agents/{id}/baseline',
        'GET /v1/agents/{id}/enforcement',
        'POST /v1/agents/{id}/quarantine',
        'POST /v1/agents/{id}/throttle',
        'POST /v1/agents/{id}/release',
        'GET /v1/risk-events',
        'GET /v1/risk-events/stream',
        'GET /v1/dead-letters',
        'POST /v1/feedback',
        'GET /v1/config',
        'POST /v1/config/validate',
        'PUT /v1/config',
        'GET /v1/config/versions',
        'GET /v1/audit',
      ]),
    )
    expect(doc.components.securitySchemes.bearerAuth).toMatchObject({ type: 'http', scheme: 'bearer' })
    expect(doc.paths['/v1/agents'].get.security).toEqual([{ bearerAuth: [] }])
    expect(doc.paths['/health'].get.security).toBeUndefined()
    // zod descriptions become the document's descriptions.
    const feedback = doc.paths['/v1/feedback'].post.requestBody.content['application/json'].schema
    expect(feedback.properties.verdict.description).toContain('confirm_compromised')
    expect(feedback.required).toEqual(expect.arrayContaining(['agentId', 'verdict']))
    expect(Object.keys(doc.paths['/v1/events'].post.requestBody.content)).toEqual(['application/json', 'application/x-ndjson'])
  })
})
