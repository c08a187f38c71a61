/**
 * One place that builds kafkajs clients for AgentWatch: brokers from config (or KAFKA_BROKERS),
 * kafkajs' own log lines routed into the service's pino logger, and the Java-compatible
 * partitioner so that any producer keyed by agent id (Java, Go, kafkajs) lands an agent on the
 * same partition number on every topic.
 */
import { Kafka, logLevel, type LogEntry, type logCreator } from 'kafkajs'
import type { Config } from '../../schemas/config.ts'
import { log as baseLog, type Logger } from './log.ts'

export type KafkaConfig = Config['kafka']

/** Brokers from `KAFKA_BROKERS` (comma-separated host:port) when set, else from config. */
export function brokersFrom(config: Pick<KafkaConfig, 'brokers'>, env: NodeJS.ProcessEnv = process.env): string[] {
  const fromEnv = env.KAFKA_BROKERS?.split(',').map((b) => b.trim()).filter(Boolean)
  return fromEnv && fromEnv.length > 0 ? fromEnv : config.brokers
}

function pinoLogCreator(logger: Logger): logCreator {
  return () =>
    ({ namespace, level, log: entry }: LogEntry) => {
      const { message, timestamp: _ts, logger: _name, ...fields } = entry
      const obj = { kafkajs: namespace, ...fields }
      switch (level) {
        case logLevel.ERROR:
          // kafkajs logs every failed request at error level and then retries it (a leader that
          // moved, a coordinator still loading); only what it gives up on is a real error, and
          // that reaches the caller as a rejection.
          if (namespace === 'Connection') logger.warn(obj, message)
          else logger.error(obj, message)
          break
        case logLevel.WARN:
          logger.warn(obj, message)
          break
        case logLevel.INFO:
          // kafkajs is chatty at info (every join, every connect); keep it one level down.
          logger.debug(obj, message)
          break
        default:
          logger.trace(obj, message)
      }
    }
}

export interface KafkaClientOptions {
  brokers?: string[]
  clientId?: string
  logger?: Logger
}

export function createKafkaClient(config: Pick<KafkaConfig, 'brokers' | 'clientId'>, opts: KafkaClientOptions = {}): Kafka {
  const logger = opts.logger ?? baseLog
  return new Kafka({
    clientId: opts.clientId ?? config.clientId,
    brokers: opts.brokers ?? brokersFrom(config),
    logLevel: logLevel.INFO,
    logCreator: pinoLogCreator(logger),
    // A broker that does not accept a connection within 3 s is treated as down. Milliseconds.
    connectionTimeout: 3000,
    requestTimeout: 30_000,
    retry: { initialRetryTime: 300, maxRetryTime: 30_000, retries: 8 },
  })
}
