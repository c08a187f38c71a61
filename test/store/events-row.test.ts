/**
 * The events table row written on the hot path (`eventLine`, JSONCompactEachRow) holds exactly the
 * values of the row as it was first defined: an object per event (below), inserted as JSONEachRow.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { AgentEvent } from '../../schemas/events.ts'
import { decodeRaw } from '../../schemas/events.ts'
import { Store } from '../../src/store/store.ts'
import { chTime } from '../../src/store/rows.ts'
import { generateFleet } from '../../src/sim/index.ts'
import { testConfig } from '../helpers/store.ts'

/** The reference: every column by name, `raw` through a replacer that drops `ts`. */
function referenceRow(e: AgentEvent, riskScore: number, learned: boolean, ingestedAt: number): Record<string, unknown> {
  const tc = e.kind === 'tool_call' ? e : undefined
  const si = e.kind === 'signin' ? e : undefined
  return {
    event_id: e.eventId, kind: e.kind, time: chTime(e.ts), tenant_id: e.tenantId, agent_id: e.agent.id,
    blueprint_id: e.agent.blueprintId ?? '', owner_id: e.agent.ownerId ?? '', parent_id: e.agent.parentId ?? '',
    obo_user: e.onBehalfOf?.userId ?? '', trace_id: e.traceId ?? '', risk_score: riskScore, learned,
    ingested_at: chTime(ingestedAt), raw: JSON.stringify(e, (k, v) => (k === 'ts' ? undefined : v)),
    tool: tc ? tc.tool : '', resource: e.resource, operation: tc ? tc.operation : '',
    sensitivity: tc ? (tc.sensitivity ?? 'internal') : '', outcome: e.outcome, records: tc?.records ?? null,
    bytes: tc?.bytes ?? null, duration_ms: tc?.durationMs ?? null, credential: si ? si.credential : '',
    ip: si ? si.network.ip : '', asn: si?.network.asn ?? null, country: si?.network.country ?? '',
    location: si?.network.location ?? '', scopes: si ? si.scopes : [],
  }
}

function decode(input: unknown): AgentEvent {
  const d = decodeRaw(Buffer.from(JSON.stringify(input)))
  if (!d.ok) throw new Error(d.reason)
  return d.event
}

let store: Store
beforeAll(async () => {
  store = await Store.open(testConfig().store)
  await store.ch.client.command({ query: `CREATE TABLE ${store.ch.database}.events_reference AS ${store.ch.database}.events` })
})
afterAll(async () => {
  await store.close()
})

describe('events rows', () => {
  it('hold the same values as the reference row, for simulated and unusual events', async () => {
    const events = generateFleet({ seed: 5, agents: 8, days: 2 }).events.map(decode)
    const base = { kind: 'tool_call', time: '2026-03-02T09:15:00.000Z', tenantId: 't', tool: 'x', resource: 'r', operation: 'read', outcome: 'success' }
    events.push(
      // Quotes, backslashes, newlines, tabs and non-ASCII in strings; a "ts" text inside a value.
      decode({ ...base, eventId: 'odd-1', agent: { id: 'a"b\\c\n\td', blueprintId: 'bp-é' }, resource: 'sql://x,"ts":1}', traceId: '☃' }),
      // Extra fields are dropped from raw; optional numbers present and absent.
      decode({ ...base, eventId: 'odd-2', agent: { id: 'a2' }, extra: { ts: 5 }, records: 0, bytes: 12, durationMs: 1.5, sensitivity: 'restricted' }),
      // A time before 1970 and one with another valid RFC 3339 form.
      decode({ ...base, eventId: 'odd-3', agent: { id: 'a3' }, time: '1969-12-31T23:59:59.999Z' }),
      decode({ kind: 'signin', eventId: 'odd-4', time: '2026-03-02T09:15:00Z', tenantId: 't', agent: { id: 'a4' }, credential: 'secret', network: { ip: '::1' }, resource: 'graph', scopes: [], outcome: 'failure' }),
    )
    const ingestedAt = Date.parse('2026-11-22T10:00:00.123Z')
    const realNow = Date.now
    Date.now = () => ingestedAt
    try {
      events.forEach((e, i) => store.writeEvent(e, i % 101, i % 3 === 0))
    } finally {
      Date.now = realNow
    }
    await store.flush()
    await store.ch.client.insert({
      table: `${store.ch.database}.events_reference`,
      values: events.map((e, i) => referenceRow(e, i % 101, i % 3 === 0, ingestedAt)),
      format: 'JSONEachRow',
    })
    const read = (table: string) => store.select<Record<string, unknown>>(`SELECT * FROM ${store.ch.database}.${table} ORDER BY event_id`)
    const [written, reference] = await Promise.all([read('events'), read('events_reference')])
    expect(written.length).toBe(events.length)
    expect(written).toEqual(reference)
    expect(store.rowsWritten.events).toBe(events.length)
  })

  it('write DateTime64 text exactly as the Date form does', () => {
    const viaDate = (ms: number) => new Date(ms).toISOString().replace('T', ' ').replace('Z', '')
    const edges = [0, -1, 1, 86_399_999, 86_400_000, -86_400_000, -86_400_001, Date.parse('2026-03-02T09:15:00.000Z'), Date.parse('1969-12-31T23:59:59.999Z'), 253_402_300_799_999, 253_402_300_800_000, -62_167_219_200_001]
    for (const ms of edges) expect(chTime(ms)).toBe(viaDate(ms))
    let seed = 7
    const next = () => ((seed = (seed * 1_103_515_245 + 12_345) % 2_147_483_648) / 2_147_483_648)
    for (let i = 0; i < 100_000; i++) {
      // Mostly nearby times (the cached day), sometimes anywhere from 1900 to 2200.
      const ms = i % 10 === 0 ? Math.floor(-2_208_988_800_000 + next() * 9_467_280_000_000) : Math.floor(1_772_000_000_000 + next() * 200_000_000)
      expect(chTime(ms)).toBe(viaDate(ms))
    }
  })
})
