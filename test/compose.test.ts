/**
 * docker-compose.yml cannot run here (no Docker engine); this checks that what it names matches
 * what the service reads: services, ports, topics and environment variables.
 */
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { parse } from 'yaml'
import { ConfigSchema } from '../schemas/config.ts'
import { envOverrides } from '../src/config/load.ts'
import { deepMerge } from '../src/config/merge.ts'

const compose = parse(readFileSync(join(import.meta.dirname, '..', 'docker-compose.yml'), 'utf8'))
const defaults = ConfigSchema.parse({})

describe('docker-compose.yml', () => {
  it('runs Kafka, topic creation, ClickHouse and AgentWatch', () => {
    expect(Object.keys(compose.services).sort()).toEqual(['agentwatch', 'clickhouse', 'kafka', 'kafka-init'])
    expect(compose.services.kafka.image).toBe('apache/kafka:3.9.1')
    expect(compose.services.agentwatch.depends_on).toMatchObject({
      'kafka-init': { condition: 'service_completed_successfully' },
      clickhouse: { condition: 'service_healthy' },
    })
    for (const name of ['kafka', 'clickhouse', 'agentwatch']) expect(compose.services[name].healthcheck, name).toBeDefined()
  })

  it('creates exactly the topics the service consumes and produces by default', () => {
    const script: string = compose.services['kafka-init'].command.join('\n')
    const created = script.match(/for t in ([^;]+);/)![1].trim().split(/\s+/).sort()
    expect(created).toEqual(Object.values(defaults.kafka.topics).sort())
  })

  it('gives AgentWatch only environment variables it understands, and they validate', () => {
    const env = compose.services.agentwatch.environment as Record<string, string | number>
    const asStrings = Object.fromEntries(Object.entries(env).map(([k, v]) => [k, String(v)]))
    const { patch, issues } = envOverrides(asStrings)
    expect(issues).toEqual([])
    const config = ConfigSchema.parse(deepMerge({}, patch))
    expect(config.kafka).toMatchObject({ enabled: true, brokers: ['kafka:19092'] })
    expect(config.store).toMatchObject({ url: 'http://clickhouse:8123', username: 'agentwatch', database: 'agentwatch' })
    expect(config.api.host).toBe('0.0.0.0')
    expect(config.api.keys.map((k) => k.role).sort()).toEqual(['admin', 'analyst'])
    // Every variable must have had an effect: a typo would be silently ignored otherwise.
    const understood = new Set(['KAFKA_BROKERS', 'CLICKHOUSE_URL', 'CLICKHOUSE_USER', 'CLICKHOUSE_PASSWORD', 'CLICKHOUSE_DATABASE', 'AGENTWATCH_API_HOST', 'AGENTWATCH_API_PORT', 'AGENTWATCH_API_KEYS'])
    for (const k of Object.keys(env)) expect(understood.has(k), k).toBe(true)
  })

  it('publishes the ports the service and its dependencies listen on', () => {
    expect(compose.services.agentwatch.ports).toContain(`${defaults.api.port}:${defaults.api.port}`)
    expect(compose.services.kafka.ports).toContain('9092:9092')
    expect(compose.services.clickhouse.ports).toContain('8123:8123')
    expect(compose.services.kafka.environment.KAFKA_OFFSETS_TOPIC_REPLICATION_FACTOR).toBe(1)
  })
})
