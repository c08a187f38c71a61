import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { decodeRaw } from '../../schemas/events.ts'
import { jsonSchemas } from '../../schemas/generate.ts'
import { RiskEventSchema } from '../../schemas/risk.ts'

const signin = {
  eventId: 'e-1',
  kind: 'signin',
  time: '2026-03-02T09:15:00.000Z',
  tenantId: 't-1',
  agent: { id: 'agent-1', blueprintId: 'bp-1' },
  credential: 'certificate',
  network: { ip: '20.42.1.7', asn: 8075, country: 'US' },
  resource: 'https://graph.microsoft.com',
  scopes: ['Mail.Read'],
  outcome: 'success',
}
const toolCall = {
  eventId: 'e-2',
  kind: 'tool_call',
  time: '2026-03-02T09:16:00.123Z',
  tenantId: 't-1',
  agent: { id: 'agent-1', parentId: 'orchestrator-1' },
  onBehalfOf: { userId: 'user-7' },
  traceId: 'trace-9',
  tool: 'sql.query',
  resource: 'sql://hr/people',
  operation: 'read',
  sensitivity: 'restricted',
  outcome: 'success',
  records: 12,
  bytes: 4096,
  durationMs: 35.5,
}

const reason = (v: unknown) => {
  const r = decodeRaw(JSON.stringify(v))
  return r.ok ? 'accepted' : r.reason
}

describe('event contract v1', () => {
  it('accepts both kinds and derives event time in epoch ms', () => {
    const r = decodeRaw(JSON.stringify(toolCall))
    expect(r.ok && r.event.ts).toBe(Date.parse('2026-03-02T09:16:00.123Z'))
    expect(reason(signin)).toBe('accepted')
  })

  it('tolerates and drops unknown extra fields', () => {
    const r = decodeRaw(JSON.stringify({ ...signin, vendorField: { x: 1 }, agent: { ...signin.agent, color: 'blue' } }))
    expect(r.ok).toBe(true)
    expect(r.ok && 'vendorField' in r.event).toBe(false)
    expect(r.ok && 'color' in r.event.agent).toBe(false)
  })

  it.each([
    [{ ...toolCall, kind: 'login' }, 'kind: kind must be "signin" or "tool_call"'],
    [{ ...toolCall, eventId: undefined }, 'eventId: required'],
    [{ ...toolCall, eventId: '' }, 'eventId: eventId must be a non-empty string'],
    [{ ...toolCall, time: '2026-03-02 09:16:00' }, 'time: time must be an RFC 3339 UTC timestamp'],
    [{ ...toolCall, time: '2026-03-02T10:16:00.000+01:00' }, 'time: time must be an RFC 3339 UTC timestamp'],
    [{ ...toolCall, agent: {} }, 'agent.id: required'],
    [{ ...toolCall, operation: 'rm -rf' }, 'operation: Invalid option'],
    [{ ...toolCall, records: -3 }, 'records:'],
    [{ ...toolCall, records: '12' }, 'records: Invalid input: expected number, received string'],
    [{ ...signin, network: { ip: '999.1.1.1' } }, 'network.ip: network.ip must be an IPv4 or IPv6 address'],
    [{ ...signin, network: { ip: '10.0.0.1', country: 'USA' } }, 'network.country: network.country must be an ISO 3166-1 alpha-2 code'],
    [{ ...signin, credential: 'password' }, 'credential: Invalid option'],
    [{ ...signin, scopes: 'Mail.Read' }, 'scopes: Invalid input: expected array'],
  ])('rejects %j with a precise reason', (event, expected) => {
    expect(reason(event)).toContain(expected)
  })

  it('lists every problem of an event, not just the first', () => {
    const r = reason({ kind: 'tool_call', time: 'now', agent: {} })
    for (const path of ['eventId', 'time', 'tenantId', 'agent.id', 'tool', 'resource', 'operation', 'outcome']) expect(r).toContain(`${path}:`)
  })

  it('rejects what is not JSON, or not an object', () => {
    expect(decodeRaw('null')).toMatchObject({ ok: false })
    expect(decodeRaw('{"kind":')).toMatchObject({ ok: false, reason: expect.stringContaining('not valid JSON') })
    expect(decodeRaw('[1,2]')).toMatchObject({ ok: false })
  })
})

describe('published JSON Schemas', () => {
  it('are up to date with the zod schemas (run npm run schemas)', () => {
    for (const [name, text] of Object.entries(jsonSchemas())) {
      expect(readFileSync(join(import.meta.dirname, '../../schemas/json', name), 'utf8'), name).toBe(text)
    }
  })

  it('describe the risk event a subscriber receives', () => {
    const schema = JSON.parse(jsonSchemas()['risk-event.schema.json'])
    expect(schema.required).toEqual(expect.arrayContaining(['riskEventId', 'agentId', 'riskLevel', 'previousRiskLevel', 'riskScore', 'detections', 'eventIds', 'action']))
    expect(RiskEventSchema.safeParse({}).success).toBe(false)
  })
})
