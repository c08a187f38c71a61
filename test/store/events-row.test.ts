/**
 * The events table row written on the hot path (`eventLine`, JSONCompactEachRow) holds exactly the
 * values of the row as it was first defined: an object per event (below), inserted as JSONEachRow.
 * Its `raw` column, rebuilt from the other columns when read, is the event's JSON as the decoder
 * gave it, byte for byte; rows that stored their JSON (written before) still read it.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { AgentEvent } from '../../schemas/events.ts'
import { decodeRaw } from '../../schemas/events.ts'
import { Store } from '../../src/store/store.ts'
import { MIGRATIONS, migrate } from '../../src/store/migrations.ts'
import { chTime, EVENT_COLUMNS, eventLine } from '../../src/store/rows.ts'
import { generateFleet } from '../../src/sim/index.ts'
import { testConfig } from '../helpers/store.ts'

/** The event's JSON without `ts`, as `raw` must read. */
const rawOf = (e: AgentEvent) => JSON.stringify(e, (k, v) => (k === 'ts' ? undefined : v))

/** The reference: every stored column by name. */
function referenceRow(e: AgentEvent, riskScore: number, learned: boolean, ingestedAt: number): Record<string, unknown> {
  const tc = e.kind === 'tool_call' ? e : undefined
  const si = e.kind === 'signin' ? e : undefined
  return {
    event_id: e.eventId, kind: e.kind, time: chTime(e.ts),
    time_text: e.time === new Date(e.ts).toISOString() && e.time >= '1900' && e.time < '2300' ? '' : e.time,
    tenant_id: e.tenantId, agent_id: e.agent.id, blueprint_id: e.agent.blueprintId ?? '', owner_id: e.agent.ownerId ?? '',
    agent_platform: e.agent.platform ?? '', parent_id: e.agent.parentId ?? '',
    obo_user: e.onBehalfOf?.userId ?? '', trace_id: e.traceId ?? '', risk_score: riskScore, learned,
    ingested_at: chTime(ingestedAt), raw_text: '',
    tool: tc ? tc.tool : '', resource: e.resource, operation: tc ? tc.operation : '',
    sensitivity: tc ? (tc.sensitivity ?? 'internal') : '', sensitivity_given: tc?.sensitivity !== undefined,
    outcome: e.outcome, failure_reason: si ? (si.failureReason ?? null) : null, records: tc?.records ?? null,
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
      // Every optional field present; a failure reason that is empty, and one with slashes, a
      // backslash before a slash, control characters, an emoji and a line separator.
      decode({ ...base, eventId: 'odd-5', agent: { id: 'a/5', blueprintId: 'b', ownerId: 'o', platform: 'copilot-studio', parentId: 'p' }, onBehalfOf: { userId: 'u@x' }, traceId: 't', sensitivity: 'public', records: 9_007_199_254_740_991, bytes: 0, durationMs: 0.1 }),
      decode({ kind: 'signin', eventId: 'odd-6', time: '2026-03-02T09:15:00.5Z', tenantId: 't', agent: { id: 'a6', platform: 'foundry' }, credential: 'federated', network: { ip: '10.0.0.1', asn: 4_294_967_295, country: 'DE', location: 'eu-west' }, resource: 'https://graph.microsoft.com/', scopes: ['Mail.Read', 'a/b'], outcome: 'failure', failureReason: '' }),
      decode({ kind: 'signin', eventId: 'odd-7', time: '2026-03-02T09:15:00.000Z', tenantId: 't', agent: { id: 'a7' }, credential: 'certificate', network: { ip: '10.0.0.1' }, resource: 'r', scopes: [], outcome: 'failure', failureReason: 'AADSTS700027 \\/ \u0001\u001f\u007f 🔑 \u2028 </script>' }),
      decode({ ...base, eventId: 'odd-8', agent: { id: 'a8' }, durationMs: 12345.678, records: 3 }),
      // A time DateTime64 cannot hold: the row keeps the text as sent.
      decode({ ...base, eventId: 'odd-9', agent: { id: 'a9' }, time: '2999-01-01T00:00:00.000Z' }),
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

    const raws = await store.select<{ event_id: string; raw: string }>(`SELECT event_id, raw FROM ${store.ch.database}.events ORDER BY event_id`)
    const expected = new Map(events.map((e) => [e.eventId, rawOf(e)]))
    for (const r of raws) {
      const want = expected.get(r.event_id)!
      // The same JSON value always; the same text too, but for how control characters and line
      // separators are escaped (ClickHouse writes \u001F and \u2028 where JavaScript writes
      // \u001f and the character itself).
      expect(JSON.parse(r.raw)).toEqual(JSON.parse(want))
      if (!/\\u|[\u2028\u2029]/.test(want)) expect(r.raw).toBe(want)
    }
    expect(raws.filter((r) => r.raw === expected.get(r.event_id)).length).toBe(events.length - 1)
    expect(raws.length).toBe(events.length)
  })

  it('keep the JSON of a table that stored it, through the migration, and rebuild it for new rows', async () => {
    // A database as the code before migration 017 left it: raw a stored column, with a row in it.
    const legacy = { ...store.ch, database: 'legacy_events' }
    const before = MIGRATIONS.findIndex((m) => m.id === '017_events_columns_for_raw')
    for (const m of MIGRATIONS.slice(0, before)) await store.ch.client.command({ query: m.sql.replaceAll('{db}', legacy.database).replaceAll('{ttlDays}', '30') })
    const stored = '{"eventId":"old-2","time":"2026-03-02T09:15:00Z","extra":"as it was stored"}'
    await store.ch.client.insert({
      table: `${legacy.database}.events`,
      values: [{ event_id: 'old-2', kind: 'tool_call', time: '2026-03-02 09:15:00.000', tenant_id: 't', agent_id: 'a', resource: 'r', ingested_at: '2026-11-22 10:00:00.000', raw: stored }],
      format: 'JSONEachRow',
    })
    // Twice: every start runs the migrations again.
    await migrate(legacy, { ttlDays: 30 })
    await migrate(legacy, { ttlDays: 30 })
    const e = decode({ kind: 'tool_call', eventId: 'new-2', time: '2026-03-02T09:16:00.000Z', tenantId: 't', agent: { id: 'a' }, tool: 'x', resource: 'r', operation: 'read', outcome: 'success' })
    await store.ch.client.insert({
      table: `${legacy.database}.events`,
      values: [JSON.parse(eventLine(e, 0, true, chTime(Date.now())))],
      format: 'JSONCompactEachRow',
      columns: [...EVENT_COLUMNS] as [string, ...string[]],
    })
    const rows = await store.select<{ event_id: string; raw: string }>(`SELECT event_id, raw FROM ${legacy.database}.events ORDER BY event_id`)
    expect(rows).toEqual([{ event_id: 'new-2', raw: rawOf(e) }, { event_id: 'old-2', raw: stored }])
    const columns = await store.select<{ name: string; default_kind: string }>(`SELECT name, default_kind FROM system.columns WHERE database = '${legacy.database}' AND table = 'events' AND name IN ('raw', 'raw_text') ORDER BY name`)
    expect(columns).toEqual([{ name: 'raw', default_kind: 'ALIAS' }, { name: 'raw_text', default_kind: '' }])
  })

  it('read the stored JSON of rows written before raw was rebuilt', async () => {
    const db = store.ch.database
    // A row as written when raw was stored: its JSON in raw_text, the newer columns at their defaults.
    const stored = '{"eventId":"old-1","time":"2026-03-02T09:15:00Z","extra":"as it was stored"}'
    await store.ch.client.insert({
      table: `${db}.events`,
      values: [{ event_id: 'old-1', kind: 'tool_call', time: '2026-03-02 09:15:00.000', tenant_id: 't', agent_id: 'a', resource: 'r', ingested_at: '2026-11-22 10:00:00.000', raw_text: stored }],
      format: 'JSONEachRow',
    })
    const rows = await store.select<{ raw: string }>(`SELECT raw FROM ${db}.events WHERE event_id = 'old-1'`)
    expect(rows).toEqual([{ raw: stored }])
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
