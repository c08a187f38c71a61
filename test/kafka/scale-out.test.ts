/**
 * Scale-out: two instances in one group, a third joining and the first leaving mid-stream. Each
 * instance has its own pipeline, consumer and producers; they share one ClickHouse (one Store in
 * one process, since chDB binds a data folder to a process). The risk events equal the
 * single-instance reference exactly, by riskEventId and content.
 *
 * What makes exact equality possible, and is a property of the input, not of the test: every agent
 * of a blueprint is on one partition (a blueprint spanning instances takes in the others' partials
 * only on refresh, so it would be judged against peers that lag), and time sweeps are off (a sweep
 * runs at an instance's own event-time watermark, the latest event of all partitions it holds).
 * The dormancy sweep runs every 100 ms: agents idle for an hour of event time go dormant and wake,
 * including on partitions handed over, and the risk events still equal the reference.
 * docs/kafka.md ("Scaling out and determinism") explains both.
 */
import { join } from 'node:path'
import { afterEach, expect, it } from 'vitest'
import { committedTotal, createTestTopics, createTopics, describeKafka, produceMany, readTopic, spawnInstances, uniqueName, waitFor, type InstancesProcess } from '../helpers/kafka.ts'
import { tempDir } from '../helpers/store.ts'
import { fleetFeed, messagesOf, reference, referenceConfig, riskById, riskDiff } from './fixtures/fleet.ts'

const CHILD = join(import.meta.dirname, 'fixtures/instances.ts')
const PARTITIONS = 4
/** Longer than the stream: no time sweep runs. */
const NO_SWEEPS = { sweepMinutes: 1e9 }
const children: InstancesProcess[] = []
afterEach(() => {
  for (const c of children.splice(0)) c.kill()
})

type Ownership = { name: string; partitions: number[] }

describeKafka('scale-out in one consumer group', () => {
  it('two instances, a third joins and one leaves mid-stream: the same risk events as one instance', async () => {
    const feed = fleetFeed({ seed: 5, agents: 12, days: 9 }, PARTITIONS)
    expect(new Set(feed.partitionOf.values()).size).toBe(PARTITIONS)
    const topics = await createTestTopics(1)
    const input = `${topics.signins}.all`
    await createTopics([input], PARTITIONS)
    await produceMany(input, messagesOf(feed))
    const total = feed.events.length
    const groupId = uniqueName('e2e-scale')

    const began = Date.now()
    // Paced: at most 300 processed events wait for a checkpoint, each held 300 ms before its
    // baselines, so the stream lasts long enough for the membership to change under it (and
    // backpressure is exercised).
    const cfg = { groupId, topics, inputTopics: [input], dataDir: join(tempDir(), 'data'), risk: NO_SWEEPS, maxBytesPerPartition: 64 * 1024, store: { checkpointMs: 200, maxPendingEvents: 300 }, checkpointHoldMs: 300, dormancySweepMs: 100 }
    const p = spawnInstances(CHILD, cfg)
    children.push(p)
    p.send({ cmd: 'add', name: 'a' })
    p.send({ cmd: 'add', name: 'b' })
    await p.until((l) => (l.assigned as Ownership | undefined)?.name === 'b', 60_000, 'b assigned partitions')
    await waitFor(() => (p.check(), p.durableCount() >= total * 0.2), 90_000, '20% durable')
    p.send({ cmd: 'add', name: 'c' })
    await p.until((l) => l.started === 'c', 30_000, 'c started')
    await waitFor(() => (p.check(), p.durableCount() >= total * 0.5), 90_000, '50% durable')
    p.send({ cmd: 'remove', name: 'a' })
    await p.until((l) => l.removed === 'a', 60_000, 'a removed')
    const durableWhenALeft = p.durableCount()
    await waitFor(async () => (p.check(), (await committedTotal(groupId, input)) === total), 90_000, 'every event committed')
    const elapsed = Date.now() - began

    // The membership really changed mid-stream: every instance processed batches, and a left
    // before the stream was done.
    const batchesBy = (name: string) => p.lines.filter((l) => (l.batch as { name?: string } | undefined)?.name === name).length
    expect(batchesBy('a')).toBeGreaterThan(0)
    expect(batchesBy('b')).toBeGreaterThan(0)
    expect(batchesBy('c')).toBeGreaterThan(0)
    expect(durableWhenALeft).toBeLessThan(total)
    const assigned = p.lines.filter((l) => l.assigned).map((l) => l.assigned as Ownership)
    expect(assigned.some((o) => o.name === 'c' && o.partitions.length > 0)).toBe(true)
    // Agents went dormant over the stream's nights and woke with their next event, and partitions
    // changed hands while agents on them were dormant: the new owner restored those from ClickHouse.
    const revocations = p.lines.filter((l) => l.revoked).map((l) => l.revoked as { dormant: number; dormantAfter: number })
    const dormantAtRevocation = revocations.reduce((n, r) => n + r.dormant, 0)
    expect(dormantAtRevocation).toBeGreaterThan(0)
    // The instance that let a partition go keeps none of its agents, dormant ones included.
    expect(revocations.map((r) => r.dormantAfter)).toEqual(revocations.map(() => 0))

    const want = reference(feed, referenceConfig(NO_SWEEPS))
    const got = riskById(await readTopic(topics.risk))
    expect(want.size).toBeGreaterThan(50)
    expect(riskDiff(got.byId, want)).toEqual({ missing: [], unexpected: [], different: [] })
    for (const [id, e] of want) expect(got.byId.get(id)).toEqual(e)
    console.log(`scale-out: ${total} events on ${PARTITIONS} partitions, ${want.size} risk events, ${got.copies - want.size} repeated, batches a/b/c ${batchesBy('a')}/${batchesBy('b')}/${batchesBy('c')}, ${elapsed} ms`)

    p.send({ cmd: 'exit' })
    expect(await p.exited).toBe(0)
    const dormancy = p.lines.filter((l) => l.dormancy).map((l) => l.dormancy as { name: string; frozen: number; thawed: number })
    expect(dormancy.map((d) => d.name).sort()).toEqual(['a', 'b', 'c'])
    expect(dormancy.reduce((n, d) => n + d.frozen, 0)).toBeGreaterThan(0)
    expect(dormancy.reduce((n, d) => n + d.thawed, 0)).toBeGreaterThan(0)
    console.log(`scale-out dormancy: ${dormancy.map((d) => `${d.name} froze ${d.frozen}, thawed ${d.thawed}`).join('; ')}; ${dormantAtRevocation} dormant when their partition was revoked`)
  }, 170_000)
})
