/**
 * agentwatch serve [--config FILE] [--demo]
 *
 * Runs the service: embedded ClickHouse (chDB) in a data folder unless a ClickHouse URL is set,
 * HTTP ingest and the control API, and Kafka in and out when brokers are configured. `--demo`
 * feeds a simulated fleet in compressed time so risk events show up within a minute.
 */
import { parseArgs } from 'node:util'
import type { Config } from '../../schemas/config.ts'
import { ConfigError, configPathFrom, loadConfig } from '../config/load.ts'
import { watchConfig } from '../config/watch.ts'
import { buildApp } from '../api/app.ts'
import { createService, type ServiceOptions } from '../service.ts'
import { log } from '../util/log.ts'

const USAGE = 'usage: agentwatch serve [--config FILE] [--demo]\n'

export async function main(args: string[]): Promise<number> {
  let values
  try {
    values = parseArgs({ args, options: { config: { type: 'string' }, demo: { type: 'boolean' }, help: { type: 'boolean', short: 'h' } } }).values
  } catch (err) {
    process.stderr.write(`agentwatch serve: ${(err as Error).message}\n${USAGE}`)
    return 2
  }
  if (values.help) {
    process.stdout.write(USAGE)
    return 0
  }
  const path = values.config ?? configPathFrom([])
  let config: Config
  try {
    config = loadConfig({ path })
  } catch (err) {
    if (err instanceof ConfigError) {
      // Every problem, one per line, and no start.
      process.stderr.write(`agentwatch serve: ${err.message}\n`)
      return 2
    }
    throw err
  }
  if (values.demo) config = { ...config, demo: true }

  const opts: ServiceOptions = {}
  let closeKafka: (() => Promise<void>) | undefined
  if (config.kafka.enabled) {
    const { createKafkaSinks } = await import('../sinks/kafka.ts')
    const { KafkaSource } = await import('../sources/kafka.ts')
    const sinks = createKafkaSinks(config.kafka)
    opts.riskSinks = [sinks.risk]
    opts.actionSinks = [sinks.actions]
    opts.deadLetterSinks = [sinks.deadLetter]
    opts.sources = [new KafkaSource(config.kafka)]
    // Events posted over HTTP go to the input topics, for the instance that holds their agents.
    opts.eventForwarder = sinks.events
    closeKafka = () => sinks.close()
  }

  const service = await createService(config, opts)
  const app = await buildApp(service.deps)
  await service.start()
  const address = await app.listen({ host: config.api.host, port: config.api.port })
  log.info(
    { address, store: config.store.url ?? `chdb:${config.store.dataDir}`, kafka: config.kafka.enabled ? config.kafka.brokers : false, apiKeys: config.api.keys.length },
    'agentwatch listening',
  )
  if (config.api.keys.length === 0) {
    log.warn({}, 'no API keys configured: only /health, /ready, /metrics and /openapi.json answer; add api.keys or AGENTWATCH_API_KEYS')
  }
  const watcher = path ? watchConfig({ path, holder: service.config }) : undefined

  let demo: { stop(): Promise<void> } | undefined
  if (config.demo) {
    const { startDemo } = await import('./demo.ts')
    demo = startDemo(service)
  }

  await new Promise<void>((resolve) => {
    const stop = (signal: string) => {
      log.info({ signal }, 'stopping')
      resolve()
    }
    process.once('SIGINT', () => stop('SIGINT'))
    process.once('SIGTERM', () => stop('SIGTERM'))
  })
  await demo?.stop()
  watcher?.close()
  await app.close()
  await service.stop()
  await closeKafka?.()
  return 0
}
