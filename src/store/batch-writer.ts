/**
 * Batched inserts into one table: rows queue in memory and go out as one INSERT when `flushRows`
 * wait or `flushMs` passed, whichever comes first. `flush()` resolves once every row queued before
 * the call is in ClickHouse; a failed insert keeps its rows and is retried with backoff, so nothing
 * is lost while the database is away (checkpoints wait meanwhile, offsets are not committed, and
 * once too many processed events wait for a checkpoint the sources stop consuming: backpressure).
 */
import type { StoreClient } from './client.ts'
import { log } from '../util/log.ts'

export interface BatchWriterOptions {
  flushRows: number
  flushMs: number
  /** First retry delay after a failed insert, ms; doubles up to maxBackoffMs, with jitter. */
  backoffMs?: number
  maxBackoffMs?: number
}

export class BatchWriter<Row extends Record<string, unknown>> {
  private queue: Row[] = []
  private inFlight: Promise<void> = Promise.resolve()
  private timer: NodeJS.Timeout | undefined
  private closed = false
  rowsWritten = 0
  failures = 0

  constructor(
    private readonly store: StoreClient,
    readonly table: string,
    private readonly opts: BatchWriterOptions,
  ) {}

  get pending(): number {
    return this.queue.length
  }

  write(row: Row): void {
    this.queue.push(row)
    if (this.queue.length >= this.opts.flushRows) void this.flush().catch(() => {})
    else if (!this.timer && !this.closed) {
      this.timer = setTimeout(() => {
        this.timer = undefined
        void this.flush().catch(() => {})
      }, this.opts.flushMs)
      this.timer.unref()
    }
  }

  /** Resolves when every row queued so far is inserted. */
  flush(): Promise<void> {
    if (this.timer) {
      clearTimeout(this.timer)
      this.timer = undefined
    }
    const rows = this.queue
    this.queue = []
    // Inserts are chained so rows reach the table in the order they were written.
    this.inFlight = this.inFlight.then(() => (rows.length ? this.insertWithRetry(rows) : undefined))
    return this.inFlight
  }

  async close(): Promise<void> {
    this.closed = true
    await this.flush()
  }

  private async insertWithRetry(rows: Row[]): Promise<void> {
    let delay = this.opts.backoffMs ?? 100
    const max = this.opts.maxBackoffMs ?? 10_000
    for (let attempt = 1; ; attempt++) {
      try {
        await this.store.client.insert({ table: `${this.store.database}.${this.table}`, values: rows, format: 'JSONEachRow' })
        this.rowsWritten += rows.length
        return
      } catch (err) {
        this.failures++
        if (this.closed && attempt >= 3) throw err
        log.warn({ table: this.table, rows: rows.length, attempt, err: (err as Error).message }, 'insert failed; retrying')
        await new Promise((r) => setTimeout(r, delay / 2 + Math.random() * delay))
        delay = Math.min(max, delay * 2)
      }
    }
  }
}
