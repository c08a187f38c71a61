/** Risk event contract v1: what AgentWatch emits on the risk topic and stores for analysts. */
import { z } from 'zod'

export const RiskLevel = z.enum(['none', 'low', 'medium', 'high'])
export type RiskLevel = z.infer<typeof RiskLevel>
export const RISK_LEVELS: readonly RiskLevel[] = RiskLevel.options

export const ActionName = z.enum(['none', 'notify_owner', 'throttle', 'quarantine'])
export type ActionName = z.infer<typeof ActionName>

export const DetectionSchema = z.object({
  detector: z.string().describe('Stable snake_case detector name, as in config.'),
  score: z.number().min(0).max(1).describe('0 = normal, 1 = as anomalous as this detector can say.'),
  observation: z
    .string()
    .describe('What kind of anomaly: first_seen, rare, off_hours, surge, unseen_transition, unfamiliar, failure_burst, probing, ...'),
  reason: z.string().describe('Plain-words explanation for an analyst.'),
  evidence: z.record(z.string(), z.unknown()).describe('What was observed and what the baseline says, with numbers.'),
})
export type Detection = z.infer<typeof DetectionSchema>

export const RiskEventSchema = z
  .object({
    riskEventId: z.string().describe('Deterministic from its inputs: a replay or redelivery yields the same id, so subscribers can drop duplicates.'),
    tenantId: z.string(),
    agentId: z.string(),
    blueprintId: z.string().optional(),
    time: z.string().describe('Event time of the latest triggering event (RFC 3339 UTC).'),
    detectedAt: z.string().describe('Wall-clock time AgentWatch produced this risk event (RFC 3339 UTC).'),
    riskLevel: RiskLevel,
    previousRiskLevel: RiskLevel,
    riskScore: z.number().int().min(0).max(100),
    detections: z.array(DetectionSchema),
    eventIds: z.array(z.string()).describe('Events that contributed to this level.'),
    action: ActionName.describe('Action the policy applied for this level.'),
  })
  .describe('An agent risk level change.')
export type RiskEvent = z.infer<typeof RiskEventSchema>
