/**
 * Tables and analyst views. Every migration is idempotent (IF NOT EXISTS / OR REPLACE) and runs at
 * start; applied ids are recorded in `schema_migrations` so an analyst can see the schema's history.
 * `{db}` is replaced by the configured database, `{ttlDays}` by the raw-event retention.
 *
 * Times are DateTime64(3, 'UTC'): event time with milliseconds. Raw events and dead letters expire
 * by ingestion time (wall clock), not event time, so replaying old data does not vanish at once.
 */
import type { StoreClient } from './client.ts'

export interface Migration {
  id: string
  sql: string
  /**
   * For a change ClickHouse cannot make idempotent with IF [NOT] EXISTS (a column renamed): a query
   * returning one number; the statement runs only when it is above 0.
   */
  onlyIf?: string
}

export const MIGRATIONS: Migration[] = [
  { id: '001_database', sql: `CREATE DATABASE IF NOT EXISTS {db}` },
  {
    id: '002_schema_migrations',
    sql: `CREATE TABLE IF NOT EXISTS {db}.schema_migrations (id String, applied_at DateTime64(3, 'UTC'))
          ENGINE = ReplacingMergeTree ORDER BY id`,
  },
  {
    id: '003_events',
    sql: `CREATE TABLE IF NOT EXISTS {db}.events (
            event_id String, kind LowCardinality(String), time DateTime64(3, 'UTC'),
            tenant_id LowCardinality(String), agent_id String, blueprint_id LowCardinality(String),
            owner_id String, parent_id String, obo_user String, trace_id String,
            tool LowCardinality(String), resource String, operation LowCardinality(String),
            sensitivity LowCardinality(String), outcome LowCardinality(String),
            records Nullable(UInt64), bytes Nullable(UInt64), duration_ms Nullable(Float64),
            credential LowCardinality(String), ip String, asn Nullable(UInt32), country LowCardinality(String),
            location LowCardinality(String), scopes Array(String),
            risk_score Float32, learned Bool,
            ingested_at DateTime64(3, 'UTC'), raw String CODEC(ZSTD(3))
          ) ENGINE = MergeTree
          PARTITION BY toYYYYMM(ingested_at)
          ORDER BY (tenant_id, agent_id, time)
          TTL toDateTime(ingested_at) + INTERVAL {ttlDays} DAY`,
  },
  {
    id: '004_dead_letters',
    sql: `CREATE TABLE IF NOT EXISTS {db}.dead_letters (
            received_at DateTime64(3, 'UTC'), origin String, partition Nullable(Int32), offset Nullable(String),
            key Nullable(String), reason String, payload String CODEC(ZSTD(3))
          ) ENGINE = MergeTree ORDER BY received_at
          TTL toDateTime(received_at) + INTERVAL {ttlDays} DAY`,
  },
  // kafka_partition: the partition the agent's events last came from (-1 when not from Kafka), so an
  // instance restores exactly the agents of the partitions it is assigned.
  {
    id: '005_agent_baselines',
    sql: `CREATE TABLE IF NOT EXISTS {db}.agent_baselines (
            agent_id String, tenant_id LowCardinality(String), blueprint_id LowCardinality(String),
            version UInt64, saved_at DateTime64(3, 'UTC'), last_event_time DateTime64(3, 'UTC'),
            learned UInt64, risk_level LowCardinality(String), risk_score UInt8, compromised Bool,
            kafka_partition Int32, state String CODEC(ZSTD(3))
          ) ENGINE = ReplacingMergeTree(version) ORDER BY agent_id`,
  },
  {
    id: '006_blueprint_baselines',
    sql: `CREATE TABLE IF NOT EXISTS {db}.blueprint_baselines (
            blueprint_id String, version UInt64, saved_at DateTime64(3, 'UTC'), agents UInt32, learned UInt64,
            state String CODEC(ZSTD(3))
          ) ENGINE = ReplacingMergeTree(version) ORDER BY blueprint_id`,
  },
  {
    id: '007_risk_events',
    sql: `CREATE TABLE IF NOT EXISTS {db}.risk_events (
            risk_event_id String, tenant_id LowCardinality(String), agent_id String, blueprint_id LowCardinality(String),
            time DateTime64(3, 'UTC'), detected_at DateTime64(3, 'UTC'),
            risk_level LowCardinality(String), previous_risk_level LowCardinality(String), risk_score UInt8,
            detectors Array(LowCardinality(String)), action LowCardinality(String), event_ids Array(String),
            body String CODEC(ZSTD(3))
          ) ENGINE = ReplacingMergeTree ORDER BY (time, agent_id, risk_event_id)`,
  },
  {
    id: '008_enforcement_actions',
    sql: `CREATE TABLE IF NOT EXISTS {db}.enforcement_actions (
            change_id String, agent_id String, tenant_id LowCardinality(String), at DateTime64(3, 'UTC'),
            from_mode LowCardinality(String), to_mode LowCardinality(String), by String, reason String,
            risk_event_id String, body String
          ) ENGINE = ReplacingMergeTree ORDER BY (agent_id, at, change_id)`,
  },
  {
    id: '009_audit_log',
    sql: `CREATE TABLE IF NOT EXISTS {db}.audit_log (
            at DateTime64(3, 'UTC'), actor String, role LowCardinality(String), action LowCardinality(String),
            target String, detail String
          ) ENGINE = MergeTree ORDER BY at`,
  },
  {
    id: '010_config_versions',
    sql: `CREATE TABLE IF NOT EXISTS {db}.config_versions (
            version UInt32, at DateTime64(3, 'UTC'), by String, config String
          ) ENGINE = ReplacingMergeTree ORDER BY version`,
  },
  // Analyst views: what the baselines are built from, per agent and per blueprint.
  {
    id: '011_view_agent_hour_of_week',
    sql: `CREATE OR REPLACE VIEW {db}.agent_hour_of_week AS
          SELECT tenant_id, agent_id, blueprint_id, (toDayOfWeek(time) - 1) * 24 + toHour(time) AS hour_of_week,
                 count() AS events, countIf(kind = 'tool_call') AS tool_calls
          FROM {db}.events WHERE learned GROUP BY tenant_id, agent_id, blueprint_id, hour_of_week`,
  },
  {
    id: '012_view_agent_resources',
    sql: `CREATE OR REPLACE VIEW {db}.agent_resources AS
          SELECT tenant_id, agent_id, blueprint_id, resource, any(sensitivity) AS sensitivity, count() AS calls,
                 sum(ifNull(records, 0)) AS records, min(time) AS first_seen, max(time) AS last_seen
          FROM {db}.events WHERE kind = 'tool_call' AND learned GROUP BY tenant_id, agent_id, blueprint_id, resource`,
  },
  {
    id: '013_view_blueprint_resources',
    sql: `CREATE OR REPLACE VIEW {db}.blueprint_resources AS
          SELECT tenant_id, blueprint_id, resource, any(sensitivity) AS sensitivity, uniqExact(agent_id) AS agents,
                 count() AS calls, min(time) AS first_seen, max(time) AS last_seen
          FROM {db}.events WHERE kind = 'tool_call' AND learned GROUP BY tenant_id, blueprint_id, resource`,
  },
  {
    id: '014_view_agent_tools',
    sql: `CREATE OR REPLACE VIEW {db}.agent_tools AS
          SELECT tenant_id, agent_id, blueprint_id, tool, count() AS calls, countIf(outcome = 'denied') AS denied,
                 min(time) AS first_seen, max(time) AS last_seen
          FROM {db}.events WHERE kind = 'tool_call' AND learned GROUP BY tenant_id, agent_id, blueprint_id, tool`,
  },
  {
    id: '015_view_agent_baselines_latest',
    sql: `CREATE OR REPLACE VIEW {db}.agent_baselines_latest AS
          SELECT agent_id, argMax(tenant_id, b.version) AS tenant_id, argMax(blueprint_id, b.version) AS blueprint_id,
                 max(b.version) AS latest_version, argMax(saved_at, b.version) AS saved_at,
                 argMax(last_event_time, b.version) AS last_event_time, argMax(learned, b.version) AS learned,
                 argMax(risk_level, b.version) AS risk_level, argMax(risk_score, b.version) AS risk_score,
                 argMax(compromised, b.version) AS compromised, argMax(state, b.version) AS state
          FROM {db}.agent_baselines AS b GROUP BY agent_id`,
  },
  // Peer baselines per Kafka partition: each instance saves what it learned from the partitions it
  // holds, and every instance merges the latest partial of each (blueprint, partition), so a
  // blueprint spread over instances is judged against all its peers. blueprint_baselines (006)
  // stays: a blueprint saved there before is read as one more partial (kafka_partition -1).
  {
    id: '016_blueprint_partials',
    sql: `CREATE TABLE IF NOT EXISTS {db}.blueprint_partials (
            blueprint_id String, kafka_partition Int32, version UInt64, saved_at DateTime64(3, 'UTC'),
            agents UInt32, learned UInt64, state String CODEC(ZSTD(3))
          ) ENGINE = ReplacingMergeTree(version) ORDER BY (blueprint_id, kafka_partition)`,
  },
  // The events' JSON (`raw`) is rebuilt from the columns when read instead of being stored with
  // every row: writing it was ~16% of the CPU an event costs end to end (docs/benchmarks.md, sixth
  // round). The four columns added hold what the other columns cannot say: the agent's platform, a
  // sign-in's failure reason, the time as sent when it is not the canonical
  // `YYYY-MM-DDTHH:MM:SS.mmmZ`, and whether a tool call named its sensitivity. Rows written before
  // keep their stored JSON (`raw_text`), and `raw` reads it when it is there.
  {
    id: '017_events_columns_for_raw',
    sql: `ALTER TABLE {db}.events
            ADD COLUMN IF NOT EXISTS agent_platform LowCardinality(String) AFTER parent_id,
            ADD COLUMN IF NOT EXISTS failure_reason Nullable(String) AFTER outcome,
            ADD COLUMN IF NOT EXISTS time_text String AFTER time,
            ADD COLUMN IF NOT EXISTS sensitivity_given Bool AFTER sensitivity`,
  },
  {
    id: '018_events_raw_text',
    sql: `ALTER TABLE {db}.events RENAME COLUMN raw TO raw_text`,
    onlyIf: `SELECT count() FROM system.columns WHERE database = '{db}' AND table = 'events' AND name = 'raw' AND default_kind = ''`,
  },
  // Keys in the order the decoder gives them (schemas/events.ts); absent optional fields are empty
  // strings or NULL in their columns (every optional text field is non-empty when present).
  // ClickHouse's JSON strings escape '/' as '\/'; the one replaceAll undoes that (in escaped JSON a
  // backslash before '/' is always that escape: a literal backslash is written as two).
  {
    id: '019_events_raw_alias',
    sql: `ALTER TABLE {db}.events ADD COLUMN IF NOT EXISTS raw String ALIAS if(raw_text != '', raw_text, replaceAll(concat(
            '{"eventId":', toJSONString(event_id),
            ',"time":', toJSONString(if(time_text != '', time_text, concat(replaceOne(toString(time), ' ', 'T'), 'Z'))),
            ',"tenantId":', toJSONString(tenant_id),
            ',"agent":{"id":', toJSONString(agent_id),
            if(blueprint_id != '', concat(',"blueprintId":', toJSONString(blueprint_id)), ''),
            if(owner_id != '', concat(',"ownerId":', toJSONString(owner_id)), ''),
            if(agent_platform != '', concat(',"platform":', toJSONString(agent_platform)), ''),
            if(parent_id != '', concat(',"parentId":', toJSONString(parent_id)), ''),
            '}',
            if(obo_user != '', concat(',"onBehalfOf":{"userId":', toJSONString(obo_user), '}'), ''),
            if(trace_id != '', concat(',"traceId":', toJSONString(trace_id)), ''),
            ',"kind":', toJSONString(kind),
            if(kind = 'tool_call',
              concat(
                ',"tool":', toJSONString(tool), ',"resource":', toJSONString(resource), ',"operation":', toJSONString(operation),
                if(sensitivity_given, concat(',"sensitivity":', toJSONString(sensitivity)), ''),
                ',"outcome":', toJSONString(outcome),
                if(isNull(records), '', concat(',"records":', toString(assumeNotNull(records)))),
                if(isNull(bytes), '', concat(',"bytes":', toString(assumeNotNull(bytes)))),
                if(isNull(duration_ms), '', concat(',"durationMs":', toString(assumeNotNull(duration_ms))))),
              concat(
                ',"credential":', toJSONString(credential), ',"network":{"ip":', toJSONString(ip),
                if(isNull(asn), '', concat(',"asn":', toString(assumeNotNull(asn)))),
                if(country != '', concat(',"country":', toJSONString(country)), ''),
                if(location != '', concat(',"location":', toJSONString(location)), ''),
                '},"resource":', toJSONString(resource), ',"scopes":', toJSONString(scopes), ',"outcome":', toJSONString(outcome),
                if(isNull(failure_reason), '', concat(',"failureReason":', toJSONString(assumeNotNull(failure_reason)))))),
            '}'), '\\\\/', '/'))`,
  },
]

export async function migrate(store: StoreClient, opts: { ttlDays: number }): Promise<string[]> {
  const fill = (sql: string) => sql.replaceAll('{db}', store.database).replaceAll('{ttlDays}', String(opts.ttlDays))
  const applied: string[] = []
  for (const m of MIGRATIONS) {
    // A migration whose condition counts nothing to change is already in effect.
    if (m.onlyIf === undefined || Number(await store.queryText(fill(m.onlyIf), 'TabSeparated')) > 0) await store.client.command({ query: fill(m.sql) })
    applied.push(m.id)
  }
  await store.client.insert({
    table: `${store.database}.schema_migrations`,
    values: applied.map((id) => ({ id, applied_at: Date.now() })),
    format: 'JSONEachRow',
  })
  return applied
}
