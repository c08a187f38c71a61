/**
 * The configuration file (YAML or JSON), validated strictly: unknown keys are errors, so a typo is
 * caught at start-up instead of silently ignored. Every field is documented with its unit and
 * default; `npm run docs:config` renders this file as docs/config.md.
 * Connection settings may also come from environment variables (see src/config/load.ts).
 */
import { z } from 'zod'
import { DETECTORS } from '../detectors/index.ts'
import { ActionName } from './risk.ts'

const detectorShape: Record<string, z.ZodTypeAny> = {}
for (const d of DETECTORS) {
  const settings = d.config
    .extend({
      enabled: z.boolean().default(true).describe('Run this detector.'),
      weight: z.number().min(0).max(1).default(1).describe('Multiplies the detector\'s scores before they are combined. 0-1.'),
    })
    .strict()
    .describe(d.description)
  detectorShape[d.name] = settings.prefault({})
}
export const DetectorsConfig = z.object(detectorShape).strict()
/** Per-detector settings after defaults: `{ enabled, weight, ...detector fields }`. */
export type DetectorSettings = { enabled: boolean; weight: number } & Record<string, unknown>

const Role = z.enum(['analyst', 'responder', 'operator', 'admin'])
export type Role = z.infer<typeof Role>

export const RiskConfig = z
  .object({
    halfLifeMinutes: z.number().positive().default(60).describe('Accumulated risk halves after this much event time without new findings. Minutes.'),
    thresholds: z
      .object({
        low: z.number().min(0).max(100).default(25).describe('Risk score at or above which the level is low. 0-100.'),
        medium: z.number().min(0).max(100).default(50).describe('Risk score at or above which the level is medium. 0-100.'),
        high: z.number().min(0).max(100).default(80).describe('Risk score at or above which the level is high. 0-100.'),
      })
      .strict()
      .prefault({})
      .refine((t) => t.low < t.medium && t.medium < t.high, 'thresholds must rise: low < medium < high'),
    minFindingScore: z.number().min(0).max(1).default(0.1).describe('Findings scoring below this are ignored. 0-1.'),
    learnBelowLevel: z.enum(['low', 'medium', 'high']).default('medium').describe('An event whose own score reaches this level is not learned into any baseline.'),
    sweepMinutes: z.number().positive().default(5).describe('How often (event time) decayed risk is re-evaluated for agents without new events, so levels fall back. Minutes.'),
    repeatSuppressHours: z
      .number()
      .min(0)
      .default(24)
      .describe('After findings raised an agent to medium or high, findings of the same detector and observation on that agent are held at low for this long, so one open case is one alert. 0 = off. Hours.'),
    fleetChange: z
      .object({
        minAgents: z.number().int().min(2).default(3).describe('Distinct agents of one blueprint that must show the same novelty before it counts as a blueprint-wide change. Agents.'),
        minFraction: z.number().min(0).max(1).default(0.1).describe('...or this fraction of the blueprint\'s agents, whichever is more. 0-1.'),
        windowHours: z.number().positive().default(72).describe('Sightings older than this do not count towards a blueprint-wide change. Hours.'),
      })
      .strict()
      .prefault({})
      .describe('A novelty several agents of one blueprint show together (a rollout, a new region) is a change to the blueprint, not an anomaly: its findings are dropped and the events learned.'),
  })
  .strict()

const ActionList = z.array(ActionName.exclude(['none'])).default([])

export const BaselinesConfig = z
  .object({
    peerEstablishedAfterHours: z
      .number()
      .min(0)
      .default(72)
      .describe('An agent counts as an established peer of its blueprint once its learned history spans this long; detectors judge new agents only against established peers, so a blueprint whose agents all started together is not judged against minutes of history. Hours.'),
    peerRefreshSeconds: z
      .number()
      .int()
      .min(1)
      .max(86_400)
      .default(60)
      .describe('With several instances in one consumer group, each loads from ClickHouse the peer baselines the others checkpointed for the partitions it does not hold, this often (and on every assignment), so a blueprint spread over instances is judged against all its peers; what another instance learned reaches this one within about this period plus the checkpoint interval. Seconds of wall time.'),
    // A live profile costs ~8.3 KB, a dormant one ~2 KB and ~0.1 ms to wake (docs/benchmarks.md).
    dormantAfterMinutes: z
      .number()
      .min(0)
      // Below a minute, agents with a pause between two events would be frozen and thawed over and
      // over (~0.4 ms of the main thread each time).
      .refine((m) => m === 0 || m >= 1, 'dormantAfterMinutes must be 0 (never) or at least 1')
      .default(60)
      .describe('An agent at risk level none with no event for this long, and checkpointed since its last change, is kept dormant: its baseline deflated in memory (about a quarter of the size), woken by its next event or reader with exactly the state it had but for the older ids of its dedupe ring (dormantRecentIds). 0 keeps every agent live from then on (agents already dormant wake at their next event); otherwise at least 1. Minutes of event time.'),
    // Each hash kept costs a dormant record ~7.3 bytes deflated, random as hashes are: 16 kept, a
    // record of ~1,760 bytes; all 64, ~2,110; none, ~1,640 (docs/benchmarks.md, thirteenth round).
    dormantRecentIds: z
      .number()
      .int()
      .min(0)
      .max(64)
      .default(16)
      .describe("How many of its last 64 event ids (as hashes) a dormant agent keeps, the newest, by which a copy of an event sent again is ignored. A live agent keeps all 64. Kafka's redeliveries are ignored by the agent's offsets whatever this is; what it covers is a copy sent again under a new offset (a producer or connector resending) that reaches an agent gone dormant since the original: a copy of one of these ids is ignored, a copy of an older one is learned and scored a second time. Each id kept costs ~7 bytes a dormant agent: 16 ~1.9 KB an agent, 64 ~2.2 KB. Applies to agents frozen from then on. Event ids."),
  })
  .strict()

export const PolicyConfig = z
  .object({
    low: ActionList.describe('Actions when an agent reaches low risk.'),
    medium: ActionList.prefault(['notify_owner']).describe('Actions when an agent reaches medium risk.'),
    high: ActionList.prefault(['notify_owner', 'quarantine']).describe('Actions when an agent reaches high risk.'),
    throttle: z
      .object({
        ratePerMinute: z.number().int().positive().default(10).describe('Calls an enforcement point lets a throttled agent make. Calls per minute.'),
        durationMinutes: z.number().positive().default(60).describe('How long an automatic throttle lasts. Minutes.'),
      })
      .strict()
      .prefault({}),
    quarantineMinutes: z.number().positive().nullable().default(null).describe('How long an automatic quarantine lasts; null = until released by a responder. Minutes.'),
  })
  .strict()

export const ApiConfig = z
  .object({
    host: z.string().default('127.0.0.1').describe('Address the control API listens on.'),
    port: z.number().int().min(0).max(65535).default(8080).describe('Port of the control API.'),
    keys: z
      .array(
        z
          .object({
            name: z.string().min(1).describe('Who holds the key; recorded in the audit trail.'),
            key: z.string().min(16, 'API keys must be at least 16 characters').describe('Bearer token.'),
            role: Role.describe('analyst: read and feedback; responder: + actions; operator: + config; admin: all.'),
          })
          .strict(),
      )
      .default([])
      .describe('Bearer API keys. Without any, the API accepts only health, readiness, metrics and the OpenAPI document.'),
    maxBodyBytes: z.number().int().positive().default(10 * 1024 * 1024).describe('Largest accepted request body. Bytes.'),
  })
  .strict()

export const StoreConfig = z
  .object({
    url: z.string().url().optional().describe('ClickHouse server URL (http://host:8123). Unset = embedded chDB in dataDir. Env CLICKHOUSE_URL.'),
    username: z.string().optional().describe('ClickHouse user. Env CLICKHOUSE_USER.'),
    password: z.string().optional().describe('ClickHouse password. Env CLICKHOUSE_PASSWORD.'),
    database: z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/).default('agentwatch').describe('Database for AgentWatch tables. Env CLICKHOUSE_DATABASE.'),
    dataDir: z.string().default('./data/chdb').describe('Embedded chDB data folder. Env AGENTWATCH_DATA_DIR.'),
    eventsTtlDays: z.number().int().positive().default(30).describe('Raw events are kept this long. Days.'),
    // Every insert makes a part that ClickHouse merges later: at 30,000 events/s, inserts of ~30,000
    // rows (each checkpoint) cost ~30% less CPU per event than inserts of 5,000 (docs/benchmarks.md).
    // A checkpoint flushes every table anyway, so this bounds memory, not latency.
    flushRows: z
      .number()
      .int()
      .positive()
      .default(50_000)
      .describe('A batched insert is sent when this many rows wait; otherwise at every checkpoint or flushMs. Rows.'),
    flushMs: z.number().int().positive().default(1000).describe('A batched insert is sent at least this often. Milliseconds.'),
    checkpointMs: z
      .number()
      .int()
      .positive()
      .default(1000)
      .describe('Changed baselines are checkpointed, and Kafka offsets committed up to what the checkpoint covers, at least this often while events flow. Milliseconds.'),
    checkpointEvents: z
      .number()
      .int()
      .positive()
      .default(20_000)
      .describe('A checkpoint also starts as soon as this many events were processed since the last one. Events.'),
    checkpointIdleMs: z
      .number()
      .int()
      .positive()
      .default(100)
      .describe('A checkpoint also starts when at least `checkpointIdleEvents` processed events wait and no event came for this long while the service was free (the stream went quiet, not the service busy): a source that has caught up after a burst commits then, not at the next `checkpointMs`. Milliseconds.'),
    checkpointIdleEvents: z
      .number()
      .int()
      .positive()
      .default(1000)
      .describe('Events that must wait before a quiet stream starts a checkpoint (`checkpointIdleMs`); below it, a trickle of events is checkpointed every `checkpointMs` as before. Events.'),
    maxPendingEvents: z
      .number()
      .int()
      .positive()
      .default(100_000)
      .describe('Backpressure: when this many processed events are not yet covered by a completed checkpoint (ClickHouse or the Kafka producer lagging), sources stop consuming until a checkpoint completes. Events.'),
  })
  .strict()

export const KafkaConfig = z
  .object({
    enabled: z.boolean().default(false).describe('Consume from Kafka and publish risk and actions to Kafka. Env KAFKA_BROKERS enables it.'),
    brokers: z.array(z.string()).default(['127.0.0.1:9092']).describe('Bootstrap brokers host:port. Env KAFKA_BROKERS (comma-separated).'),
    clientId: z.string().default('agentwatch'),
    groupId: z.string().default('agentwatch').describe('Consumer group; instances in one group split the partitions.'),
    topics: z
      .object({
        signins: z.string().default('agent.signins'),
        toolCalls: z.string().default('agent.tool-calls'),
        risk: z.string().default('agent.risk'),
        actions: z.string().default('agent.actions'),
        deadLetter: z.string().default('agent.dead-letter'),
      })
      .strict()
      .prefault({}),
  })
  .strict()

export const ConfigSchema = z
  .object({
    detectors: DetectorsConfig.prefault({}),
    blueprintOverrides: z
      .record(z.string(), z.object({ detectors: z.record(z.string(), z.record(z.string(), z.unknown())) }).strict())
      .default({})
      .describe('Per-blueprint detector settings, merged over `detectors` for agents of that blueprint.'),
    baselines: BaselinesConfig.prefault({}),
    risk: RiskConfig.prefault({}),
    policy: PolicyConfig.prefault({}),
    api: ApiConfig.prefault({}),
    store: StoreConfig.prefault({}),
    kafka: KafkaConfig.prefault({}),
    demo: z.boolean().default(false).describe('Feed a simulated fleet into the service live, for a first look.'),
  })
  .strict()

export type Config = z.infer<typeof ConfigSchema>
export type ConfigInput = z.input<typeof ConfigSchema>
