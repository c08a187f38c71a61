/**
 * Profiles of dormant agents, kept as the deflated bytes of their JSON: an agent with no event for a
 * while (`baselines.dormantAfterMinutes` of event time) is frozen into this form, and thawed back into
 * its in-memory layout by its next event or reader (agent-profiles.ts).
 *
 * Why: a profile in its in-memory layout costs ~8.3 KB (docs/benchmarks.md); its JSON deflated
 * against a dictionary of its blueprint's profiles ~1.75 KB with the newest 16 of its recent event
 * ids (~2.1 KB with all 64), ~1.9 KB with its id and map entry. In a fleet of a million agents most
 * are idle at any one time, so the memory of the fleet follows the agents active recently.
 *
 * Why a dictionary per blueprint: agents of one blueprint share their vocabulary (tools, resources,
 * transitions, field names), which makes up most of a profile's JSON. Deflate finds those strings
 * in the dictionary instead of spelling them out in every profile. A blueprint's dictionary is the
 * JSON of the first profiles frozen for it, appended until it is full: appending keeps every prefix
 * unchanged, so each record names the prefix it was deflated against and stays readable.
 *
 * Why strings: a record is a one-byte string of its bytes (`latin1`), one heap object with no
 * pointers inside, that the garbage collector neither scans nor has to free piecemeal, unlike slabs
 * shared by records that come and go.
 */
import { deflateRawSync, inflateRawSync } from 'node:zlib'
import { RECENT_IDS, withLatestRecentIds } from './recent-ids.ts'

/**
 * Largest dictionary of a blueprint. Deflate sees only the last 32 KiB before what it encodes; a
 * trained profile is ~7 KB of JSON, so three or four profiles fit. Bytes.
 */
const DICTIONARY_BYTES = 28 * 1024

/**
 * Deflate level. On the bench's trained profiles (unprimed dictionaries: the sizes are low, the
 * ratios hold), 6 gives records of 1,687 bytes against 1,936 at 1 and 1,672 at 9, and a freeze
 * (JSON included) takes 177 us against 135 and 266 (docs/benchmarks.md, tenth round). Freezing runs
 * between events; a thaw costs the same at every level.
 */
const LEVEL = 6

/**
 * Record header, little-endian, at these byte offsets: dictionary (uint32), length of the dictionary
 * prefix used (uint32), partition (int32), risk score (float64, so that a listing orders dormant
 * agents without reading them). HEADER_BYTES in all.
 */
const AT_DICTIONARY = 0
const AT_PREFIX = 4
const AT_PARTITION = 8
const AT_SCORE = 12
const HEADER_BYTES = 20

/** A blueprint's dictionary: its bytes so far. */
interface Dictionary {
  bytes: Buffer
  used: number
}

export class DormantProfiles {
  /** Agent id -> record: header then deflated JSON, as a latin1 string. */
  private readonly records = new Map<string, string>()
  /** Dictionary id -> dictionary. */
  private readonly dictionaries: Dictionary[] = []
  /** Blueprint id ('' for agents without one) -> dictionary id. */
  private readonly dictionaryOf = new Map<string, number>()
  /** Dictionary id -> its blueprint id ('' for agents without one). */
  private readonly blueprintOfDictionary: string[] = []
  private recordBytes = 0
  /** Since start: records kept (a re-freeze counts again), and records thawed for an agent's next event or change. */
  readonly counts = { frozen: 0, thawed: 0 }
  /**
   * How many of the newest hashes in the agent's ring of recent event ids a record keeps
   * (`baselines.dormantRecentIds`, set by `Baselines.configure`; all of them until then). The agent revives
   * with those alone. Event ids.
   */
  recentIdsKept = RECENT_IDS

  get size(): number {
    return this.records.size
  }

  /** Bytes of the records held (dictionaries not counted). */
  get bytes(): number {
    return this.recordBytes
  }

  /** Bytes of the blueprints' dictionaries, as allocated (each DICTIONARY_BYTES, full or not). */
  get dictionaryBytes(): number {
    return this.dictionaries.length * DICTIONARY_BYTES
  }

  has(agentId: string): boolean {
    return this.records.has(agentId)
  }

  /**
   * Keep `json`, the profile's JSON, as the agent's dormant profile, replacing any kept before.
   * `blueprintId` picks the dictionary; `partition` is the Kafka partition of its events (-1 none);
   * `riskScore` is its `risk.score`. Its ring keeps the `recentIdsKept` newest hashes.
   */
  freeze(agentId: string, blueprintId: string | undefined, partition: number, riskScore: number, json: string): void {
    const text = Buffer.from(withLatestRecentIds(json, this.recentIdsKept), 'utf8')
    const [id, dictionary] = this.dictionaryFor(blueprintId ?? '', text)
    const used = dictionary.used
    const deflated = deflateRawSync(text, { level: LEVEL, memLevel: 9, dictionary: dictionary.bytes.subarray(0, used) })
    const record = Buffer.allocUnsafe(HEADER_BYTES + deflated.length)
    record.writeUInt32LE(id, AT_DICTIONARY)
    record.writeUInt32LE(used, AT_PREFIX)
    record.writeInt32LE(partition, AT_PARTITION)
    record.writeDoubleLE(riskScore, AT_SCORE)
    deflated.copy(record, HEADER_BYTES)
    this.delete(agentId)
    const stored = record.toString('latin1')
    this.records.set(agentId, stored)
    this.recordBytes += stored.length
    this.counts.frozen++
  }

  /** The agent's profile JSON, no longer kept dormant; undefined if it is not. */
  thaw(agentId: string): string | undefined {
    const json = this.read(agentId)
    if (json !== undefined) {
      this.delete(agentId)
      this.counts.thawed++
    }
    return json
  }

  /** The agent's profile JSON, still kept dormant; undefined if it is not. */
  read(agentId: string): string | undefined {
    const stored = this.records.get(agentId)
    if (stored === undefined) return undefined
    const record = Buffer.from(stored, 'latin1')
    const dictionary = this.dictionaries[record.readUInt32LE(AT_DICTIONARY)]!
    const used = record.readUInt32LE(AT_PREFIX)
    return inflateRawSync(record.subarray(HEADER_BYTES), { dictionary: dictionary.bytes.subarray(0, used) }).toString('utf8')
  }

  /** Stop keeping the agent's profile; whether one was kept. */
  delete(agentId: string): boolean {
    const stored = this.records.get(agentId)
    if (stored === undefined) return false
    this.records.delete(agentId)
    this.recordBytes -= stored.length
    return true
  }

  /** Agent ids kept dormant. */
  ids(): IterableIterator<string> {
    return this.records.keys()
  }

  /** Every agent kept dormant with its blueprint and risk score, none read. */
  *entries(): IterableIterator<DormantEntry> {
    const header = Buffer.alloc(HEADER_BYTES)
    for (const [agentId, stored] of this.records) {
      headerOf(stored, header)
      yield { agentId, blueprintId: this.blueprintOfDictionary[header.readUInt32LE(AT_DICTIONARY)] || undefined, riskScore: header.readDoubleLE(AT_SCORE) }
    }
  }

  /** Agent ids kept dormant whose events come from one of `partitions`. */
  idsOn(partitions: ReadonlySet<number>): string[] {
    const out: string[] = []
    const header = Buffer.alloc(HEADER_BYTES)
    for (const [id, stored] of this.records) if (partitions.has(headerOf(stored, header).readInt32LE(AT_PARTITION))) out.push(id)
    return out
  }

  /** The blueprint's dictionary, with `text` appended first while it has room for all of it. */
  private dictionaryFor(blueprintId: string, text: Buffer): [number, Dictionary] {
    let id = this.dictionaryOf.get(blueprintId)
    if (id === undefined) {
      id = this.dictionaries.length
      this.dictionaries.push({ bytes: Buffer.alloc(DICTIONARY_BYTES), used: 0 })
      this.dictionaryOf.set(blueprintId, id)
      this.blueprintOfDictionary.push(blueprintId)
    }
    const dictionary = this.dictionaries[id]!
    if (dictionary.used + text.length <= DICTIONARY_BYTES) {
      text.copy(dictionary.bytes, dictionary.used)
      dictionary.used += text.length
    }
    return [id, dictionary]
  }
}

/** A dormant agent as `entries` gives it. */
export interface DormantEntry {
  agentId: string
  blueprintId: string | undefined
  riskScore: number
}

/** `into` (HEADER_BYTES long) holding the header of a stored record, without copying the rest. */
function headerOf(stored: string, into: Buffer): Buffer {
  into.write(stored.slice(0, HEADER_BYTES), 'latin1')
  return into
}
