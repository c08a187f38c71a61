/**
 * Request and response schemas of the control API. They validate input (every problem is reported,
 * see errors.ts) and, through @fastify/swagger, are the OpenAPI document: describe fields here.
 */
import { z } from 'zod'
import { RiskEventSchema, RiskLevel } from '../../schemas/risk.ts'
import { ErrorSchema } from './errors.ts'

export const AgentIdParams = z.object({
  id: z.string().min(1).max(512).describe('Agent id.'),
})

const limit = (max: number, dflt: number) =>
  z.coerce.number().int().min(1).max(max).default(dflt).describe(`Page size, 1-${max}. Default ${dflt}.`)

const isoTime = (what: string) =>
  z.iso.datetime({ offset: true, message: `${what} must be an RFC 3339 timestamp such as 2026-03-02T09:15:00Z` })

// ---- events ------------------------------------------------------------------------------------

export const IngestBody = z
  .union([z.array(z.unknown()), z.string()])
  .describe(
    'Either a JSON array of events (Content-Type: application/json) or newline-delimited JSON, one event per line ' +
      '(Content-Type: application/x-ndjson). Each element is validated on its own; invalid ones are rejected with a reason and kept as dead letters.',
  )

export const IngestOutcomeSchema = z.object({
  index: z.number().int().describe('Position of the event in the array; for NDJSON, among the non-empty lines.'),
  line: z.number().int().optional().describe('NDJSON only: 1-based line number in the body.'),
  status: z.enum(['accepted', 'duplicate', 'rejected']),
  eventId: z.string().optional(),
  reason: z.string().optional().describe('Why the event was rejected, naming each invalid field.'),
})

export const IngestResponse = z.object({
  accepted: z.number().int(),
  duplicates: z.number().int(),
  rejected: z.number().int(),
  results: z.array(IngestOutcomeSchema),
  riskEvents: z.array(RiskEventSchema).describe('Risk level changes these events caused; empty when forwarded.'),
  forwarded: z
    .boolean()
    .optional()
    .describe(
      'Present (true) when Kafka is the source: the accepted events were written to the input topics, keyed by agent id, and are processed by the instance holding each agent\'s partition; duplicates are dropped there, and risk events come on the risk topic.',
    ),
})

// ---- agents ------------------------------------------------------------------------------------

export const AgentSummarySchema = z.object({
  agentId: z.string(),
  tenantId: z.string(),
  blueprintId: z.string().optional(),
  ownerId: z.string().optional(),
  events: z.number().int().describe('Events seen from this agent.'),
  firstSeen: z.string().describe('Event time of its first event (RFC 3339).'),
  lastSeen: z.string().describe('Event time of its latest event (RFC 3339).'),
  riskLevel: RiskLevel,
  riskScore: z.number().describe('Current decayed risk, 0-100.'),
  compromised: z.boolean().describe('Confirmed compromised by an analyst; its events are no longer learned.'),
})

export const AgentListQuery = z.object({
  limit: limit(1000, 100),
  offset: z.coerce.number().int().min(0).default(0).describe('Agents to skip.'),
  level: RiskLevel.optional().describe('Only agents at this risk level.'),
  blueprintId: z.string().min(1).optional().describe('Only agents of this blueprint.'),
})

export const AgentListResponse = z.object({
  items: z.array(AgentSummarySchema),
  total: z.number().int().describe('Agents matching the filter, over all pages.'),
  limit: z.number().int(),
  offset: z.number().int(),
})

export const BaselineResponse = z.record(z.string(), z.unknown()).describe("The agent's learned baseline and its blueprint's, per detector.")

export const EnforcementStateSchema = z
  .object({
    agentId: z.string(),
    tenantId: z.string().optional(),
    mode: z.enum(['allowed', 'throttled', 'quarantined']),
    ratePerMinute: z.number().optional().describe('Throttled: calls per minute the agent may make.'),
    since: z.number().describe('Epoch milliseconds the mode started.'),
    until: z.number().optional().describe('Epoch milliseconds the mode ends by itself; absent = until changed.'),
    reason: z.string(),
    by: z.string().describe('`policy` for automatic actions, else the name of the API key that set it.'),
  })
  .describe('What an enforcement point should do with this agent now.')

export const EnforcementChangeSchema = z.object({
  changeId: z.string(),
  agentId: z.string(),
  tenantId: z.string().optional(),
  from: EnforcementStateSchema.shape.mode,
  to: EnforcementStateSchema.shape.mode,
  state: EnforcementStateSchema,
  riskEventId: z.string().optional(),
  at: z.number().describe('Epoch milliseconds.'),
})

// ---- actions -----------------------------------------------------------------------------------

const reason = z.string().trim().min(1, 'reason must be a non-empty string').max(1000).describe('Why; recorded in the audit trail.')
const durationMinutes = z.number().positive().max(525_600).optional().describe('Ends by itself after this long; absent = until released. Minutes (at most a year).')

export const QuarantineBody = z.object({ reason, durationMinutes }).strict()
export const ThrottleBody = z
  .object({
    reason,
    ratePerMinute: z.number().int().positive().optional().describe('Calls per minute allowed; default policy.throttle.ratePerMinute.'),
    durationMinutes,
  })
  .strict()
export const ReleaseBody = z.object({ reason }).strict()

// ---- risk events -------------------------------------------------------------------------------

export const RiskEventQuery = z
  .object({
    agentId: z.string().min(1).optional(),
    level: RiskLevel.optional().describe('Only risk events at this level.'),
    detector: z.string().min(1).optional().describe('Only risk events with a detection by this detector.'),
    from: isoTime('from').optional().describe('Detected at or after (RFC 3339).'),
    to: isoTime('to').optional().describe('Detected before (RFC 3339).'),
    limit: limit(1000, 100),
    cursor: z.string().min(1).optional().describe('nextCursor of the previous page.'),
  })
  .refine((q) => !q.from || !q.to || Date.parse(q.from) <= Date.parse(q.to), { message: 'from must not be after to', path: ['from'] })

export const RiskEventPage = z.object({
  items: z.array(RiskEventSchema),
  nextCursor: z.string().optional().describe('Pass as cursor for the next page; absent on the last page.'),
})

export const StreamQuery = z.object({
  agentId: z.string().min(1).optional().describe('Only this agent.'),
  level: RiskLevel.optional().describe('Only risk events at this level or above.'),
})

// ---- dead letters, audit, feedback -------------------------------------------------------------

export const DeadLetterQuery = z.object({
  limit: limit(1000, 100),
  from: isoTime('from').optional().describe('Received at or after (RFC 3339).'),
})
export const DeadLetterSchema = z.object({
  receivedAt: z.string(),
  origin: z.string().describe('Topic, file or `http`.'),
  partition: z.number().int().optional(),
  offset: z.string().optional(),
  reason: z.string(),
  payload: z.string().describe('The message as received.'),
})

export const AuditQuery = z.object({
  limit: limit(1000, 100),
  target: z.string().min(1).optional().describe('Only entries about this target (agent id, `config`, ...).'),
})
export const AuditEntrySchema = z.object({
  at: z.string(),
  actor: z.string().describe('API key name, or `policy` for automatic actions.'),
  role: z.enum(['analyst', 'responder', 'operator', 'admin', 'system']),
  action: z.string(),
  target: z.string(),
  detail: z.record(z.string(), z.unknown()),
})

export const FeedbackBody = z
  .object({
    agentId: z.string().min(1).max(512),
    riskEventId: z.string().min(1).optional().describe('The risk event the verdict is about.'),
    verdict: z
      .enum(['dismiss', 'confirm_safe', 'confirm_compromised'])
      .describe('dismiss: not interesting; confirm_safe: legitimate, learn it; confirm_compromised: quarantine and stop learning.'),
    note: z.string().max(4000).optional(),
  })
  .strict()
export const FeedbackResponse = z.object({ applied: z.string().describe('What the service did.') })

// ---- config ------------------------------------------------------------------------------------

export const ConfigPatch = z
  .record(z.string(), z.unknown())
  .describe('A full or partial configuration (see docs/config.md); objects merge over the current configuration, lists and values replace.')

export const ConfigValidateResponse = z.object({
  ok: z.boolean(),
  issues: z.array(z.object({ path: z.string(), message: z.string() })).optional(),
})
export const ConfigUpdateResponse = z.object({ ok: z.literal(true), version: z.number().int() })

export const ConfigVersionSchema = z.object({
  version: z.number().int(),
  at: z.string(),
  by: z.string(),
  config: z.record(z.string(), z.unknown()),
})

// ---- shared ------------------------------------------------------------------------------------

export const errorResponses = {
  400: ErrorSchema,
  401: ErrorSchema,
  403: ErrorSchema,
} as const

export const BEARER = [{ bearerAuth: [] }]
