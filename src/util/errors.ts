/**
 * Errors AgentWatch raises on purpose. `retriable` tells a caller whether trying the same thing
 * again later may succeed (a broker or store that is briefly unavailable) or not (bad input, a bug).
 * Sources use it to decide between pausing with backoff and logging loudly; both retry, neither drops.
 */
export class AgentWatchError extends Error {
  readonly retriable: boolean
  readonly code: string

  constructor(message: string, opts: { retriable: boolean; code?: string; cause?: unknown }) {
    super(message, opts.cause === undefined ? undefined : { cause: opts.cause })
    this.name = 'AgentWatchError'
    this.retriable = opts.retriable
    this.code = opts.code ?? (opts.retriable ? 'RETRIABLE' : 'FATAL')
  }
}

/** A dependency is unavailable or overloaded; the same call may succeed later. */
export class RetriableError extends AgentWatchError {
  constructor(message: string, cause?: unknown, code = 'UNAVAILABLE') {
    super(message, { retriable: true, code, cause })
    this.name = 'RetriableError'
  }
}

/** Retrying the same call will fail the same way. */
export class FatalError extends AgentWatchError {
  constructor(message: string, cause?: unknown, code = 'FATAL') {
    super(message, { retriable: false, code, cause })
    this.name = 'FatalError'
  }
}

/**
 * Whether an error is worth retrying. AgentWatch errors say so themselves; kafkajs errors carry
 * `retriable`; network failures (connection refused or reset, timeouts) are transient by nature.
 * Anything else is treated as not retriable, so it is logged as a problem rather than as load.
 */
export function isRetriable(err: unknown): boolean {
  if (err instanceof AgentWatchError) return err.retriable
  if (typeof err !== 'object' || err === null) return false
  const e = err as { retriable?: unknown; code?: unknown; name?: unknown }
  if (typeof e.retriable === 'boolean') return e.retriable
  if (typeof e.code === 'string' && TRANSIENT_CODES.has(e.code)) return true
  return e.name === 'TimeoutError' || e.name === 'AbortError'
}

const TRANSIENT_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'EPIPE',
  'ETIMEDOUT',
  'EAI_AGAIN',
  'ENOTFOUND',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'UND_ERR_CONNECT_TIMEOUT',
  'UND_ERR_SOCKET',
])

/** A short text for logs, following `cause` chains. */
export function describeError(err: unknown): string {
  const parts: string[] = []
  let cur: unknown = err
  for (let depth = 0; cur !== undefined && cur !== null && depth < 5; depth++) {
    parts.push(cur instanceof Error ? `${cur.name}: ${cur.message}` : String(cur))
    cur = cur instanceof Error ? cur.cause : undefined
  }
  return parts.join(' <- ')
}
