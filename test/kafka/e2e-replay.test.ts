/**
 * End to end: contract events produced with a plain kafkajs producer come out of the risk topic as
 * exactly the risk events `replayEvents` yields on the same input (apart from detectedAt).
 */
import { join } from 'node:path'
import { afterEach, expect, it } from 'vitest'
import { createTestTopics, createTopics, describeKafka, produceMany, readTopic, spawnInstances, uniqueName, waitFor, committedTotal, type InstancesProcess } from '../helpers/kafka.ts'
import { tempDir } from '../helpers/store.ts'
import { fleetFeed, messagesOf, reference, referenceConfig, riskById, riskDiff } from './fixtures/fleet.ts'

const CHILD = join(import.meta.dirname, 'fixtures/instances.ts')
const children: InstancesProcess[] = []
afterEach(() => {
  for (const c of children.splice(0)) c.kill()
})

describeKafka('Kafka in, risk events out, against replay', () => {
  it('a simulated fleet on one ordered input partition yields exactly the replay\'s risk events, keyed and headed', async () => {
    const feed = fleetFeed({ seed: 11, agents: 10, days: 9 }, 1)
    const topics = await createTestTopics(1)
    const input = `${topics.signins}.all`
    await createTopics([input], 1)
    await produceMany(input, messagesOf(feed))
    const groupId = uniqueName('e2e-replay')

    const began = Date.now()
    const p = spawnInstances(CHILD, { groupId, topics, inputTopics: [input], dataDir: join(tempDir(), 'data') })
    children.push(p)
    p.send({ cmd: 'add', name: 'a' })
    await waitFor(async () => (p.check(), (await committedTotal(groupId, input)) === feed.events.length), 90_000, 'every event committed')
    const elapsed = Date.now() - began

    const want = reference(feed, referenceConfig())
    const got = riskById(await readTopic(topics.risk))
    expect(want.size).toBeGreaterThan(50)
    expect([...got.byId.keys()].sort()).toEqual([...want.keys()].sort())
    expect(got.copies).toBe(want.size) // an uninterrupted run publishes each risk event once
    for (const [id, e] of want) expect(got.byId.get(id)).toEqual(e)
    console.log(`e2e-replay: ${feed.events.length} events, ${want.size} risk events, ${elapsed} ms`)

    p.send({ cmd: 'exit' })
    expect(await p.exited).toBe(0)
  }, 150_000)
})
