import type { Readable } from 'node:stream'
import { afterEach, describe, expect, it } from 'vitest'
import { auth, riskEvent, testApp } from './fakes.ts'

let t: ReturnType<typeof testApp>
afterEach(async () => t?.app.close())

/** Read the stream until `done(text)` holds; fails after 2 s. */
function readUntil(stream: Readable, done: (text: string) => boolean): Promise<string> {
  return new Promise((resolve, reject) => {
    let text = ''
    const timer = setTimeout(() => reject(new Error(`timed out; got ${JSON.stringify(text)}`)), 2000)
    stream.on('data', (chunk: Buffer) => {
      text += chunk.toString('utf8')
      if (done(text)) {
        clearTimeout(timer)
        stream.removeAllListeners('data')
        resolve(text)
      }
    })
  })
}

async function open(query = '') {
  const r = await t.app.inject({ method: 'GET', url: `/v1/risk-events/stream${query}`, headers: auth('analyst'), payloadAsStream: true })
  return r
}

describe('GET /v1/risk-events/stream', () => {
  it('delivers a published risk event as an SSE message', async () => {
    t = testApp()
    const r = await open()
    expect(r.statusCode).toBe(200)
    expect(r.headers['content-type']).toBe('text/event-stream; charset=utf-8')
    expect(t.listeners.size).toBe(1)
    const stream = r.stream()
    const got = readUntil(stream, (s) => s.includes('event: risk'))
    t.publish(riskEvent({ riskEventId: 'risk-42' }))
    const text = await got
    const message = text.split('\n\n').find((m) => m.includes('event: risk'))!
    expect(message).toContain('id: risk-42')
    const data = message.split('\n').find((l) => l.startsWith('data: '))!.slice('data: '.length)
    expect(JSON.parse(data)).toEqual(riskEvent({ riskEventId: 'risk-42' }))
  })

  it('filters by agent and minimum level', async () => {
    t = testApp()
    const r = await open('?agentId=agent-1&level=medium')
    const got = readUntil(r.stream(), (s) => s.includes('id: wanted'))
    t.publish(riskEvent({ riskEventId: 'other-agent', agentId: 'agent-2' }))
    t.publish(riskEvent({ riskEventId: 'too-low', riskLevel: 'low' }))
    t.publish(riskEvent({ riskEventId: 'wanted', riskLevel: 'medium' }))
    const text = await got
    expect(text).not.toContain('other-agent')
    expect(text).not.toContain('too-low')
  })

  it('sends keep-alive comments', async () => {
    t = testApp({ sseKeepAliveMs: 20 })
    const r = await open()
    const text = await readUntil(r.stream(), (s) => s.includes(': keep-alive'))
    expect(text).toMatch(/^retry: \d+\n: connected\n\n/)
  })

  it('unsubscribes when the server closes, without waiting for the client', async () => {
    t = testApp()
    await open()
    await open()
    expect(t.listeners.size).toBe(2)
    await t.app.close()
    expect(t.listeners.size).toBe(0)
  })

  it('unsubscribes when the client goes away', async () => {
    t = testApp()
    const r = await open()
    expect(t.listeners.size).toBe(1)
    r.raw.res.destroy()
    await new Promise((resolve) => setImmediate(resolve))
    expect(t.listeners.size).toBe(0)
  })

  it('requires a key', async () => {
    t = testApp()
    const r = await t.app.inject({ method: 'GET', url: '/v1/risk-events/stream' })
    expect(r.statusCode).toBe(401)
    expect(t.listeners.size).toBe(0)
  })
})
