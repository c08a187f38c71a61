/**
 * Retries with exponential backoff and full jitter: the n-th wait is uniform in
 * [0, min(maxMs, baseMs * factor^n)], so many instances recovering from the same outage do not
 * retry in lockstep. Non-retriable errors (see isRetriable) are rethrown at once unless
 * `retryAll` is set.
 */
import { isRetriable } from './errors.ts'

export interface BackoffOptions {
  /** First wait's upper bound. Milliseconds. Default 100. */
  baseMs?: number
  /** No wait is longer than this. Milliseconds. Default 30 000. */
  maxMs?: number
  /** Growth per attempt. Default 2. */
  factor?: number
  /** Random source in [0, 1), replaceable in tests. */
  random?: () => number
}

export interface RetryOptions extends BackoffOptions {
  /** Attempts in all, including the first. Default 5; Infinity retries until `signal` aborts. */
  attempts?: number
  /** Retry errors that say they are not retriable too. */
  retryAll?: boolean
  /** Stops waiting and rethrows the last error when aborted. */
  signal?: AbortSignal
  /** Called before each wait with the attempt that failed (1-based), the error and the wait (ms). */
  onRetry?: (attempt: number, err: unknown, delayMs: number) => void
}

/** The wait before retry number `attempt` (0-based). Milliseconds. */
export function backoffDelay(attempt: number, opts: BackoffOptions = {}): number {
  const base = opts.baseMs ?? 100
  const max = opts.maxMs ?? 30_000
  const factor = opts.factor ?? 2
  const cap = Math.min(max, base * Math.pow(factor, Math.min(attempt, 64)))
  return Math.round((opts.random ?? Math.random)() * cap)
}

/** Resolves after `ms` milliseconds, or at once when `signal` aborts. */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal?.aborted) return resolve()
    const done = () => {
      clearTimeout(timer)
      signal?.removeEventListener('abort', done)
      resolve()
    }
    const timer = setTimeout(done, ms)
    signal?.addEventListener('abort', done, { once: true })
  })
}

export async function retry<T>(fn: (attempt: number) => Promise<T>, opts: RetryOptions = {}): Promise<T> {
  const attempts = opts.attempts ?? 5
  for (let attempt = 1; ; attempt++) {
    try {
      return await fn(attempt)
    } catch (err) {
      if (attempt >= attempts || opts.signal?.aborted) throw err
      if (!opts.retryAll && !isRetriable(err)) throw err
      const delay = backoffDelay(attempt - 1, opts)
      opts.onRetry?.(attempt, err, delay)
      await sleep(delay, opts.signal)
      if (opts.signal?.aborted) throw err
    }
  }
}
