/**
 * AgentWatch's tables in ClickHouse: batched writers for what the pipeline produces, checkpoints
 * and restore of baselines, and the analyst queries behind the API. Nothing here is called per
 * event except the queueing `write`s.
 */
import type { Config } from '../../schemas/config.ts'
import type { AgentEvent } from '../../schemas/events.ts'
import type { RiskEvent } from '../../schemas/risk.ts'
import type { SavedAgentRow } from '../baselines/saved-profiles.ts'
import { LEGACY_PARTITION, type AgentProfile, type BlueprintProfile, type PartialCopy, type PartialKey } from '../baselines/profiles.ts'
import type { AuditEntry, ConfigVersion, DeadLetterRow, Page, RiskEventFilter } from '../api/deps.ts'
import type { DeadLetter, Sink } from '../sinks/types.ts'
import type { EnforcementChange } from '../enforcement/types.ts'
import { BatchWriter } from './batch-writer.ts'
import { openStore, type StoreClient } from './client.ts'
import { forEachLine } from './lines.ts'
import { migrate } from './migrations.ts'
import {
  agentBaselineRow,
  blueprintPartialRow,
  chTime,
  deadLetterRow,
  enforcementRow,
  EVENT_COLUMNS,
  eventLine,
  fromChTime,
  riskRow,
} from './rows.ts'

type Row = Record<string, unknown>

/**
 * Agents per restore query: bounds what a page costs outside the JS heap (~6 KB of JSON per agent,
 * so ~300 MB a page in chDB's memory and in its result file, two pages at a time) and how many
 * queries a restore makes. Measured when pages were still held whole in the JS heap, a million
 * agents, one run each: pages of 25,000 took 165 s, 50,000 145 s, 100,000 135 s.
 */
const RESTORE_PAGE_ROWS = 50_000
const TAB = 0x09
const EMPTY = Buffer.alloc(0)

/** How Store.forEachAgentRow reads. */
export interface ForEachAgentRowOptions {
  /** Agents per query (RESTORE_PAGE_ROWS). */
  pageRows?: number
  /** Told how many agents are about to be handed over, before the first. */
  expect?: (agents: number) => void
}

/** `column` is one of the Kafka partitions, as an SQL condition (none: false, not a syntax error). */
function inPartitions(partitions: readonly number[], column = 'kafka_partition'): string {
  return partitions.length ? `${column} IN (${partitions.map((p) => Math.trunc(p)).join(', ')})` : '0'
}

/**
 * Baseline rows serialised at one instant, waiting to be written (see `Store.baselineRows`): each
 * already in its insert format, so that writing them is a push per row, not a pass over thousands
 * of profiles' JSON in one turn of the event loop.
 */
export interface BaselineRows {
  agents: string[]
  partials: string[]
}

export class Store {
  readonly events: BatchWriter<string>
  private readonly writers: (BatchWriter<Row> | BatchWriter<string>)[]
  private readonly deadLetterWriter: BatchWriter<Row>
  private readonly riskWriter: BatchWriter<Row>
  private readonly agentWriter: BatchWriter<Row>
  private readonly partialWriter: BatchWriter<Row>
  private readonly enforcementWriter: BatchWriter<Row>
  private readonly auditWriter: BatchWriter<Row>
  /** Baseline versions: wall-clock microseconds, strictly increasing within this process. */
  private lastVersion = 0

  private constructor(readonly ch: StoreClient, cfg: Config['store']) {
    const opts = { flushRows: cfg.flushRows, flushMs: cfg.flushMs }
    const w = (table: string) => new BatchWriter<Row>(ch, table, opts)
    // Events rows arrive already encoded (`eventLine`, one per event on the hot path).
    this.events = new BatchWriter<string>(ch, 'events', opts, {
      format: 'JSONCompactEachRow',
      columns: EVENT_COLUMNS,
      encode: (line) => line,
    })
    this.deadLetterWriter = w('dead_letters')
    this.riskWriter = w('risk_events')
    this.agentWriter = w('agent_baselines')
    this.partialWriter = w('blueprint_partials')
    this.enforcementWriter = w('enforcement_actions')
    this.auditWriter = w('audit_log')
    this.writers = [this.events, this.deadLetterWriter, this.riskWriter, this.agentWriter, this.partialWriter, this.enforcementWriter, this.auditWriter]
  }

  static async open(cfg: Config['store']): Promise<Store> {
    const ch = await openStore(cfg)
    await migrate(ch, { ttlDays: cfg.eventsTtlDays })
    return new Store(ch, cfg)
  }

  private get db(): string {
    return this.ch.database
  }

  writeEvent(e: AgentEvent, riskScore: number, learned: boolean): void {
    const now = Date.now()
    // Many events share a millisecond: format its DateTime64 text once.
    if (now !== this.ingestedAtMs) {
      this.ingestedAtMs = now
      this.ingestedAtText = chTime(now)
    }
    this.events.write(eventLine(e, riskScore, learned, this.ingestedAtText))
  }
  private ingestedAtMs = -1
  private ingestedAtText = ''

  readonly riskSink: Sink<RiskEvent> = {
    name: 'clickhouse.risk_events',
    write: (r) => this.riskWriter.write(riskRow(r)),
    flush: () => this.riskWriter.flush(),
    close: () => this.riskWriter.close(),
  }

  readonly deadLetterSink: Sink<DeadLetter> = {
    name: 'clickhouse.dead_letters',
    write: (d) => this.deadLetterWriter.write(deadLetterRow(d)),
    flush: () => this.deadLetterWriter.flush(),
    close: () => this.deadLetterWriter.close(),
  }

  readonly actionSink: Sink<EnforcementChange> = {
    name: 'clickhouse.enforcement_actions',
    write: (c) => this.enforcementWriter.write(enforcementRow(c)),
    flush: () => this.enforcementWriter.flush(),
    close: () => this.enforcementWriter.close(),
  }

  /** Queue a checkpoint of changed baselines: agents, and partial blueprint baselines (each with its `partition`). */
  checkpoint(agents: AgentProfile[], partials: BlueprintProfile[]): void {
    this.writeBaselines(this.baselineRows(agents, partials))
  }

  /**
   * Serialise baselines now, as they are at this instant, without queueing them: a checkpoint takes
   * its snapshot while events keep flowing, and writes it only once the outputs are flushed.
   */
  baselineRows(agents: AgentProfile[], partials: BlueprintProfile[]): BaselineRows {
    const now = Date.now()
    return {
      agents: agents.map((p) => this.agentRow(p, now)),
      partials: partials.map((b) => this.partialWriter.encode(blueprintPartialRow(b, this.nextVersion(now), now))),
    }
  }

  /** One agent's baseline row, encoded now in its insert format (see `baselineRows`); `now` is the save's wall clock, ms. */
  agentRow(p: AgentProfile, now = Date.now()): string {
    return this.agentWriter.encode(agentBaselineRow(p, this.nextVersion(now), now))
  }

  /** Queue rows from `baselineRows`. */
  writeBaselines(rows: BaselineRows): void {
    for (const line of rows.agents) this.agentWriter.writeEncoded(line)
    for (const line of rows.partials) this.partialWriter.writeEncoded(line)
  }

  /** Resolves when the baseline tables hold everything queued for them. */
  async flushBaselines(): Promise<void> {
    await Promise.all([this.agentWriter.flush(), this.partialWriter.flush()])
  }

  /** Resolves when every table but the baselines holds everything queued before the call. */
  async flushOutputs(): Promise<void> {
    await Promise.all(this.writers.filter((w) => w !== this.agentWriter && w !== this.partialWriter).map((w) => w.flush()))
  }

  /** Resolves when everything queued in every table is durable. */
  async flush(): Promise<void> {
    await Promise.all(this.writers.map((w) => w.flush()))
  }

  async close(): Promise<void> {
    await Promise.all(this.writers.map((w) => w.close()))
    await this.ch.close()
  }

  get pendingRows(): number {
    return this.writers.reduce((n, w) => n + w.pending, 0)
  }

  get rowsWritten(): Record<string, number> {
    return Object.fromEntries(this.writers.map((w) => [w.table, w.rowsWritten]))
  }

  private nextVersion(now: number): number {
    this.lastVersion = Math.max(now * 1000, this.lastVersion + 1)
    return this.lastVersion
  }

  // ---- restore -------------------------------------------------------------------------------

  /**
   * Latest saved row of every agent, or of the agents last seen on the given Kafka partitions,
   * handed to `each` as it is read; resolves with how many. `expect`, if given, is told how many
   * first. Each row comes with its partition, risk level and last event time, and the profile as
   * the bytes of its JSON, unparsed (a restore holds them and revives each profile later, see
   * src/baselines/agent-profiles.ts). Read in pages of `pageRows` agents along the sorting key
   * (agent_id), the next page's query running while this page is read; each state arrives as raw
   * text (TabSeparatedRaw: the JSON is neither escaped nor wrapped in another JSON document).
   *
   * Why this shape: a page is read a chunk at a time through one reused buffer
   * (StoreClient.queryChunks), because a page held whole is external memory, and V8 starts a full
   * collection of the whole heap for every ~64 MB of it. The pages' bounds are asked for first
   * (agentPages), so that the next page's query can start before this one is read, and so that the
   * caller knows what is coming.
   */
  async forEachAgentRow(each: (row: SavedAgentRow) => void, partitions?: readonly number[], opts: ForEachAgentRowOptions = {}): Promise<number> {
    const { agents, bounds } = await this.agentPages(opts.pageRows ?? RESTORE_PAGE_ROWS, partitions)
    opts.expect?.(agents)
    if (agents === 0) return 0
    let count = 0
    // One object for every row: it is the caller's only during the call.
    const row: SavedAgentRow = { agentId: '', partition: -1, level: '', lastTs: 0, bytes: EMPTY, start: 0, end: 0 }
    let page = this.agentStatePage(partitions, '', bounds[0])
    for (let i = 0; ; i++) {
      const chunks = await page
      const next = i < bounds.length ? this.agentStatePage(partitions, bounds[i]!, bounds[i + 1]) : undefined
      try {
        // hex(agent_id) \t partition \t risk level \t last event ms \t state per line: JSON text holds no raw tab or newline.
        await forEachLine(chunks, (bytes, start, end) => {
          const t1 = bytes.indexOf(TAB, start)
          const t2 = bytes.indexOf(TAB, t1 + 1)
          const t3 = bytes.indexOf(TAB, t2 + 1)
          const t4 = bytes.indexOf(TAB, t3 + 1)
          row.agentId = Buffer.from(bytes.toString('latin1', start, t1), 'hex').toString('utf8')
          row.partition = Number(bytes.toString('latin1', t1 + 1, t2))
          row.level = bytes.toString('latin1', t2 + 1, t3)
          row.lastTs = Number(bytes.toString('latin1', t3 + 1, t4))
          row.bytes = bytes
          row.start = t4 + 1
          row.end = end
          each(row)
          count++
        })
      } catch (err) {
        // The next page is abandoned: its failure, if any, must not surface as an unhandled rejection.
        next?.catch(() => undefined)
        throw err
      }
      if (!next) break
      page = next
    }
    return count
  }

  /** Latest saved profile of every agent, or of those on the given partitions, as parsed (see forEachAgentRow). */
  async loadAgents(partitions?: readonly number[], pageRows = RESTORE_PAGE_ROWS): Promise<AgentProfile[]> {
    const out: AgentProfile[] = []
    await this.forEachAgentRow((row) => out.push(JSON.parse(row.bytes.toString('utf8', row.start, row.end)) as AgentProfile), partitions, { pageRows })
    return out
  }

  /**
   * How many agents have a saved profile (on the given partitions), and the ids that close each
   * full page of `rows` of them in agent_id order: page i holds the ids after bound i-1 up to
   * bound i, the last page those after the last bound. One query, over the id, partition and
   * version columns only.
   */
  private async agentPages(rows: number, partitions?: readonly number[]): Promise<{ agents: number; bounds: string[] }> {
    const step = Math.max(1, Math.floor(rows))
    const having = partitions ? `HAVING ${inPartitions(partitions, 'argMax(kafka_partition, version)')}` : ''
    const text = await this.ch.queryText(
      `SELECT length(ids), arrayStringConcat(arrayMap(i -> hex(ids[i]), range(${step}, length(ids) + 1, ${step})), ',')
       FROM (SELECT arraySort(groupArray(agent_id)) AS ids FROM (SELECT agent_id FROM ${this.db}.agent_baselines GROUP BY agent_id ${having}))`,
      'TabSeparatedRaw',
    )
    const [agents = '0', hexes = ''] = text.trimEnd().split('\t')
    return { agents: Number(agents), bounds: hexes === '' ? [] : hexes.split(',').map((hex) => Buffer.from(hex, 'hex').toString('utf8')) }
  }

  /**
   * Latest states of the agents with ids after `afterId` and up to `upTo` (no upper bound if
   * absent), of those whose latest state is on the given partitions: hex(agent_id), partition, risk
   * level, last event time (epoch ms) and state, one agent per line (TabSeparatedRaw).
   */
  private agentStatePage(partitions: readonly number[] | undefined, afterId: string, upTo?: string): Promise<AsyncIterable<Buffer>> {
    // Ids go in as hex: no quoting to get wrong, whatever characters they hold.
    const hex = (id: string) => `unhex('${Buffer.from(id, 'utf8').toString('hex')}')`
    const upper = upTo === undefined ? '' : ` AND agent_id <= ${hex(upTo)}`
    const latest = `SELECT agent_id, kafka_partition, risk_level, last_event_time, state FROM ${this.db}.agent_baselines
       WHERE agent_id > ${hex(afterId)}${upper} ORDER BY agent_id, version DESC LIMIT 1 BY agent_id`
    return this.ch.queryChunks(
      `SELECT hex(agent_id), kafka_partition, risk_level, toUnixTimestamp64Milli(last_event_time), state FROM (${latest}) WHERE ${partitions ? inPartitions(partitions) : '1'}`,
      'TabSeparatedRaw',
    )
  }

  /**
   * Latest version of every saved partial blueprint baseline, without states: cheap enough to ask
   * every refresh period, so that only partials changed since are loaded.
   */
  async partialVersions(): Promise<PartialKey[]> {
    const text = await this.ch.queryText(`SELECT hex(blueprint_id), kafka_partition, max(version) FROM ${this.partialsUnion()} GROUP BY blueprint_id, kafka_partition`, 'TabSeparatedRaw')
    const out: PartialKey[] = []
    for (const line of text.split('\n')) {
      if (line === '') continue
      const [id, partition, version] = line.split('\t')
      out.push({ blueprintId: Buffer.from(id!, 'hex').toString('utf8'), partition: Number(partition), version: Number(version) })
    }
    return out
  }

  /**
   * Latest saved partial of every (blueprint, partition), or of those on the given partitions, or of
   * exactly the given keys. One query; states arrive as raw text (TabSeparatedRaw) and are parsed once.
   */
  async loadPartials(which: { partitions?: readonly number[]; keys?: readonly PartialKey[] } = {}): Promise<PartialCopy[]> {
    const conds: string[] = []
    if (which.partitions) conds.push(inPartitions(which.partitions))
    if (which.keys) {
      // Ids go in as hex: no quoting to get wrong, whatever characters they hold.
      const tuples = which.keys.map((k) => `('${Buffer.from(k.blueprintId, 'utf8').toString('hex').toUpperCase()}', ${Math.trunc(k.partition)})`)
      conds.push(tuples.length ? `(hex(blueprint_id), kafka_partition) IN (${tuples.join(', ')})` : '0')
    }
    const text = await this.ch.queryText(
      `SELECT kafka_partition, max(version), argMax(state, version) FROM ${this.partialsUnion()}
       ${conds.length ? `WHERE ${conds.join(' AND ')}` : ''} GROUP BY blueprint_id, kafka_partition`,
      'TabSeparatedRaw',
    )
    const out: PartialCopy[] = []
    for (const line of text.split('\n')) {
      if (line === '') continue
      // partition \t version \t state; JSON text holds no raw tab or newline.
      const a = line.indexOf('\t')
      const b = line.indexOf('\t', a + 1)
      const profile = JSON.parse(line.slice(b + 1)) as BlueprintProfile
      const partition = Number(line.slice(0, a))
      profile.partition = partition
      out.push({ blueprintId: profile.blueprintId, partition, version: Number(line.slice(a + 1, b)), profile })
    }
    return out
  }

  /** Saved partials, with each blueprint baseline saved before partials existed as one more (LEGACY_PARTITION). */
  private partialsUnion(): string {
    return `(SELECT blueprint_id, kafka_partition, version, state FROM ${this.db}.blueprint_partials
             UNION ALL SELECT blueprint_id, toInt32(${LEGACY_PARTITION}) AS kafka_partition, version, state FROM ${this.db}.blueprint_baselines)`
  }

  async loadEnforcementChanges(): Promise<EnforcementChange[]> {
    const rows = await this.select<{ body: string }>(`SELECT body FROM ${this.db}.enforcement_actions FINAL ORDER BY at, change_id`)
    return rows.map((r) => JSON.parse(r.body) as EnforcementChange)
  }

  // ---- analyst queries -----------------------------------------------------------------------

  async queryRiskEvents(f: RiskEventFilter): Promise<Page<RiskEvent>> {
    const conds: string[] = []
    const params: Record<string, unknown> = { limit: f.limit + 1 }
    if (f.agentId) (conds.push('agent_id = {agentId:String}'), (params.agentId = f.agentId))
    if (f.level) (conds.push('risk_level = {level:String}'), (params.level = f.level))
    if (f.detector) (conds.push('has(detectors, {detector:String})'), (params.detector = f.detector))
    if (f.from) (conds.push('time >= {from:DateTime64(3)}'), (params.from = chTime(Date.parse(f.from))))
    if (f.to) (conds.push('time < {to:DateTime64(3)}'), (params.to = chTime(Date.parse(f.to))))
    if (f.cursor) {
      const [t, id] = decodeCursor(f.cursor)
      conds.push('(time, risk_event_id) < ({ct:DateTime64(3)}, {cid:String})')
      params.ct = t
      params.cid = id
    }
    const where = conds.length ? `WHERE ${conds.join(' AND ')}` : ''
    const rows = await this.select<{ body: string; time: string; risk_event_id: string }>(
      `SELECT body, time, risk_event_id FROM ${this.db}.risk_events FINAL ${where}
       ORDER BY time DESC, risk_event_id DESC LIMIT {limit:UInt32}`,
      params,
    )
    const page = rows.slice(0, f.limit)
    const last = page[page.length - 1]
    return {
      items: page.map((r) => JSON.parse(r.body) as RiskEvent),
      ...(rows.length > f.limit && last ? { nextCursor: encodeCursor(last.time, last.risk_event_id) } : {}),
    }
  }

  async queryDeadLetters(opts: { limit: number; from?: string }): Promise<DeadLetterRow[]> {
    const where = opts.from ? 'WHERE received_at >= {from:DateTime64(3)}' : ''
    const rows = await this.select<{ received_at: string; origin: string; partition: number | null; offset: string | null; reason: string; payload: string }>(
      `SELECT received_at, origin, partition, offset, reason, payload FROM ${this.db}.dead_letters ${where}
       ORDER BY received_at DESC LIMIT {limit:UInt32}`,
      { limit: opts.limit, ...(opts.from ? { from: chTime(Date.parse(opts.from)) } : {}) },
    )
    return rows.map((r) => ({
      receivedAt: new Date(fromChTime(r.received_at)).toISOString(),
      origin: r.origin,
      ...(r.partition !== null ? { partition: r.partition } : {}),
      ...(r.offset !== null ? { offset: r.offset } : {}),
      reason: r.reason,
      payload: r.payload,
    }))
  }

  writeAudit(entry: AuditEntry): void {
    this.auditWriter.write({ at: chTime(Date.parse(entry.at)), actor: entry.actor, role: entry.role, action: entry.action, target: entry.target, detail: JSON.stringify(entry.detail) })
  }

  async queryAudit(opts: { limit: number; target?: string }): Promise<AuditEntry[]> {
    await this.auditWriter.flush()
    const rows = await this.select<{ at: string; actor: string; role: AuditEntry['role']; action: string; target: string; detail: string }>(
      `SELECT at, actor, role, action, target, detail FROM ${this.db}.audit_log ${opts.target ? 'WHERE target = {target:String}' : ''}
       ORDER BY at DESC LIMIT {limit:UInt32}`,
      { limit: opts.limit, ...(opts.target ? { target: opts.target } : {}) },
    )
    return rows.map((r) => ({ ...r, at: new Date(fromChTime(r.at)).toISOString(), detail: JSON.parse(r.detail) }))
  }

  async saveConfigVersion(v: ConfigVersion): Promise<void> {
    await this.ch.client.insert({
      table: `${this.db}.config_versions`,
      values: [{ version: v.version, at: chTime(Date.parse(v.at)), by: v.by, config: JSON.stringify(v.config) }],
      format: 'JSONEachRow',
    })
  }

  async loadConfigVersions(): Promise<ConfigVersion[]> {
    const rows = await this.select<{ version: number; at: string; by: string; config: string }>(
      `SELECT version, at, by, config FROM ${this.db}.config_versions FINAL ORDER BY version`,
    )
    return rows.map((r) => ({ version: r.version, at: new Date(fromChTime(r.at)).toISOString(), by: r.by, config: JSON.parse(r.config) }))
  }

  async select<T>(query: string, params: Record<string, unknown> = {}): Promise<T[]> {
    const rs = await this.ch.client.query({ query, query_params: params, format: 'JSONEachRow' })
    return (await rs.json()) as T[]
  }
}

function encodeCursor(time: string, id: string): string {
  return Buffer.from(JSON.stringify([time, id])).toString('base64url')
}

function decodeCursor(cursor: string): [string, string] {
  try {
    const v = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'))
    if (Array.isArray(v) && typeof v[0] === 'string' && typeof v[1] === 'string') return [v[0], v[1]]
  } catch {
    /* fall through */
  }
  throw new InvalidCursorError()
}

export class InvalidCursorError extends Error {
  readonly statusCode = 400
  constructor() {
    super('cursor is not one this API returned')
  }
}
