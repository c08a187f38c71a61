/** The service wired to Kafka as `agentwatch serve` wires it, against the real broker. */
import { afterEach, expect, it } from 'vitest'
import { createService, type Service } from '../../src/service.ts'
import { createKafkaSinks } from '../../src/sinks/kafka.ts'
import { KafkaSource } from '../../src/sources/kafka.ts'
import { committedTotal, consumeN, createTestTopics, describeKafka, produce, testKafkaConfig, waitFor } from '../helpers/kafka.ts'
import { testConfig } from '../helpers/store.ts'

const running: (() => Promise<void>)[] = []
afterEach(async () => {
  for (const stop of running.splice(0)) await stop()
})

function signin(i: number, agentId: string) {
  return {
    eventId: `svc-${agentId}-${i}`,
    time: new Date(Date.UTC(2026, 2, 2, 9, 0, i)).toISOString(),
    tenantId: 'tenant-1',
    agent: { id: agentId, blueprintId: 'bp-1' },
    kind: 'signin',
    credential: 'certificate',
    network: { ip: '10.0.0.1', country: 'NL' },
    resource: 'https://graph.microsoft.com',
    scopes: ['User.Read'],
    outcome: 'success',
  }
}

describeKafka('service with Kafka in and out', () => {
  it('consumes, dead-letters bad input with its bytes, commits after processing', async () => {
    const topics = await createTestTopics(2)
    const kafka = testKafkaConfig(topics)
    const config = testConfig({ kafka })
    const sinks = createKafkaSinks(config.kafka)
    const source = new KafkaSource(config.kafka, { sessionTimeoutMs: 6000, heartbeatIntervalMs: 500 })
    const service: Service = await createService(config, {
      riskSinks: [sinks.risk],
      actionSinks: [sinks.actions],
      deadLetterSinks: [sinks.deadLetter],
      sources: [source],
    })
    running.push(async () => {
      await service.stop()
      await sinks.close()
    })

    const bad = '{"eventId":"broken","kind":"signin"'
    // Latin-1 bytes, not valid UTF-8: they must reach the dead-letter topic byte for byte.
    const notUtf8 = Buffer.from([0x7b, 0x22, 0x65, 0x22, 0x3a, 0x22, 0xe9, 0xff, 0xfe, 0x22, 0x7d])
    const invalid = JSON.stringify({ ...signin(99, 'agent-1'), outcome: 'maybe' })
    await produce(topics.signins, [
      ...Array.from({ length: 3 }, (_, i) => ({ key: `agent-${i % 3}`, value: JSON.stringify(signin(i, `agent-${i % 3}`)) })),
      { key: 'agent-0', value: bad },
      { key: 'agent-2', value: notUtf8 },
      { key: 'agent-1', value: invalid },
      ...Array.from({ length: 3 }, (_, i) => ({ key: `agent-${i % 3}`, value: JSON.stringify(signin(i + 3, `agent-${i % 3}`)) })),
    ])
    await service.start()

    const dls = await consumeN(topics.deadLetter, 3)
    const byKey = new Map(dls.map((d) => [d.key, d]))
    const dl = byKey.get('agent-0')!
    expect(dl.value.toString('utf8')).toBe(bad)
    expect(dl.headers.origin).toBe(topics.signins)
    expect(dl.headers.reason).toMatch(/JSON/)
    expect(dl.headers.offset).toMatch(/^\d+$/)
    expect(byKey.get('agent-2')!.value.equals(notUtf8)).toBe(true)
    expect(byKey.get('agent-1')!.value.toString('utf8')).toBe(invalid)
    expect(byKey.get('agent-1')!.headers.reason).toMatch(/outcome/)
    // The consumer kept going: the valid events after the bad ones were processed and committed.
    await waitFor(async () => (await committedTotal(kafka.groupId, topics.signins)) === 9, 20_000, 'all 9 committed')
    expect(service.pipeline.baselines.agents.size).toBe(3)
    expect(service.pipeline.stats.processed).toBe(6)
  })
})
