/** The service's structured logger: fields first, then the message. Level from LOG_LEVEL. */
import pino from 'pino'

export const log = pino({ level: process.env.LOG_LEVEL ?? 'info', base: { service: 'agentwatch' } })
export type Logger = typeof log
