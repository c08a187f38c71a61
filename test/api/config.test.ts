import { afterEach, describe, expect, it } from 'vitest'
import { REDACTED } from '../../src/api/routes/config.ts'
import { auth, KEYS, testApp } from './fakes.ts'

let t: ReturnType<typeof testApp>
afterEach(async () => t?.app.close())

describe('config endpoints', () => {
  it('GET redacts every API key', async () => {
    t = testApp()
    const r = await t.app.inject({ method: 'GET', url: '/v1/config', headers: auth('analyst') })
    expect(r.statusCode).toBe(200)
    expect(r.json().api.keys.map((k: { key: string }) => k.key)).toEqual([REDACTED, REDACTED, REDACTED, REDACTED])
    for (const key of Object.values(KEYS)) expect(r.body).not.toContain(key)
  })

  it('validate answers ok for a good partial config and changes nothing', async () => {
    t = testApp()
    const r = await t.app.inject({ method: 'POST', url: '/v1/config/validate', headers: auth('operator'), payload: { risk: { thresholds: { high: 90 } } } })
    expect(r.json()).toEqual({ ok: true })
    expect(t.config.current().risk.thresholds.high).toBe(80)
  })

  it('validate lists every problem with its path', async () => {
    t = testApp()
    const r = await t.app.inject({
      method: 'POST',
      url: '/v1/config/validate',
      headers: auth('operator'),
      payload: { risk: { thresholds: { low: 95 }, halfLifeMinutes: -1 }, policy: { high: ['explode'] }, colour: 'red' },
    })
    expect(r.statusCode).toBe(200)
    const body = r.json()
    expect(body.ok).toBe(false)
    expect(body.issues.map((i: { path: string }) => i.path).sort()).toEqual(['colour', 'policy.high.0', 'risk.halfLifeMinutes', 'risk.thresholds'])
  })

  it('PUT deep-merges a partial update, records a version and an audit entry', async () => {
    t = testApp()
    const r = await t.app.inject({ method: 'PUT', url: '/v1/config', headers: auth('operator'), payload: { risk: { thresholds: { high: 90 } }, policy: { medium: ['throttle'] } } })
    expect(r.statusCode).toBe(200)
    expect(r.json()).toEqual({ ok: true, version: 2 })
    const c = t.config.current()
    expect(c.risk.thresholds).toEqual({ low: 25, medium: 50, high: 90 })
    expect(c.policy.medium).toEqual(['throttle'])
    expect(c.policy.high).toEqual(['notify_owner', 'quarantine'])

    const v = await t.app.inject({ method: 'GET', url: '/v1/config/versions', headers: auth('analyst') })
    const items = v.json().items
    expect(items.map((x: { version: number; by: string }) => [x.version, x.by])).toEqual([[1, 'startup'], [2, 'operator-bob']])
    expect(items[1].config.risk.thresholds.high).toBe(90)
    expect(items[1].config.api.keys[0].key).toBe(REDACTED)

    expect(t.audit).toEqual([
      expect.objectContaining({ actor: 'operator-bob', role: 'operator', action: 'config.update', target: 'config', detail: { version: 2, paths: ['risk.thresholds.high', 'policy.medium'] } }),
    ])
  })

  it('PUT of an invalid config is 400 with every issue and keeps the running config', async () => {
    t = testApp()
    const before = t.config.current()
    const r = await t.app.inject({ method: 'PUT', url: '/v1/config', headers: auth('admin'), payload: { risk: { minFindingScore: 3 }, api: { port: 'eighty' } } })
    expect(r.statusCode).toBe(400)
    expect(r.json()).toMatchObject({ error: 'invalid_config' })
    expect(r.json().issues.map((i: { path: string }) => i.path).sort()).toEqual(['api.port', 'risk.minFindingScore'])
    expect(t.config.current()).toBe(before)
    expect(t.audit).toHaveLength(0)
  })

  it('a config read, edited and written back keeps the redacted secrets', async () => {
    t = testApp()
    const cfg = (await t.app.inject({ method: 'GET', url: '/v1/config', headers: auth('admin') })).json()
    cfg.demo = true
    const r = await t.app.inject({ method: 'PUT', url: '/v1/config', headers: auth('admin'), payload: cfg })
    expect(r.statusCode).toBe(200)
    expect(t.config.current().demo).toBe(true)
    expect(t.config.current().api.keys.map((k) => k.key)).toEqual(Object.values(KEYS))
    // The same keys still authenticate.
    expect((await t.app.inject({ method: 'GET', url: '/v1/agents', headers: auth('analyst') })).statusCode).toBe(200)
  })

  it('a redacted key under a new name cannot be restored', async () => {
    t = testApp()
    const r = await t.app.inject({ method: 'PUT', url: '/v1/config', headers: auth('admin'), payload: { api: { keys: [{ name: 'mallory', role: 'admin', key: REDACTED }] } } })
    expect(r.statusCode).toBe(400)
    expect(r.json().issues).toEqual([{ path: 'api.keys.0.key', message: expect.stringContaining('mallory') }])
  })
})
