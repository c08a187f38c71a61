/**
 * When checkpoints run: at most one at a time; every `intervalMs` while events were processed since
 * the last one, as soon as `events` were processed, when the stream goes quiet with `idleEvents`
 * waiting (see `onIdle`: the end of a burst is committed then, not up to `intervalMs` later), and
 * on request (HTTP ingest, feedback, manual actions, revocation, stop). `request()` resolves once
 * a checkpoint that started after the call has completed, so everything processed before the call
 * is durable; concurrent requests share one checkpoint.
 *
 * Backpressure: `admit()` makes a caller wait while more than `maxPendingEvents` processed events
 * are not covered by a completed checkpoint (outputs or ClickHouse lagging, or a checkpoint
 * failing); a source awaiting it stops consuming that partition, and resumes by itself once a
 * checkpoint completes.
 */
import { describeError } from '../util/errors.ts'
import { log as baseLog, type Logger } from '../util/log.ts'

/** An idle timer firing later than this after its due time found the event loop blocked. Milliseconds. */
const IDLE_LATE_MS = 20

export interface CheckpointerOptions {
  intervalMs: number
  events: number
  /** How long the stream must stay quiet, with `idleEvents` waiting, to start a checkpoint. Milliseconds. */
  idleMs: number
  idleEvents: number
  maxPendingEvents: number
  /** One checkpoint. It must take its snapshot synchronously, before its first await. */
  run: () => Promise<void>
  logger?: Logger
}

interface Waiters {
  promise: Promise<void>
  resolve: () => void
  reject: (err: unknown) => void
}

function waiters(): Waiters {
  let resolve!: () => void
  let reject!: (err: unknown) => void
  const promise = new Promise<void>((res, rej) => {
    resolve = res
    reject = rej
  })
  // Callers see the rejection; a checkpoint nobody waits for must not be an unhandled one.
  promise.catch(() => undefined)
  return { promise, resolve, reject }
}

export class Checkpointer {
  /** Events processed since the snapshot of the last checkpoint that started (or failed). */
  private sinceSnapshot = 0
  /** Events the checkpoint in progress covers. */
  private inProgress = 0
  private running = false
  private next: Waiters | undefined
  private failedLast = false
  private stopped = false
  private readonly timer: NodeJS.Timeout
  /** Re-armed by every batch once `idleEvents` wait (see `onIdle`). */
  private readonly idleTimer: NodeJS.Timeout
  /** When the idle timer was last armed. Epoch ms. */
  private idleArmedAt = 0
  private readonly log: Logger
  checkpoints = 0
  failures = 0

  constructor(private readonly opts: CheckpointerOptions) {
    this.log = (opts.logger ?? baseLog).child({ component: 'checkpointer' })
    this.timer = setInterval(() => {
      if (!this.running && (this.sinceSnapshot > 0 || this.failedLast)) void this.request()
    }, opts.intervalMs)
    this.timer.unref()
    this.idleTimer = setTimeout(() => this.onIdle(), opts.idleMs)
    this.idleTimer.unref()
  }

  /** Processed events not yet covered by a completed checkpoint. */
  get pendingEvents(): number {
    return this.sinceSnapshot + this.inProgress
  }

  noteProcessed(events: number): void {
    this.sinceSnapshot += events
    if (this.sinceSnapshot >= this.opts.events && !this.next) void this.request()
    else if (this.sinceSnapshot >= this.opts.idleEvents) this.armIdle()
  }

  /** (Re-)arm the idle timer: a refresh, not a new timer, and valid after it fired. */
  private armIdle(): void {
    this.idleArmedAt = Date.now()
    this.idleTimer.refresh()
  }

  /**
   * No batch for `idleMs`. When the timer fires late, the event loop was blocked (the service busy:
   * a collection, a long batch) and batches may be waiting behind it: that is no quiet stream, and
   * a checkpoint then would add work just as the service has to catch up. So it only re-arms; on
   * time, the loop was free and no batch came.
   */
  private onIdle(): void {
    if (this.stopped || this.next || this.sinceSnapshot < this.opts.idleEvents) return
    if (Date.now() - this.idleArmedAt > this.opts.idleMs + IDLE_LATE_MS) {
      this.armIdle()
      return
    }
    void this.request()
  }

  request(): Promise<void> {
    this.next ??= waiters()
    const p = this.next.promise
    if (!this.running) this.start()
    return p
  }

  /** Waits while too many processed events are not durable yet; rejects when a checkpoint fails. */
  async admit(): Promise<void> {
    while (this.pendingEvents > this.opts.maxPendingEvents) await this.request()
  }

  /** No more timed checkpoints; a last one covers everything processed. */
  async stop(): Promise<void> {
    this.stopped = true
    clearInterval(this.timer)
    clearTimeout(this.idleTimer)
    await this.request()
  }

  private start(): void {
    const w = this.next!
    this.next = undefined
    this.running = true
    this.inProgress = this.sinceSnapshot
    this.sinceSnapshot = 0
    let work: Promise<void>
    try {
      work = this.opts.run()
    } catch (err) {
      work = Promise.reject(err)
    }
    work.then(
      () => {
        this.checkpoints++
        this.failedLast = false
        this.inProgress = 0
        this.running = false
        w.resolve()
        this.startQueued()
      },
      (err) => {
        this.failures++
        this.failedLast = !this.stopped
        // Not covered after all: those events count again for the next checkpoint.
        this.sinceSnapshot += this.inProgress
        this.inProgress = 0
        this.running = false
        this.log.warn({ err: describeError(err), pendingEvents: this.pendingEvents }, 'checkpoint failed; offsets stay uncommitted until one succeeds')
        w.reject(err)
        this.startQueued()
      },
    )
  }

  private startQueued(): void {
    if (this.next && !this.running) this.start()
  }
}
