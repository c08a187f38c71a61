import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createService, type Service } from '../../src/service.ts'
import { testConfig } from '../helpers/store.ts'
import { MIGRATIONS, migrate } from '../../src/store/migrations.ts'
import { DAY, HOUR, MINUTE, T0, toolCall } from '../../detectors/fixtures/kit.ts'
import type { AgentEvent } from '../../schemas/events.ts'

const line = (e: AgentEvent) => JSON.stringify(e, (k, v) => (k === 'ts' ? undefined : v))
const msg = (value: string) => ({ value, origin: 'http' })

/** Ten days of routine work for one agent, then a 3 AM read of a restricted HR table. */
function trainedThenAttack(agentId: string, startDay: number): AgentEvent[] {
  const events: AgentEvent[] = []
  const start = T0 + startDay * DAY
  for (let d = 0; d < 10; d++) for (let m = 0; m < 8 * 60; m += 15) events.push(toolCall(start + d * DAY + 9 * HOUR + m * MINUTE, { agent: { id: agentId } }))
  events.push(toolCall(start + 10 * DAY + 3 * HOUR, { agent: { id: agentId }, resource: 'sql://hr/salaries', sensitivity: 'restricted', tool: 'sql.query' }))
  return events
}

let service: Service
beforeAll(async () => {
  service = await createService(testConfig())
  await service.start()
})
afterAll(async () => {
  await service.stop()
})

describe('service on embedded ClickHouse', () => {
  it('keeps a rejected event as a dead letter, queryable with its reason and untouched payload', async () => {
    const bad = '{"kind":"tool_call","eventId":"x1","time":"yesterday"}'
    const result = await service.deps.ingest([msg(bad), msg('not json'), msg(line(toolCall(T0)))])
    expect(result.accepted).toBe(1)
    expect(result.rejected).toBe(2)
    expect(result.results[0]).toMatchObject({ status: 'rejected', reason: expect.stringContaining('time:') })
    const letters = await service.deps.deadLetters.query({ limit: 10 })
    expect(letters.map((l) => l.payload).sort()).toEqual([bad, 'not json'].sort())
    const forBad = letters.find((l) => l.payload === bad)!
    expect(forBad.reason).toContain('time: time must be an RFC 3339 UTC timestamp')
    expect(forBad.reason).toContain('agent: required')
    expect(forBad.origin).toBe('http')
  })

  it('stores raw events, baselines and risk events an analyst can query with SQL', async () => {
    const events = trainedThenAttack('sql-agent', 0)
    const result = await service.deps.ingest(events.map((e) => msg(line(e))))
    expect(result.riskEvents.length).toBeGreaterThan(0)

    const [{ n }] = await service.store.select<{ n: string }>(`SELECT count() AS n FROM agentwatch.events WHERE agent_id = 'sql-agent'`)
    expect(Number(n)).toBe(events.length)
    const resources = await service.store.select<{ resource: string; calls: string }>(
      `SELECT resource, calls FROM agentwatch.agent_resources WHERE agent_id = 'sql-agent' ORDER BY resource`,
    )
    // The flagged HR read never entered the baseline, so the analyst view does not count it either.
    expect(resources.map((r) => r.resource)).toEqual(['sharepoint://sites/support'])
    const [baseline] = await service.store.select<{ learned: string; risk_level: string }>(
      `SELECT learned, risk_level FROM agentwatch.agent_baselines_latest WHERE agent_id = 'sql-agent'`,
    )
    expect(Number(baseline.learned)).toBe(events.length - 1)
    expect(['medium', 'high']).toContain(baseline.risk_level)

    const page = await service.deps.riskEvents.query({ agentId: 'sql-agent', limit: 10 })
    expect(page.items[0]).toMatchObject({ agentId: 'sql-agent', riskEventId: result.riskEvents[result.riskEvents.length - 1].riskEventId })
  })

  it('answers a redelivered batch with duplicates and no second risk event', async () => {
    const e = toolCall(T0 + 20 * DAY, { agent: { id: 'dup-agent' }, resource: 'sql://hr/x', sensitivity: 'restricted' })
    const first = await service.deps.ingest([msg(line(e))])
    const again = await service.deps.ingest([msg(line(e))])
    expect(first.accepted).toBe(1)
    expect(again).toMatchObject({ accepted: 0, duplicates: 1, riskEvents: [] })
  })

  it('pages risk events with a cursor, newest first, without repeats', async () => {
    for (let i = 0; i < 5; i++) {
      const result = await service.deps.ingest(trainedThenAttack(`page-${i}`, 30 + i).map((e) => msg(line(e))))
      expect(result.riskEvents.length).toBeGreaterThan(0)
      await service.deps.feedback({ agentId: `page-${i}`, verdict: 'dismiss' }, 'analyst-1')
    }
    const seen: string[] = []
    let cursor: string | undefined
    do {
      const page = await service.deps.riskEvents.query({ limit: 3, cursor, from: new Date(T0 + 30 * DAY).toISOString() })
      seen.push(...page.items.map((r) => r.riskEventId))
      const times = page.items.map((r) => r.time)
      expect([...times].sort().reverse()).toEqual(times)
      cursor = page.nextCursor
    } while (cursor)
    expect(new Set(seen).size).toBe(seen.length)
    expect(seen.length).toBeGreaterThanOrEqual(5)
  })

  it('confirm-compromised quarantines the agent and records who did it', async () => {
    await service.deps.ingest([msg(line(toolCall(T0 + 40 * DAY, { agent: { id: 'bad-agent' } })))])
    const res = await service.deps.feedback({ agentId: 'bad-agent', verdict: 'confirm_compromised', note: 'token theft' }, 'responder-1')
    expect(res.applied).toMatch(/quarantined/)
    const state = service.deps.enforcement.get('bad-agent')
    expect(state).toMatchObject({ mode: 'quarantined', by: 'responder-1' })
    const rows = await service.store.select<{ to_mode: string; by: string }>(`SELECT to_mode, by FROM agentwatch.enforcement_actions WHERE agent_id = 'bad-agent'`)
    expect(rows).toEqual([{ to_mode: 'quarantined', by: 'responder-1' }])
  })

  it('runs its migrations again at start without touching data', async () => {
    const count = async () => Number((await service.store.select<{ n: string }>('SELECT count() AS n FROM agentwatch.events'))[0].n)
    const before = await count()
    expect(before).toBeGreaterThan(0)
    expect(await migrate(service.store.ch, { ttlDays: 30 })).toEqual(MIGRATIONS.map((m) => m.id))
    expect(await count()).toBe(before)
  })
})
