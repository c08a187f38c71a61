/**
 * Saved agent profiles held as the bytes of their JSON, not parsed yet: what a restore keeps so that
 * the service takes events as soon as every row is read, each profile parsed when its agent is
 * first needed or by the background revival (see agent-profiles.ts).
 *
 * Why bytes in slabs: a million profiles as strings or parsed objects are a million heap objects
 * for every collection to visit; their bytes are a few dozen buffers, and no object per agent but
 * its id. A slab is freed once every profile in it is taken.
 */

/**
 * An agent's latest saved row as a restore reads it (Store.forEachAgentRow): the columns a restore
 * needs before the profile is parsed, and the profile's JSON as bytes[start, end).
 */
export interface SavedAgentRow {
  agentId: string
  /** Kafka partition its events came from; -1 for none. */
  partition: number
  /** Risk level saved (`risk.level` of the profile). */
  level: string
  /** Event time of its latest event (`lastTs` of the profile), epoch ms. */
  lastTs: number
  bytes: Buffer
  start: number
  end: number
}

/**
 * Bytes of the first slab, and of the largest: each new slab is twice the last, up to the largest
 * (a profile larger than a slab gets a slab of its size). Why grow: every ~64 MB of buffers
 * allocated starts a full collection (external memory pressure), which marks the ids held so far;
 * at 16 MiB a slab, holding 200,000 profiles took 31 of them, at 256 MiB 7, and 9% less time. Why
 * start small: a small fleet should not take 256 MiB.
 */
const FIRST_SLAB_BYTES = 16 * 2 ** 20
const LARGEST_SLAB_BYTES = 256 * 2 ** 20

/** Rows of the per-row arrays allocated at first; they double as needed. */
const FIRST_CAPACITY = 1024

export class SavedProfiles {
  /** Agent id -> row, for the profiles held. */
  private readonly rowOf = new Map<string, number>()
  /** Row -> agent id; '' once taken. */
  private ids: string[] = []
  /** Row -> slab, start in it, length (bytes), and below, Kafka partition (-1 for none). */
  private slabOf = new Uint32Array(FIRST_CAPACITY)
  private startOf = new Uint32Array(FIRST_CAPACITY)
  private lengthOf = new Uint32Array(FIRST_CAPACITY)
  private partitionOfRow = new Int32Array(FIRST_CAPACITY)
  /** Row -> event time of the agent's latest event, epoch ms. */
  private lastTsOfRow = new Float64Array(FIRST_CAPACITY)
  private slabs: (Buffer | undefined)[] = []
  /** Slab -> profiles held in it. */
  private heldIn: number[] = []
  /** Bytes used in the last slab (none: a new slab is needed). */
  private used = Infinity
  /** Size of the next slab. */
  private nextSlabBytes = FIRST_SLAB_BYTES
  /** Rows before this one are all taken (where `next` looks first). */
  private cursor = 0
  private heldBytes = 0
  /** Latest event time of any profile ever held, epoch ms (0 = none). */
  latestTs = 0

  /** Profiles held. */
  get size(): number {
    return this.rowOf.size
  }

  /** Bytes of JSON held (what the slabs hold for them is up to one slab more each). */
  get bytes(): number {
    return this.heldBytes
  }

  has(agentId: string): boolean {
    return this.rowOf.has(agentId)
  }

  /** Hold a copy of `json[start, end)` as the profile of `agentId`, replacing any held before. */
  hold(agentId: string, partition: number, lastTs: number, json: Buffer, start: number, end: number): void {
    this.delete(agentId)
    const length = end - start
    if (this.used + length > (this.slabs.at(-1)?.length ?? 0)) {
      this.slabs.push(Buffer.allocUnsafe(Math.max(this.nextSlabBytes, length)))
      this.nextSlabBytes = Math.min(LARGEST_SLAB_BYTES, 2 * this.nextSlabBytes)
      this.heldIn.push(0)
      this.used = 0
    }
    const slab = this.slabs.length - 1
    json.copy(this.slabs[slab]!, this.used, start, end)
    const row = this.ids.length
    this.grow(row + 1)
    this.ids.push(agentId)
    this.slabOf[row] = slab
    this.startOf[row] = this.used
    this.lengthOf[row] = length
    this.partitionOfRow[row] = partition
    this.lastTsOfRow[row] = lastTs
    this.rowOf.set(agentId, row)
    this.heldIn[slab]!++
    this.used += length
    this.heldBytes += length
    if (lastTs > this.latestTs) this.latestTs = lastTs
  }

  /** The profile's JSON, no longer held; undefined if none is. */
  take(agentId: string): string | undefined {
    const row = this.rowOf.get(agentId)
    if (row === undefined) return undefined
    const slab = this.slabs[this.slabOf[row]!]!
    const json = slab.toString('utf8', this.startOf[row]!, this.startOf[row]! + this.lengthOf[row]!)
    this.release(agentId, row)
    return json
  }

  /** Kafka partition of a held profile's agent (-1 for none); undefined if none is held. */
  partitionOf(agentId: string): number | undefined {
    const row = this.rowOf.get(agentId)
    return row === undefined ? undefined : this.partitionOfRow[row]
  }

  /** Event time of a held profile's latest event, epoch ms; undefined if none is held. */
  lastTsOf(agentId: string): number | undefined {
    const row = this.rowOf.get(agentId)
    return row === undefined ? undefined : this.lastTsOfRow[row]
  }

  /** Profiles held whose agent's latest event is at or after `ts` (epoch ms). */
  countSince(ts: number): number {
    let n = 0
    for (let row = this.cursor; row < this.ids.length; row++) if (this.ids[row] !== '' && this.lastTsOfRow[row]! >= ts) n++
    return n
  }

  /** The agent id of the earliest profile held (slab order: taking in this order frees slabs soonest). */
  next(): string | undefined {
    while (this.cursor < this.ids.length && this.ids[this.cursor] === '') this.cursor++
    return this.cursor < this.ids.length ? this.ids[this.cursor] : undefined
  }

  /** Stop holding the profile; whether one was held. */
  delete(agentId: string): boolean {
    const row = this.rowOf.get(agentId)
    if (row === undefined) return false
    this.release(agentId, row)
    return true
  }

  /** Agent ids of the profiles held whose agents' events come from one of `partitions`. */
  idsOn(partitions: ReadonlySet<number>): string[] {
    const out: string[] = []
    for (const [id, row] of this.rowOf) if (partitions.has(this.partitionOfRow[row]!)) out.push(id)
    return out
  }

  private release(agentId: string, row: number): void {
    this.rowOf.delete(agentId)
    this.ids[row] = ''
    this.heldBytes -= this.lengthOf[row]!
    const slab = this.slabOf[row]!
    if (--this.heldIn[slab]! === 0 && slab < this.slabs.length - 1) this.slabs[slab] = undefined
    // Nothing held: start again from row 0, so repeated restores do not grow the arrays.
    if (this.rowOf.size === 0) {
      this.ids = []
      this.slabs = []
      this.heldIn = []
      this.used = Infinity
      this.nextSlabBytes = FIRST_SLAB_BYTES
      this.cursor = 0
    }
  }

  private grow(rows: number): void {
    if (rows <= this.slabOf.length) return
    let capacity = this.slabOf.length
    while (capacity < rows) capacity *= 2
    const widen = <T extends Uint32Array | Int32Array | Float64Array>(from: T, to: T): T => (to.set(from), to)
    this.slabOf = widen(this.slabOf, new Uint32Array(capacity))
    this.startOf = widen(this.startOf, new Uint32Array(capacity))
    this.lengthOf = widen(this.lengthOf, new Uint32Array(capacity))
    this.partitionOfRow = widen(this.partitionOfRow, new Int32Array(capacity))
    this.lastTsOfRow = widen(this.lastTsOfRow, new Float64Array(capacity))
  }
}
