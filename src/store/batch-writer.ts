/**
 * Batched inserts into one table: rows are encoded as they are written (one text line each, so the
 * cost is spread over the events instead of falling on the flush) and go out as one INSERT when
 * `flushRows` wait or `flushMs` passed, whichever comes first. `flush()` resolves once every row
 * queued before the call is in ClickHouse; a failed insert keeps its rows and is retried with
 * backoff, so nothing is lost while the database is away (checkpoints wait meanwhile, offsets are
 * not committed, and once too many processed events wait for a checkpoint the sources stop
 * consuming: backpressure).
 */
import type { InsertFormat, StoreClient } from './client.ts'
import { log } from '../util/log.ts'

export interface BatchWriterOptions {
  flushRows: number
  flushMs: number
  /** First retry delay after a failed insert, ms; doubles up to maxBackoffMs, with jitter. */
  backoffMs?: number
  maxBackoffMs?: number
}

/** How a row becomes one line of the insert body. */
export interface RowCodec<Row> {
  format: InsertFormat
  /** The columns each line holds, in order (JSONCompactEachRow); all of the table's otherwise. */
  columns?: readonly string[]
  encode(row: Row): string
}

/** Objects as JSONEachRow lines: column names are the keys. */
export const jsonEachRow: RowCodec<Record<string, unknown>> = { format: 'JSONEachRow', encode: (row) => JSON.stringify(row) }

/** Bytes of a writer's first queue buffer; it doubles as a batch needs (and is kept for the next). */
const FIRST_QUEUE_BYTES = 64 * 1024

export class BatchWriter<Row = Record<string, unknown>> {
  /**
   * Rows waiting, as the UTF-8 bytes of the insert body (each line followed by a newline), outside
   * the V8 heap. Why not the lines as strings: an events batch holds ~20,000 of them for up to a
   * second, long enough for the collector to copy them all to the old generation, and joining them
   * at the flush was one block of 10-16 ms.
   *
   * A flush hands this buffer to the insert as it is, and rows written meanwhile go to another: the
   * spare, which the last insert to finish gave back, or a new one. So a writer keeps two buffers,
   * each at the size its largest batch needed.
   */
  private queue: Buffer = Buffer.allocUnsafe(FIRST_QUEUE_BYTES)
  private spare: Buffer | undefined
  private queuedBytes = 0
  private queuedRows = 0
  private inFlight: Promise<void> = Promise.resolve()
  private timer: NodeJS.Timeout | undefined
  private closed = false
  rowsWritten = 0
  failures = 0

  constructor(
    private readonly store: StoreClient,
    readonly table: string,
    private readonly opts: BatchWriterOptions,
    private readonly codec: RowCodec<Row> = jsonEachRow as unknown as RowCodec<Row>,
  ) {}

  get pending(): number {
    return this.queuedRows
  }

  write(row: Row): void {
    this.writeEncoded(this.codec.encode(row))
  }

  /** Encode a row now, to be queued later with `writeEncoded` (a checkpoint encodes a slice at a time). */
  encode(row: Row): string {
    return this.codec.encode(row)
  }

  /** Queue a row `encode` gave. */
  writeEncoded(line: string): void {
    // At most 3 bytes of UTF-8 per UTF-16 unit, and the newline.
    const room = this.queuedBytes + 3 * line.length + 1
    if (room > this.queue.length) {
      let size = 2 * this.queue.length
      while (size < room) size *= 2
      const bigger = Buffer.allocUnsafe(size)
      this.queue.copy(bigger, 0, 0, this.queuedBytes)
      this.queue = bigger
    }
    this.queuedBytes += this.queue.write(line, this.queuedBytes, 'utf8')
    this.queue[this.queuedBytes++] = 0x0a
    if (++this.queuedRows >= this.opts.flushRows) void this.flush().catch(() => {})
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
    const rows = this.queuedRows
    if (rows > 0) {
      const buffer = this.queue
      const body = buffer.subarray(0, this.queuedBytes)
      this.queue = this.spare ?? Buffer.allocUnsafe(buffer.length)
      this.spare = undefined
      this.queuedBytes = 0
      this.queuedRows = 0
      // Inserts are chained so rows reach the table in the order they were written. The buffer is
      // the insert's until it settles, then the spare.
      this.inFlight = this.inFlight.then(() =>
        this.insertWithRetry(body, rows).finally(() => {
          this.spare = buffer
        }),
      )
    }
    return this.inFlight
  }

  async close(): Promise<void> {
    this.closed = true
    await this.flush()
  }

  private async insertWithRetry(body: Buffer, rows: number): Promise<void> {
    let delay = this.opts.backoffMs ?? 100
    const max = this.opts.maxBackoffMs ?? 10_000
    for (let attempt = 1; ; attempt++) {
      try {
        await this.store.insert(this.table, this.codec.columns, this.codec.format, body)
        this.rowsWritten += rows
        return
      } catch (err) {
        this.failures++
        if (this.closed && attempt >= 3) throw err
        log.warn({ table: this.table, rows, attempt, err: (err as Error).message }, 'insert failed; retrying')
        await new Promise((r) => setTimeout(r, delay / 2 + Math.random() * delay))
        delay = Math.min(max, delay * 2)
      }
    }
  }
}
