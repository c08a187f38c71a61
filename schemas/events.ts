/**
 * Event contract v1: what producers send on the sign-in and tool-call streams.
 *
 * Validated once, at the edge (HTTP ingest, Kafka source, replay). Unknown extra fields are
 * tolerated and dropped; wrong types or missing required fields are rejected with a precise reason.
 * Everything downstream trusts the `AgentEvent` type and its `ts` (event time, epoch milliseconds).
 */
import { z } from 'zod'

// A missing field says "required" rather than zod's "expected string, received undefined".
z.config({
  customError: (issue) =>
    issue.code === 'invalid_type' && issue.input === undefined ? 'required' : undefined,
})

const nonEmpty = (what: string) => z.string().min(1, `${what} must be a non-empty string`).max(512)

export const AgentRef = z
  .object({
    id: nonEmpty('agent.id').describe('Agent identity (for example an Entra Agent ID object id).'),
    blueprintId: nonEmpty('agent.blueprintId').optional().describe('Blueprint the agent was created from; agents of one blueprint form a peer group.'),
    ownerId: nonEmpty('agent.ownerId').optional().describe('Human or team accountable for the agent; notified by the notify action.'),
    platform: nonEmpty('agent.platform').optional().describe('Hosting platform, for example copilot-studio or foundry.'),
    parentId: nonEmpty('agent.parentId').optional().describe('The agent that spawned this sub-agent, if any.'),
  })
  .describe('The acting agent.')

const common = {
  eventId: nonEmpty('eventId').describe('Unique per event; the idempotency key. A redelivered event changes nothing.'),
  time: z.iso
    .datetime({ message: 'time must be an RFC 3339 UTC timestamp such as 2026-03-02T09:15:00.000Z' })
    .describe('Event time, RFC 3339 UTC with milliseconds. The pipeline runs on event time only.'),
  tenantId: nonEmpty('tenantId'),
  agent: AgentRef,
  onBehalfOf: z
    .object({ userId: nonEmpty('onBehalfOf.userId') })
    .optional()
    .describe('Present when the agent acts for a human (attended); absent when it acts on its own authority.'),
  traceId: nonEmpty('traceId').optional().describe('Shared by every event of one task across agents.'),
}

export const Credential = z.enum(['certificate', 'secret', 'federated', 'managed_identity'])
export const Operation = z.enum(['read', 'write', 'delete', 'execute', 'admin'])
export const Sensitivity = z.enum(['public', 'internal', 'confidential', 'restricted'])

export const SigninEventSchema = z
  .object({
    ...common,
    kind: z.literal('signin'),
    credential: Credential.describe('How the agent proved its identity.'),
    network: z
      .object({
        ip: z.union([z.ipv4(), z.ipv6()], { message: 'network.ip must be an IPv4 or IPv6 address' }),
        asn: z.number().int().nonnegative().optional().describe('Autonomous system number of the source address.'),
        country: z.string().length(2, 'network.country must be an ISO 3166-1 alpha-2 code').optional(),
        location: nonEmpty('network.location').optional().describe('Named location or data-centre region.'),
      })
      .describe('Where the token request came from.'),
    resource: nonEmpty('resource').describe('Audience of the requested token.'),
    scopes: z.array(nonEmpty('scope')).max(256).describe('Scopes or roles requested.'),
    outcome: z.enum(['success', 'failure']),
    failureReason: z.string().max(1024).optional(),
  })
  .describe('A token acquisition by an agent.')

export const ToolCallEventSchema = z
  .object({
    ...common,
    kind: z.literal('tool_call'),
    tool: nonEmpty('tool').describe('Tool or connector invoked, for example sharepoint.search.'),
    resource: nonEmpty('resource').describe('Target resource of the call.'),
    operation: Operation,
    sensitivity: Sensitivity.optional().describe('Label of the target resource; absent means internal.'),
    outcome: z.enum(['success', 'denied', 'error']),
    records: z.number().int().nonnegative().optional().describe('Items returned or affected.'),
    bytes: z.number().int().nonnegative().optional().describe('Payload size, bytes.'),
    durationMs: z.number().nonnegative().optional().describe('Call duration, milliseconds.'),
  })
  .describe('A tool invocation by an agent.')

export const AgentEventSchema = z.discriminatedUnion('kind', [SigninEventSchema, ToolCallEventSchema], {
  error: (issue) =>
    issue.code === 'invalid_union' ? 'kind must be "signin" or "tool_call"' : undefined,
})

export type SigninEventInput = z.infer<typeof SigninEventSchema>
export type ToolCallEventInput = z.infer<typeof ToolCallEventSchema>
export type AgentEventInput = z.infer<typeof AgentEventSchema>

/** A validated event plus its event time as epoch milliseconds. */
export type SigninEvent = SigninEventInput & { ts: number }
export type ToolCallEvent = ToolCallEventInput & { ts: number }
export type AgentEvent = SigninEvent | ToolCallEvent

export type DecodeResult = { ok: true; event: AgentEvent } | { ok: false; reason: string }

/** One problem per line, each naming the field path, e.g. `agent.id: Required`. */
export function describeIssues(error: z.ZodError): string {
  return error.issues
    .map((i) => `${i.path.length ? i.path.join('.') : '(root)'}: ${i.message}`)
    .join('; ')
}

/** Validate one already-parsed JSON value. */
export function decodeEvent(value: unknown): DecodeResult {
  const parsed = AgentEventSchema.safeParse(value)
  if (!parsed.success) return { ok: false, reason: describeIssues(parsed.error) }
  const ts = Date.parse(parsed.data.time)
  return { ok: true, event: { ...parsed.data, ts } as AgentEvent }
}

/** Parse and validate one raw message (a Kafka value or an NDJSON line). */
export function decodeRaw(raw: string | Buffer): DecodeResult {
  let value: unknown
  try {
    value = JSON.parse(typeof raw === 'string' ? raw : raw.toString('utf8'))
  } catch (err) {
    return { ok: false, reason: `not valid JSON: ${(err as Error).message}` }
  }
  return decodeEvent(value)
}
