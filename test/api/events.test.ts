import { afterEach, describe, expect, it } from 'vitest'
import { auth, signin, testApp } from './fakes.ts'

let t: ReturnType<typeof testApp>
afterEach(async () => t?.app.close())

describe('POST /v1/events', () => {
  it('answers per event: accepted, duplicate, rejected with the reason', async () => {
    t = testApp()
    const body = [signin('e1'), signin('e1'), signin('e2', { network: { ip: 'not-an-ip' } }), 17]
    const r = await t.app.inject({ method: 'POST', url: '/v1/events', headers: auth('operator'), payload: body })
    expect(r.statusCode).toBe(200)
    const res = r.json()
    expect(res).toMatchObject({ accepted: 1, duplicates: 1, rejected: 2, riskEvents: [] })
    expect(res.results.map((x: { status: string }) => x.status)).toEqual(['accepted', 'duplicate', 'rejected', 'rejected'])
    expect(res.results[2].reason).toContain('network.ip')
    // Each element reaches the pipeline as its own JSON text, marked as coming over HTTP.
    expect(t.ingestCalls).toHaveLength(1)
    expect(t.ingestCalls[0]).toHaveLength(4)
    expect(t.ingestCalls[0][0]).toEqual({ value: JSON.stringify(signin('e1')), origin: 'http' })
    expect(t.ingestCalls[0][3].value).toBe('17')
  })

  it('accepts NDJSON, skipping blank lines and reporting line numbers', async () => {
    t = testApp()
    const text = `${JSON.stringify(signin('e1'))}\r\n\n{not json\n${JSON.stringify(signin('e2'))}\n`
    const r = await t.app.inject({ method: 'POST', url: '/v1/events', headers: { ...auth('admin'), 'content-type': 'application/x-ndjson' }, payload: text })
    expect(r.statusCode).toBe(200)
    const res = r.json()
    expect(res.results).toEqual([
      { index: 0, line: 1, status: 'accepted', eventId: 'e1' },
      { index: 1, line: 3, status: 'rejected', reason: expect.stringContaining('not valid JSON') },
      { index: 2, line: 4, status: 'accepted', eventId: 'e2' },
    ])
    // The bad line is passed on exactly as sent, for its dead letter.
    expect(t.ingestCalls[0][1]).toEqual({ value: '{not json', origin: 'http' })
  })

  it('400 when no line of an NDJSON body is JSON, and when JSON is not an array', async () => {
    t = testApp()
    const ndjson = await t.app.inject({ method: 'POST', url: '/v1/events', headers: { ...auth('operator'), 'content-type': 'application/x-ndjson' }, payload: 'a\nb\n' })
    expect(ndjson.statusCode).toBe(400)
    const object = await t.app.inject({ method: 'POST', url: '/v1/events', headers: auth('operator'), payload: signin('e1') })
    expect(object.statusCode).toBe(400)
    expect(object.json().error).toBe('bad_request')
    const broken = await t.app.inject({ method: 'POST', url: '/v1/events', headers: { ...auth('operator'), 'content-type': 'application/json' }, payload: '[{"eventId":' })
    expect(broken.statusCode).toBe(400)
    expect(t.ingestCalls).toHaveLength(0)
  })

  it('records the batch in the audit trail with the key name', async () => {
    t = testApp()
    await t.app.inject({ method: 'POST', url: '/v1/events', headers: auth('operator'), payload: [signin('e1')] })
    expect(t.audit).toEqual([
      expect.objectContaining({ actor: 'operator-bob', role: 'operator', action: 'ingest', detail: expect.objectContaining({ accepted: 1, rejected: 0 }) }),
    ])
  })

  it('an empty array is an empty answer without calling the pipeline', async () => {
    t = testApp()
    const r = await t.app.inject({ method: 'POST', url: '/v1/events', headers: auth('operator'), payload: [] })
    expect(r.statusCode).toBe(200)
    expect(r.json()).toMatchObject({ accepted: 0, results: [] })
    expect(t.ingestCalls).toHaveLength(0)
  })
})
