import { afterEach, describe, expect, it } from 'vitest'
import { auth, KEYS, testApp } from './fakes.ts'

let t: ReturnType<typeof testApp>
afterEach(async () => t?.app.close())

describe('authentication and roles', () => {
  it('401 with WWW-Authenticate when the key is missing', async () => {
    t = testApp()
    const r = await t.app.inject({ method: 'GET', url: '/v1/agents' })
    expect(r.statusCode).toBe(401)
    expect(r.headers['www-authenticate']).toBe('Bearer realm="agentwatch"')
    expect(r.json()).toMatchObject({ error: 'unauthorized' })
  })

  it('401 for an unknown key, and for a known key with a different scheme', async () => {
    t = testApp()
    const wrong = await t.app.inject({ method: 'GET', url: '/v1/agents', headers: { authorization: 'Bearer not-a-configured-key-at-all' } })
    expect(wrong.statusCode).toBe(401)
    expect(wrong.headers['www-authenticate']).toContain('error="invalid_token"')
    const basic = await t.app.inject({ method: 'GET', url: '/v1/agents', headers: { authorization: `Basic ${KEYS.admin}` } })
    expect(basic.statusCode).toBe(401)
  })

  it('403 for an analyst on actions, config changes and ingest', async () => {
    t = testApp()
    const h = { ...auth('analyst'), 'content-type': 'application/json' }
    const quarantine = await t.app.inject({ method: 'POST', url: '/v1/agents/agent-1/quarantine', headers: h, payload: { reason: 'x' } })
    const config = await t.app.inject({ method: 'PUT', url: '/v1/config', headers: h, payload: { demo: true } })
    const ingest = await t.app.inject({ method: 'POST', url: '/v1/events', headers: h, payload: [] })
    for (const r of [quarantine, config, ingest]) {
      expect(r.statusCode).toBe(403)
      expect(r.json().error).toBe('forbidden')
    }
    expect(t.enforcement.get('agent-1').mode).toBe('allowed')
    expect(t.config.current().demo).toBe(false)
    expect(t.ingestCalls).toHaveLength(0)
  })

  it('403 for a responder on config and an operator on actions', async () => {
    t = testApp()
    const config = await t.app.inject({ method: 'POST', url: '/v1/config/validate', headers: auth('responder'), payload: {} })
    const act = await t.app.inject({ method: 'POST', url: '/v1/agents/agent-1/throttle', headers: auth('operator'), payload: { reason: 'x' } })
    expect(config.statusCode).toBe(403)
    expect(act.statusCode).toBe(403)
  })

  it('checks the key before the body: no key and a malformed body is 401', async () => {
    t = testApp()
    const r = await t.app.inject({ method: 'POST', url: '/v1/feedback', headers: { 'content-type': 'application/json' }, payload: '{nope' })
    expect(r.statusCode).toBe(401)
  })

  it('reads keys at request time: a config update revokes and adds keys at once', async () => {
    t = testApp()
    const newKey = 'rotated-analyst-key-0001'
    const put = await t.app.inject({
      method: 'PUT',
      url: '/v1/config',
      headers: auth('admin'),
      payload: { api: { keys: [{ name: 'root', role: 'admin', key: KEYS.admin }, { name: 'carol', role: 'analyst', key: newKey }] } },
    })
    expect(put.statusCode).toBe(200)
    const old = await t.app.inject({ method: 'GET', url: '/v1/agents', headers: auth('analyst') })
    expect(old.statusCode).toBe(401)
    const fresh = await t.app.inject({ method: 'GET', url: '/v1/agents', headers: { authorization: `Bearer ${newKey}` } })
    expect(fresh.statusCode).toBe(200)
  })

  it('health, readiness, metrics and the OpenAPI document need no key', async () => {
    t = testApp()
    for (const url of ['/health', '/metrics', '/openapi.json']) {
      expect((await t.app.inject({ method: 'GET', url })).statusCode).toBe(200)
    }
    expect((await t.app.inject({ method: 'GET', url: '/ready' })).statusCode).toBe(503)
    t.setReady(true)
    const ready = await t.app.inject({ method: 'GET', url: '/ready' })
    expect(ready.statusCode).toBe(200)
    expect(ready.json()).toEqual({ ready: true })
  })
})
