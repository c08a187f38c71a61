import { describe, expect, it } from 'vitest'
import { Pipeline, riskEventId } from '../../src/pipeline/pipeline.ts'
import { combine, decayed, levelOf, nextLevel } from '../../src/pipeline/risk.ts'
import { ConfigSchema } from '../../schemas/config.ts'
import type { RiskEvent } from '../../schemas/risk.ts'
import { DAY, HOUR, MINUTE, T0, toolCall } from '../../detectors/fixtures/kit.ts'

const config = ConfigSchema.parse({})
const thresholds = config.risk.thresholds

/** Ten weekdays of routine support work: one resource, business hours. */
function routine(agentId = 'agent-fx') {
  const events = []
  for (let d = 0; d < 14; d++) {
    if (d % 7 >= 5) continue
    for (let h = 9; h < 17; h++) for (let m = 0; m < 60; m += 10) events.push(toolCall(T0 + d * DAY + h * HOUR + m * MINUTE, { agent: { id: agentId } }))
  }
  return events
}

const hrRead = (ts: number, o = {}) => toolCall(ts, { resource: 'sql://hr/salaries', sensitivity: 'restricted', tool: 'sql.query', records: 5000, ...o })

describe('risk arithmetic', () => {
  it('combines findings with noisy-OR and keeps scores in [0, 1]', () => {
    expect(combine([])).toBe(0)
    expect(combine([0.5, 0.5])).toBeCloseTo(0.75)
    expect(combine([1, 0.3])).toBe(1)
  })
  it('halves accumulated risk every half-life of event time and never decays backwards', () => {
    expect(decayed(0.8, 0, 60 * MINUTE, 60)).toBeCloseTo(0.4)
    expect(decayed(0.8, 60 * MINUTE, 0, 60)).toBe(0.8)
  })
  it('maps scores to levels and leaves a level downwards only past the hysteresis band', () => {
    expect(levelOf(0.1, thresholds)).toBe('none')
    expect(levelOf(0.5, thresholds)).toBe('medium')
    expect(levelOf(0.85, thresholds)).toBe('high')
    expect(nextLevel('high', 0.78, thresholds)).toBe('high')
    expect(nextLevel('high', 0.7, thresholds)).toBe('medium')
    expect(nextLevel('none', 0.3, thresholds)).toBe('low')
  })
})

describe('explanations', () => {
  it('a rise lists the findings of the case at hand, not those of one that decayed days ago', () => {
    const p = new Pipeline(config)
    const out: RiskEvent[] = []
    for (const e of routine()) p.process(e, undefined, out)
    const first = hrRead(T0 + 14 * DAY + 3 * HOUR, { eventId: 'evt-first-hr-read' })
    p.process(first, undefined, out)
    const firstRise = out.find((r) => r.eventIds.includes('evt-first-hr-read'))
    expect(firstRise?.riskLevel).not.toBe('none')
    // Ordinary work on the days after: the case decays and the level falls back to none.
    for (let d = 15; d < 18; d++) for (let h = 9; h < 17; h++) p.process(toolCall(T0 + d * DAY + h * HOUR, { agent: { id: 'agent-fx' } }), undefined, out)
    expect(out.at(-1)?.riskLevel).toBe('none')
    // Then a different finding raises the agent again.
    out.length = 0
    const later = toolCall(T0 + 18 * DAY + 3 * HOUR, { eventId: 'evt-payroll', resource: 'sql://finance/payroll', sensitivity: 'restricted', tool: 'sql.query', records: 5000 })
    p.process(later, undefined, out)
    const rise = out.find((r) => r.riskLevel !== 'none')
    expect(rise).toBeDefined()
    expect(rise!.eventIds).toEqual(['evt-payroll'])
    expect(rise!.detections.some((d) => d.reason.includes('sql://hr/salaries'))).toBe(false)
    expect(rise!.detections.some((d) => d.reason.includes('sql://finance/payroll'))).toBe(true)
  })
})

describe('pipeline', () => {
  it('emits a risk event only when the level changes, with a deterministic id and the policy action', () => {
    const p = new Pipeline(config, { now: () => 0 })
    const out: RiskEvent[] = []
    for (const e of routine()) p.process(e, {}, out)
    expect(out).toEqual([])
    const attack = hrRead(T0 + 15 * DAY + 3 * HOUR)
    p.process(attack, {}, out)
    p.process(hrRead(T0 + 15 * DAY + 3 * HOUR + 1000), {}, out)
    expect(out.length).toBe(1)
    const [risk] = out
    expect(['medium', 'high']).toContain(risk.riskLevel)
    expect(risk.previousRiskLevel).toBe('none')
    expect(risk.riskEventId).toBe(riskEventId('agent-fx', 'none', risk.riskLevel, `event:${attack.eventId}`))
    expect(risk.eventIds).toContain(attack.eventId)
    expect(risk.detections.some((d) => d.reason.includes('sql://hr/salaries'))).toBe(true)
    expect(risk.action).toBe(risk.riskLevel === 'high' ? 'quarantine' : 'notify_owner')
  })

  it('never learns from a flagged event, so repeating an attack keeps it anomalous', () => {
    const p = new Pipeline(config)
    for (const e of routine()) p.process(e)
    const learned = p.stats.learned
    p.process(hrRead(T0 + 15 * DAY + 3 * HOUR))
    expect(p.stats.learned).toBe(learned)
    expect(p.stats.flagged).toBe(1)
    const agent = p.baselines.agents.get('agent-fx')!
    expect(JSON.stringify(agent.states)).not.toContain('sql://hr/salaries')
    expect(agent.flagged).toHaveLength(1)
  })

  it('ignores a redelivered event: same id, or an older Kafka offset', () => {
    const p = new Pipeline(config)
    const e = toolCall(T0)
    expect(p.process(e)).toBe('processed')
    expect(p.process({ ...e })).toBe('duplicate')
    const k = toolCall(T0 + 1000)
    expect(p.process(k, { topic: 't', partition: 0, offset: 7 })).toBe('processed')
    expect(p.process(toolCall(T0 + 2000), { topic: 't', partition: 0, offset: 7 })).toBe('duplicate')
    expect(p.process(toolCall(T0 + 2000), { topic: 'other', partition: 0, offset: 7 })).toBe('processed')
    expect(p.stats.duplicates).toBe(2)
  })

  it('lets the level fall back on event time when the agent goes quiet', () => {
    const p = new Pipeline(config, { now: () => 0 })
    const out: RiskEvent[] = []
    for (const e of routine()) p.process(e, {}, out)
    p.process(hrRead(T0 + 15 * DAY + 3 * HOUR), {}, out)
    const raised = out.length
    expect(raised).toBe(1)
    // Another agent's events move the clock: a sweep lowers the quiet agent's level.
    for (let i = 0; i < 12; i++) p.process(toolCall(T0 + 15 * DAY + 3 * HOUR + i * HOUR, { agent: { id: 'other' } }), {}, out)
    const lowered = out.slice(raised).filter((r) => r.agentId === 'agent-fx')
    expect(lowered.length).toBeGreaterThan(0)
    expect(lowered[lowered.length - 1].riskLevel).toBe('none')
    expect(lowered[0].action).toBe('none')
  })

  it('confirm-safe teaches the flagged behaviour; dismiss resets risk without learning', () => {
    const p = new Pipeline(config, { now: () => 0 })
    for (const e of routine()) p.process(e)
    p.process(hrRead(T0 + 15 * DAY + 3 * HOUR))
    const out: RiskEvent[] = []
    expect(p.dismiss('agent-fx', out)).toBe(true)
    expect(out.map((r) => r.riskLevel)).toEqual(['none'])
    expect(JSON.stringify(p.baselines.agents.get('agent-fx')!.states)).not.toContain('sql://hr/salaries')

    p.process(hrRead(T0 + 15 * DAY + 4 * HOUR))
    p.confirmSafe('agent-fx', out)
    const agent = p.baselines.agents.get('agent-fx')!
    expect(agent.risk.level).toBe('none')
    expect(JSON.stringify(agent.states)).toContain('sql://hr/salaries')
  })

  it('keeps a confirmed-compromised agent out of every baseline', () => {
    const p = new Pipeline(config)
    for (const e of routine()) p.process(e)
    p.confirmCompromised('agent-fx')
    const learned = p.stats.learned
    p.process(toolCall(T0 + 15 * DAY + 10 * HOUR, { resource: 'sharepoint://sites/new' }))
    expect(p.stats.learned).toBe(learned)
  })
})

describe('fleet change and repeats', () => {
  /** Five support agents of one blueprint, two weeks of routine work. */
  function fleet(p: Pipeline) {
    const ids = ['s1', 's2', 's3', 's4', 's5']
    const events = ids.flatMap((id) => routine(id)).sort((a, b) => a.ts - b.ts)
    for (const e of events) p.process(e)
    return ids
  }

  it('a novelty that several agents of a blueprint show together is a blueprint change: no alert, and it is learned', () => {
    const p = new Pipeline(config, { now: () => 0 })
    const ids = fleet(p)
    const out: RiskEvent[] = []
    const rollout = (id: string, i: number) => toolCall(T0 + 15 * DAY + 10 * HOUR + i * MINUTE, { agent: { id }, tool: 'copilot.summarize', resource: 'copilot://summaries', sensitivity: 'confidential', operation: 'execute' })
    ids.forEach((id, i) => p.process(rollout(id, i), {}, out))
    expect(p.stats.fleetChanges).toBeGreaterThan(0)
    // From the quorum (3 agents) on, the agents learn the new tool.
    for (const id of ids.slice(2)) expect(JSON.stringify(p.baselines.agents.get(id)!.states)).toContain('copilot://summaries')
    expect(out.filter((r) => r.agentId === 's5')).toEqual([])
  })

  it('one agent alone doing something new is not a fleet change', () => {
    const p = new Pipeline(config, { now: () => 0 })
    fleet(p)
    const out: RiskEvent[] = []
    p.process(hrRead(T0 + 15 * DAY + 3 * HOUR, { agent: { id: 's1' } }), {}, out)
    expect(p.stats.fleetChanges).toBe(0)
    expect(out.map((r) => r.agentId)).toEqual(['s1'])
  })

  it('keeps only the strongest finding per family: correlated novelties do not compound', () => {
    const p = new Pipeline(config, { now: () => 0 })
    for (const e of routine()) p.process(e)
    const out: RiskEvent[] = []
    // A new internal tool on a new internal resource at a usual hour: novelty findings only.
    p.process(toolCall(T0 + 15 * DAY + 10 * HOUR, { tool: 'wiki.read', resource: 'wiki://support/howto' }), {}, out)
    const agent = p.baselines.agents.get('agent-fx')!
    const novelty = agent.risk.detections.filter((d) => ['resource_novelty', 'tool_novelty', 'tool_sequence'].includes(d.detector))
    expect(novelty.length).toBeGreaterThan(1)
    expect(agent.risk.score).toBeCloseTo(Math.max(...novelty.map((d) => d.score)), 2)
  })

  it('holds a repeated finding at low within the repeat window, so one case is one alert', () => {
    const p = new Pipeline(config, { now: () => 0 })
    for (const e of routine()) p.process(e)
    const out: RiskEvent[] = []
    p.process(hrRead(T0 + 15 * DAY + 3 * HOUR), {}, out)
    // Risk decays over the day; the same read the next morning does not raise a second alert.
    p.process(toolCall(T0 + 15 * DAY + 14 * HOUR), {}, out)
    p.process(hrRead(T0 + 16 * DAY + 2 * HOUR), {}, out)
    const alerts = out.filter((r) => ['medium', 'high'].includes(r.riskLevel) && r.previousRiskLevel !== 'medium' && r.previousRiskLevel !== 'high')
    expect(alerts).toHaveLength(1)
  })
})
