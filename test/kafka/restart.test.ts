/**
 * A consumer process killed (SIGKILL) in the middle of a stream and started again on the same data
 * folder and group: every event is processed, no risk event is lost against an uninterrupted
 * replay, and a riskEventId never names two different risk events (the same one may repeat).
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
    const cfg = { groupId, topics, inputTopics: [input], dataDir, maxBytesPerPartition: 64 * 1024 }

    const began = Date.now()
    const first = spawnInstances(CHILD, cfg)
    children.push(first)
    first.send({ cmd: 'add', name: 'a' })
    // Killed the moment a batch's effects are durable, before its offsets are committed (the
    // report comes between the two), with the next batches already fetched.
    await first.until((l) => l.batch !== undefined && first.durableCount(first.lines.indexOf(l) + 1) >= total * 0.4, 90_000, '40% of the events durable')
    first.kill()
    expect(await first.exited).toBe(null) // killed, not a clean exit
    const durableBeforeKill = first.durableCount()
    const committedAtKill = await committedTotal(groupId, input)
    expect(committedAtKill).toBeLessThan(total)

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
    // The second run resumed where the first left off, not from the beginning.
    expect(second.durableCount()).toBeLessThan(total)
    expect(second.durableCount()).toBeGreaterThanOrEqual(total - durableBeforeKill)

    // riskById throws if one id names two different risk events; repeats of one are allowed.
    const got = riskById(await readTopic(topics.risk))
    const want = reference(feed, referenceConfig())
    expect(riskDiff(got.byId, want)).toEqual({ missing: [], unexpected: [], different: [] })
    for (const [id, e] of want) expect(got.byId.get(id)).toEqual(e)
    console.log(`restart: ${total} events, killed after ${durableBeforeKill} durable (${committedAtKill} committed), ${want.size} risk events, ${got.copies - want.size} repeated, ${elapsed} ms`)

    second.send({ cmd: 'exit' })
    expect(await second.exited).toBe(0)
  }, 150_000)
})
