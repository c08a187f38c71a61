import { Kafka, logLevel } from 'kafkajs'
import { afterEach, expect, it } from 'vitest'
import type { RiskEvent } from '../../schemas/risk.ts'
import type { EnforcementChange } from '../../src/enforcement/types.ts'
import { createKafkaSinks, type KafkaSinks } from '../../src/sinks/kafka.ts'
import { consumeN, createTestTopics, createTopics, describeKafka, testKafkaConfig } from '../helpers/kafka.ts'

const open: KafkaSinks[] = []
afterEach(async () => {
  await Promise.all(open.splice(0).map((s) => s.close()))
})

function risk(agentId: string, n: number): RiskEvent {
  return {
    riskEventId: `risk-${agentId}-${n}`,
    tenantId: 't1',
    agentId,
    time: '2026-03-02T09:15:00.000Z',
    detectedAt: '2026-03-02T09:15:01.000Z',
    riskLevel: 'medium',
    previousRiskLevel: 'low',
    riskScore: 55,
    detections: [{ detector: 'resource_novelty', score: 0.8, observation: 'first_seen', reason: 'new resource', evidence: { resource: 'x' } }],
    eventIds: [`e${n}`],
    action: 'notify_owner',
  }
}

describeKafka('Kafka sinks against a real broker', () => {
  it('dead-letter sink keeps the payload bytes untouched and says why and where in headers', async () => {
    const topics = await createTestTopics(1)
    const sinks = createKafkaSinks(testKafkaConfig(topics))
    open.push(sinks)
    const text = '{"eventId": "e1", "kind": "sign\u00efn", "trailing": true  \n'
    const binary = Buffer.from([0x7b, 0xff, 0xfe, 0x00, 0x7d]) // not valid UTF-8
    sinks.deadLetter.write({ origin: 'agent.signins', partition: 4, offset: '1234', key: 'agent-9', receivedAt: 1767225600000, reason: 'kind: kind must be "signin" or "tool_call"', payload: text })
    sinks.deadLetter.write({ origin: 'http', receivedAt: 1767225600001, reason: 'not valid JSON', payload: binary as unknown as string })
    await sinks.deadLetter.flush()

    const [a, b] = await consumeN(topics.deadLetter, 2)
    expect(a!.value.equals(Buffer.from(text, 'utf8'))).toBe(true)
    expect(a!.key).toBe('agent-9')
    expect(a!.headers).toEqual({ reason: 'kind: kind must be "signin" or "tool_call"', origin: 'agent.signins', partition: '4', offset: '1234', receivedAt: '1767225600000' })
    expect(b!.value.equals(binary)).toBe(true)
    expect(b!.key).toBeUndefined()
    expect(b!.headers).toEqual({ reason: 'not valid JSON', origin: 'http', receivedAt: '1767225600001' })
  })

  it('risk sink keys by agent id (one partition per agent), JSON value, riskEventId header', async () => {
    const topics = await createTestTopics(3)
    const sinks = createKafkaSinks(testKafkaConfig(topics))
    open.push(sinks)
    const agents = ['agent-a', 'agent-b', 'agent-c', 'agent-d', 'agent-e', 'agent-f']
    const sent = agents.flatMap((a) => [risk(a, 1), risk(a, 2)])
    for (const e of sent) sinks.risk.write(e)
    // Nothing is sent until flush.
    await sinks.risk.flush()

    const got = await consumeN(topics.risk, sent.length)
    const partitionOf = new Map<string, Set<number>>()
    for (const m of got) {
      const value = JSON.parse(m.value.toString('utf8')) as RiskEvent
      expect(m.key).toBe(value.agentId)
      expect(m.headers.riskEventId).toBe(value.riskEventId)
      expect(sent).toContainEqual(value)
      partitionOf.set(m.key!, (partitionOf.get(m.key!) ?? new Set()).add(m.partition))
    }
    for (const ps of partitionOf.values()) expect(ps.size).toBe(1)
    // Per agent, order is kept.
    for (const a of agents) {
      expect(got.filter((m) => m.key === a).map((m) => m.headers.riskEventId)).toEqual([`risk-${a}-1`, `risk-${a}-2`])
    }
  })

  it('actions sink keys by agent id with a changeId header', async () => {
    const topics = await createTestTopics(1)
    const sinks = createKafkaSinks(testKafkaConfig(topics))
    open.push(sinks)
    const change: EnforcementChange = {
      changeId: 'c1',
      agentId: 'agent-q',
      from: 'allowed',
      to: 'quarantined',
      state: { agentId: 'agent-q', mode: 'quarantined', since: 1, reason: 'high risk', by: 'policy' },
      riskEventId: 'risk-agent-q-1',
      at: 2,
    }
    sinks.actions.write(change)
    await sinks.actions.flush()
    const [m] = await consumeN(topics.actions, 1)
    expect(m!.key).toBe('agent-q')
    expect(m!.headers).toMatchObject({ changeId: 'c1', riskEventId: 'risk-agent-q-1' })
    expect(JSON.parse(m!.value.toString())).toEqual(change)
  })

  it('flush rejects with a retriable error while the topic is missing, keeps the messages, sends them once it exists', async () => {
    const topics = await createTestTopics(1)
    const missing = `${topics.risk}.later`
    const config = testKafkaConfig({ ...topics, risk: missing })
    // Few client-level retries so the failure surfaces in about a second.
    const kafka = new Kafka({ brokers: config.brokers, logLevel: logLevel.NOTHING, retry: { retries: 1, initialRetryTime: 50, maxRetryTime: 200 } })
    const sinks = createKafkaSinks(config, { kafka, attempts: 2, backoff: { baseMs: 10, maxMs: 20 } })
    open.push(sinks)
    sinks.risk.write(risk('agent-z', 1))
    const err = await sinks.risk.flush().then(
      () => undefined,
      (e: unknown) => e,
    )
    expect(err).toMatchObject({ retriable: true, code: 'KAFKA_SEND' })

    await createTopics([missing], 1)
    sinks.risk.write(risk('agent-z', 2))
    await sinks.risk.flush()
    const got = await consumeN(missing, 2)
    expect(got.map((m) => m.headers.riskEventId)).toEqual(['risk-agent-z-1', 'risk-agent-z-2'])
  })
})
