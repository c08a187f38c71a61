/** Focused behaviour of single detectors, beyond their fixtures. */
import { describe, expect, it } from 'vitest'
import { delegation } from '../../detectors/delegation.ts'
import { DetectorHarness } from '../../detectors/fixtures/harness.ts'
import { DAY, HOUR, MINUTE, T0, agentIds, businessHours, byTime, signin, spread, toolCall } from '../../detectors/fixtures/kit.ts'
import { resourceNovelty } from '../../detectors/resource_novelty.ts'
import { signinContext } from '../../detectors/signin_context.ts'
import { timeOfWeek } from '../../detectors/time_of_week.ts'
import { toolSequence } from '../../detectors/tool_sequence.ts'
import { volume } from '../../detectors/volume.ts'

const END = T0 + 21 * DAY

describe('resource_novelty', () => {
  const peers = agentIds('peer', 10)
  const history = (users: number) =>
    byTime(
      ...['agent-fx', ...peers].map((id) => businessHours(14, 1, (ts) => toolCall(ts, { agent: { id } }))),
      ...peers.slice(0, users).map((id) => businessHours(14, 1, (ts) => toolCall(ts + MINUTE, { agent: { id }, resource: 'vault://keys', sensitivity: 'restricted' }))),
    )
  const probe = toolCall(END, { resource: 'vault://keys', sensitivity: 'restricted' })

  it('a first touch of restricted data stays a finding of at least 0.6 when only one peer in ten uses it', () => {
    expect(new DetectorHarness(resourceNovelty).learnAll(history(1)).score(probe)?.score).toBeGreaterThanOrEqual(0.6)
  })
  it('is normal once most peers use it', () => {
    expect(new DetectorHarness(resourceNovelty).learnAll(history(6)).score(probe)).toBeUndefined()
  })

  describe('in a blueprint whose established agents keep starting on restricted resources their peers use', () => {
    // peer-1 reads five services' secrets from the start; in the second week peers 2-10 each start
    // reading one of them (as deployment agents do when they take on a service).
    const secret = (k: number) => `vault://kv/svc-${k}`
    const joining = byTime(
      ...['agent-fx', ...peers].map((id) => businessHours(14, 1, (ts) => toolCall(ts, { agent: { id } }))),
      [1, 2, 3, 4, 5].map((k) => toolCall(T0 + 9 * HOUR + k * MINUTE, { agent: { id: 'peer-1' }, resource: secret(k), sensitivity: 'restricted' })),
      peers.slice(1).map((id, i) => toolCall(T0 + (7 + (i % 5)) * DAY + 10 * HOUR + i * MINUTE, { agent: { id }, resource: secret(1 + (i % 5)), sensitivity: 'restricted' })),
    )
    const h = new DetectorHarness(resourceNovelty).learnAll(joining)
    it('one more such first read is weak evidence', () => {
      expect(h.score(toolCall(END, { resource: secret(1), sensitivity: 'restricted' }))?.score ?? 0).toBeLessThan(0.25)
    })
    it('a restricted resource no peer uses keeps its full weight', () => {
      expect(h.score(toolCall(END, { resource: 'vault://kv/root-ca', sensitivity: 'restricted' }))?.score).toBeGreaterThanOrEqual(0.6)
    })
  })
})

describe('volume', () => {
  const fleet = agentIds('a', 5)
  const base = fleet.map((id) => businessHours(21, 4, (ts) => toolCall(ts, { agent: { id } })))
  const surge = (id: string) => spread(END + 10 * HOUR, 50 * MINUTE, 120, (ts) => toolCall(ts, { agent: { id } }))
  const usualPace = (id: string) => spread(END + 10 * HOUR, 50 * MINUTE, 4, (ts) => toolCall(ts, { agent: { id } }))
  const probe = (id: string) => toolCall(END + 10 * HOUR + 55 * MINUTE, { agent: { id } })

  it('one peer surging along, the others at their usual pace, does not excuse an agent (the fleet excess is a median)', () => {
    const h = new DetectorHarness(volume).learnAll(byTime(...base, surge('a-1'), surge('a-2'), ...fleet.slice(2).map(usualPace)))
    expect(h.score(probe('a-1'))?.score).toBeGreaterThanOrEqual(0.5)
  })
  it('most peers surging together excuses it', () => {
    const h = new DetectorHarness(volume).learnAll(byTime(...base, ...fleet.map(surge)))
    expect(h.score(probe('a-1'))?.score ?? 0).toBeLessThan(0.25)
  })
  it('counts peers named like Object.prototype members in the fleet excess', () => {
    // Three agents surging together, two of them named `__proto__` and `constructor`: both must count
    // as the others surging along, or a-1 is judged as if it surged alone.
    const names = ['a-1', '__proto__', 'constructor']
    const baseOf = (id: string) => businessHours(21, 4, (ts) => toolCall(ts, { agent: { id } }))
    const h = new DetectorHarness(volume).learnAll(byTime(...names.map(baseOf), ...names.map(surge)))
    expect(h.score(probe('a-1'))?.score ?? 0).toBeLessThan(0.25)
  })
  it('abstains without a week of history and without peers', () => {
    const h = new DetectorHarness(volume).learnAll(spread(T0, 3 * DAY, 300, (ts) => toolCall(ts, { agent: { id: 'solo', blueprintId: undefined } })))
    expect(h.score(toolCall(T0 + 3 * DAY, { agent: { id: 'solo', blueprintId: undefined }, records: 10 }))).toBeUndefined()
  })
  it('revives call sizes saved without means, taking the largest call as the mean', () => {
    const saved = { ...volume.init(), sizes: { 'crm.lookup': [40, Math.log2(1 + 7), Math.log2(1 + 1023)] } }
    const revived = volume.revive!(JSON.parse(JSON.stringify(saved)))
    expect(revived.sizes.entry('crm.lookup')).toEqual([40, 3, 10, 7, 1023])
    expect(revived.mix).toEqual([0, 0])
  })
  it('revives an hour-of-week rhythm saved as plain doublings into the packed slots, and scores it the same', () => {
    const h = new DetectorHarness(volume).learnAll(byTime(...base))
    const packed = JSON.parse(JSON.stringify(h.agents.get('a-1')!.state))
    const slotsQ = Array.from((h.agents.get('a-1')!.state as { slotsQ: ArrayLike<number> }).slotsQ)
    // The layout saved before the slots were packed: the same values, as doublings in `slots`.
    const { slotsQ: _saved, ...rest } = packed
    expect(slotsQ.filter((q) => q > 0).length).toBeGreaterThan(20)
    const old = { ...rest, slots: slotsQ.map((q) => q / 1024) }
    const revived = volume.revive!(old)
    expect(Array.from(revived.slotsQ)).toEqual(slotsQ)
    expect('slots' in revived).toBe(false)
    expect(JSON.parse(JSON.stringify(revived))).toEqual(packed)
  })
})

describe('time_of_week', () => {
  const own = businessHours(5, 4, (ts) => toolCall(ts, { agent: { blueprintId: undefined } }))
  it('abstains until the history spans a week', () => {
    const h = new DetectorHarness(timeOfWeek).learnAll(own)
    expect(h.score(toolCall(T0 + 5 * DAY + 3 * HOUR, { agent: { blueprintId: undefined } }))).toBeUndefined()
  })
  it('judges once it does', () => {
    const h = new DetectorHarness(timeOfWeek).learnAll(businessHours(14, 4, (ts) => toolCall(ts, { agent: { blueprintId: undefined } })))
    expect(h.score(toolCall(T0 + 15 * DAY + 3 * HOUR, { agent: { blueprintId: undefined } }))?.score).toBeGreaterThanOrEqual(0.4)
  })
})

describe('tool_sequence', () => {
  const solo = { blueprintId: undefined }
  // 100 tasks of a.read then b.read one minute later, two hours apart.
  const pairs = Array.from({ length: 200 }, (_, i) => toolCall(T0 + (i >> 1) * 2 * HOUR + (i % 2) * MINUTE, { agent: solo, tool: i % 2 ? 'b.read' : 'a.read' }))
  const last = toolCall(END, { agent: solo, tool: 'a.read' })
  const h = new DetectorHarness(toolSequence).learnAll([...pairs, last])

  it('links calls without a trace id only within the gap', () => {
    expect(h.score(toolCall(END + 5 * MINUTE, { agent: solo, tool: 'c.send', operation: 'execute' }))?.observation).toBe('unseen_transition')
    expect(h.score(toolCall(END + 2 * HOUR, { agent: solo, tool: 'c.send', operation: 'execute' }))).toBeUndefined()
  })
  it('scores an unseen step to an admin operation higher than one to a read', () => {
    const admin = h.score(toolCall(END + MINUTE, { agent: solo, tool: 'c.grant', operation: 'admin', sensitivity: 'restricted' }))!.score
    const read = h.score(toolCall(END + MINUTE, { agent: solo, tool: 'c.list', operation: 'read' }))!.score
    expect(admin).toBeGreaterThan(read)
    expect(read).toBeLessThan(0.5)
  })
})

describe('signin_context', () => {
  it('an agent that routinely fails in bursts of six does not fire at seven', () => {
    const noisy = Array.from({ length: 14 }, (_, d) => spread(T0 + d * DAY + 9 * HOUR, 8 * MINUTE, 6, (ts) => signin(ts, { agent: { blueprintId: undefined }, outcome: 'failure' }))).flat()
    const ok = businessHours(14, 1, (ts) => signin(ts + 30 * MINUTE, { agent: { blueprintId: undefined } }))
    const burst = spread(END + 9 * HOUR, 8 * MINUTE, 6, (ts) => signin(ts, { agent: { blueprintId: undefined }, outcome: 'failure' }))
    const h = new DetectorHarness(signinContext).learnAll(byTime(noisy, ok, burst))
    expect(h.score(signin(END + 9 * HOUR + 9 * MINUTE, { agent: { blueprintId: undefined }, outcome: 'failure' }))).toBeUndefined()
  })
})

describe('delegation', () => {
  it('an agent that meets a new user on most calls is not surprised by one more', () => {
    const helpdesk = spread(T0, 10 * DAY, 300, (ts, i) => toolCall(ts, { agent: { blueprintId: undefined }, onBehalfOf: { userId: `user-${i}` } }))
    const h = new DetectorHarness(delegation).learnAll(helpdesk)
    expect(h.score(toolCall(END, { agent: { blueprintId: undefined }, onBehalfOf: { userId: 'someone-new' }, sensitivity: 'restricted' }))?.score ?? 0).toBeLessThan(0.1)
  })
  const solo = { blueprintId: undefined }
  const steady = spread(T0, 10 * DAY, 300, (ts, i) => toolCall(ts, { agent: solo, onBehalfOf: { userId: `user-${i % 5}` } }))
  const forNewUser = (ts: number, sensitivity: 'internal' | 'confidential' | 'restricted' = 'restricted') => toolCall(ts, { agent: solo, onBehalfOf: { userId: 'someone-new' }, sensitivity })
  it('an agent that serves five users is, once the session goes on to a third call on restricted data', () => {
    const h = new DetectorHarness(delegation).learnAll([...steady, forNewUser(END), forNewUser(END + MINUTE)])
    expect(h.score(forNewUser(END + 2 * MINUTE))?.score).toBeGreaterThanOrEqual(0.6)
  })
  it('a lone call for a new user on restricted data is held below medium: user pools turn over', () => {
    const h = new DetectorHarness(delegation).learnAll(steady)
    const f = h.score(forNewUser(END))
    expect(f?.score).toBeGreaterThanOrEqual(0.25)
    expect(f?.score).toBeLessThan(0.5)
  })
  it('calls on internal data do not corroborate, nor does a session that has ended', () => {
    const internal = new DetectorHarness(delegation).learnAll([...steady, forNewUser(END), forNewUser(END + MINUTE, 'internal'), forNewUser(END + 2 * MINUTE, 'internal')])
    expect(internal.score(forNewUser(END + 3 * MINUTE))?.score).toBeLessThan(0.5)
    const later = new DetectorHarness(delegation).learnAll([...steady, forNewUser(END), forNewUser(END + MINUTE)])
    expect(later.score(forNewUser(END + 2 * HOUR))).toBeUndefined()
  })
  it('a new user on internal data stays below medium: attended agents meet new users in everyday work', () => {
    const steady = spread(T0, 10 * DAY, 300, (ts, i) => toolCall(ts, { agent: { blueprintId: undefined }, onBehalfOf: { userId: `user-${i % 5}` } }))
    const h = new DetectorHarness(delegation).learnAll(steady)
    const f = h.score(toolCall(END, { agent: { blueprintId: undefined }, onBehalfOf: { userId: 'someone-new' }, sensitivity: 'internal' }))
    expect(f?.score).toBeGreaterThan(0)
    expect(f?.score).toBeLessThan(0.5)
  })
  it('a sign-in for a user does not make them known: their first call on restricted data is still judged as a new user', () => {
    const h = new DetectorHarness(delegation).learnAll([...steady, signin(END - MINUTE, { agent: solo, onBehalfOf: { userId: 'someone-new' } })])
    expect(h.score(forNewUser(END))?.observation).toBe('first_seen')
  })
})
