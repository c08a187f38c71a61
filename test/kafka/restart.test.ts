/**
 * A consumer process killed (SIGKILL) in the middle of a stream and started again on the same data
 * folder and group: every event is processed, no risk event is lost against an uninterrupted
 * replay, and a riskEventId never names two different risk events (the same one may repeat).
 *
 * The kill lands after events were processed (their risk events already published) but before a
 * checkpoint covered them: every checkpoint is held between its outputs and its baselines
 * (AGENTWATCH_TEST_CHECKPOINT_HOLD_MS), so the process dies with processed, uncommitted work that
 * the second run receives again. The risk topic must still equal the uninterrupted replay.
 */
import { join } from 'node:path'
import { afterEach, expect, it } from 'vitest'
import { committedTotal, createTestTopics, createTopics, describeKafka, produceMany, readTopic, spawnInstances, uniqueName, waitFor, type InstancesProcess } from '../helpers/kafka.ts'
import { tempDir } from '../helpers/store.ts'
import { fleetFeed, messagesOf, reference, referenceConfig, riskById, riskDiff } from './fixtures/fleet.ts'

const CHILD = join(import.meta.dirname, 'fixtures/instances.ts')
const children: InstancesProcess[] = []
afterEach(() => {
  for (const c of children.splice(0)) c.kill()
})

describeKafka('consumer killed mid-stream', () => {
  it('restarts from ClickHouse and the committed offsets: all events processed, risk events complete, ids unambiguous', async () => {
    const feed = fleetFeed({ seed: 23, agents: 10, days: 9 }, 1)
    const topics = await createTestTopics(1)
    const input = `${topics.signins}.all`
    await createTopics([input], 1)
    await produceMany(input, messagesOf(feed))
    const total = feed.events.length
    const groupId = uniqueName('e2e-restart')
    const dataDir = join(tempDir(), 'data')
    const cfg = { groupId, topics, inputTopics: [input], dataDir, maxBytesPerPartition: 64 * 1024, checkpointHoldMs: 1500, store: { checkpointMs: 500, maxPendingEvents: 1000 } }
    const processedUpTo = (lines: Record<string, unknown>[]) =>
      lines.reduce((n, l) => (l.batch ? Math.max(n, Number((l.batch as { last: string }).last) + 1) : n), 0)
    const durableUpTo = (lines: Record<string, unknown>[]) =>
      lines.reduce((n, l) => {
        const pos = (l.durable as { positions: { origin: string; offset: string }[] } | undefined)?.positions.find((p) => p.origin === input)
        return pos ? Math.max(n, Number(pos.offset) + 1) : n
      }, 0)

    const began = Date.now()
    const first = spawnInstances(CHILD, cfg)
    children.push(first)
    first.send({ cmd: 'add', name: 'a' })
    // Killed once 40% of the events are processed and at least one checkpoint completed, while
    // processed events wait for the next one (held between its outputs and its baselines). At most
    // 1000 processed events wait for a checkpoint (backpressure), which paces the stream.
    await first.until(
      (l) => {
        const upTo = first.lines.slice(0, first.lines.indexOf(l) + 1)
        const durable = durableUpTo(upTo)
        return processedUpTo(upTo) >= total * 0.4 && durable > 0 && processedUpTo(upTo) > durable
      },
      90_000,
      '40% of the events processed, some of them not durable',
    )
    first.kill()
    expect(await first.exited).toBe(null) // killed, not a clean exit
    const processedBeforeKill = processedUpTo(first.lines)
    const durableBeforeKill = durableUpTo(first.lines)
    const committedAtKill = await committedTotal(groupId, input)
    expect(committedAtKill).toBeLessThan(total)
    // Processed work was lost with the process: it is not committed, so it comes again.
    expect(committedAtKill).toBeLessThanOrEqual(durableBeforeKill)
    expect(committedAtKill).toBeLessThan(processedBeforeKill)

    const second = spawnInstances(CHILD, cfg)
    children.push(second)
    second.send({ cmd: 'add', name: 'a' })
    await waitFor(async () => (second.check(), (await committedTotal(groupId, input)) === total), 90_000, 'every event committed after the restart')
    second.send({ cmd: 'events' })
    const { events } = (await second.until((l) => Array.isArray(l.events), 30_000, 'the event ids')) as { events: string[] }
    const elapsed = Date.now() - began

    // Every input event was processed and recorded, by one run or the other.
    const processed = new Set(events)
    expect(feed.events.filter((e) => !processed.has(e.eventId)).map((e) => e.eventId)).toEqual([])
    // The second run resumed from the committed offset, not from the beginning, and received
    // again what the first had processed but not made durable.
    const redelivered = second.lines.filter((l) => l.batch !== undefined && Number((l.batch as { first: string }).first) < processedBeforeKill)
    expect(redelivered.length).toBeGreaterThan(0)
    expect(Number((second.lines.find((l) => l.batch !== undefined)!.batch as { first: string }).first)).toBe(committedAtKill)

    // riskById throws if one id names two different risk events; repeats of one are allowed.
    const got = riskById(await readTopic(topics.risk))
    const want = reference(feed, referenceConfig())
    expect(riskDiff(got.byId, want)).toEqual({ missing: [], unexpected: [], different: [] })
    for (const [id, e] of want) expect(got.byId.get(id)).toEqual(e)
    console.log(`restart: ${total} events, killed after ${processedBeforeKill} processed, ${durableBeforeKill} durable, ${committedAtKill} committed; ${want.size} risk events, ${got.copies - want.size} repeated, ${elapsed} ms`)

    second.send({ cmd: 'exit' })
    expect(await second.exited).toBe(0)
  }, 150_000)
})
