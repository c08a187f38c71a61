/** The service wired to Kafka as `agentwatch serve` wires it, against the real broker. */
import { afterEach, expect, it } from 'vitest'
import { buildApp } from '../../src/api/app.ts'
import { createService, type Service } from '../../src/service.ts'
import { createKafkaSinks } from '../../src/sinks/kafka.ts'
import { KafkaSource } from '../../src/sources/kafka.ts'
import { committedTotal, consumeN, createTestTopics, describeKafka, produce, testKafkaConfig, waitFor } from '../helpers/kafka.ts'
import { testConfig } from '../helpers/store.ts'
import type { Config } from '../../schemas/config.ts'

const running: (() => Promise<void>)[] = []
afterEach(async () => {
  for (const stop of running.splice(0).reverse()) await stop()
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

/** The service wired as `agentwatch serve` wires it with Kafka: sinks, source, and HTTP events forwarded. */
async function kafkaService(config: Config): Promise<Service> {
  const sinks = createKafkaSinks(config.kafka)
  const source = new KafkaSource(config.kafka, { sessionTimeoutMs: 6000, heartbeatIntervalMs: 500 })
  const service = await createService(config, {
    riskSinks: [sinks.risk],
    actionSinks: [sinks.actions],
    deadLetterSinks: [sinks.deadLetter],
    sources: [source],
    eventForwarder: sinks.events,
  })
  running.push(async () => {
    await service.stop()
    await sinks.close()
  })
  return service
}

describeKafka('service with Kafka in and out', () => {
  it('consumes, dead-letters bad input with its bytes, commits after processing', async () => {
    const topics = await createTestTopics(2)
    const kafka = testKafkaConfig(topics)
    const service = await kafkaService(testConfig({ kafka }))

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

  it('writes events posted over HTTP onto the input topics for the instance holding their agents, and dead-letters the invalid ones', async () => {
    const topics = await createTestTopics(2)
    const kafka = testKafkaConfig(topics)
    const key = 'operator-key-0123456789'
    const service = await kafkaService(testConfig({ kafka, api: { keys: [{ name: 'ops', role: 'operator', key }] } }))
    const app = buildApp(service.deps)
    running.push(() => app.close())

    const call = {
      eventId: 'http-call-1',
      time: '2026-03-02T09:00:05.000Z',
      tenantId: 'tenant-1',
      agent: { id: 'agent-h2', blueprintId: 'bp-1' },
      kind: 'tool_call',
      tool: 'sharepoint.search',
      resource: 'sharepoint://sites/support',
      operation: 'read',
      outcome: 'success',
    }
    const invalid = { ...signin(7, 'agent-h1'), outcome: 'maybe' }
    const res = await app.inject({
      method: 'POST',
      url: '/v1/events',
      headers: { authorization: `Bearer ${key}` },
      payload: [signin(1, 'agent-h1'), invalid, call],
    })
    expect(res.statusCode).toBe(200)
    const body = res.json()
    expect(body).toMatchObject({ accepted: 2, duplicates: 0, rejected: 1, forwarded: true, riskEvents: [] })
    expect(body.results.map((r: { status: string }) => r.status)).toEqual(['accepted', 'rejected', 'accepted'])
    // Acknowledged by the broker before the answer, untouched and keyed by agent id.
    const [onSignins] = await consumeN(topics.signins, 1)
    expect(onSignins!.key).toBe('agent-h1')
    expect(JSON.parse(onSignins!.value.toString('utf8'))).toEqual(signin(1, 'agent-h1'))
    const [onCalls] = await consumeN(topics.toolCalls, 1)
    expect(onCalls!.key).toBe('agent-h2')
    expect(JSON.parse(onCalls!.value.toString('utf8'))).toEqual(call)
    const [dl] = await consumeN(topics.deadLetter, 1)
    expect(JSON.parse(dl!.value.toString('utf8'))).toEqual(invalid)
    expect(dl!.headers.origin).toBe('http')
    // Not processed by the instance that received them: nothing is learned until the consumer
    // delivers them, with the partition their agent's events come from.
    expect(service.pipeline.stats.processed).toBe(0)
    await service.start()
    await waitFor(() => service.pipeline.stats.processed === 2, 20_000, 'both forwarded events processed from Kafka')
    expect(service.pipeline.baselines.agents.get('agent-h1')!.partition).toBeTypeOf('number')
    expect(service.pipeline.baselines.agents.get('agent-h2')!.partition).toBeTypeOf('number')
    expect(service.ingestor.counters).toMatchObject({ forwarded: 2, accepted: 2, rejected: 1 })
  })
})
