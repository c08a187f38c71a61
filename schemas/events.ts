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
  const event = fastDecode(value)
  if (event !== undefined) return { ok: true, event }
  const parsed = AgentEventSchema.safeParse(value)
  if (!parsed.success) return { ok: false, reason: describeIssues(parsed.error) }
  const ts = Date.parse(parsed.data.time)
  return { ok: true, event: { ...parsed.data, ts } as AgentEvent }
}

// ---------------------------------------------------------------------------------------------
// Fast path for the common case: a well-formed event. It checks exactly what the schemas above
// check and builds the same value zod would (same keys, same order, unknown fields dropped), but
// it never explains a rejection: anything it does not accept goes through zod, which gives the
// precise reasons. It may reject more than zod (then zod decides), never accept more.
// ---------------------------------------------------------------------------------------------

// The very patterns the schemas use, so the two paths cannot drift apart.
const TIME_PATTERN: RegExp = (common.time as unknown as { _zod: { def: { pattern: RegExp } } })._zod.def.pattern
const IPV4_PATTERN: RegExp = (z.ipv4() as unknown as { _zod: { def: { pattern: RegExp } } })._zod.def.pattern
const IpAddress = SigninEventSchema.shape.network.shape.ip

const CREDENTIALS: ReadonlySet<unknown> = new Set(Credential.options)
const OPERATIONS: ReadonlySet<unknown> = new Set(Operation.options)
const SENSITIVITIES: ReadonlySet<unknown> = new Set(Sensitivity.options)

type Obj = Record<string, unknown>
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v)
/** nonEmpty(): a string of 1 to 512 UTF-16 units. */
const isName = (v: unknown): v is string => typeof v === 'string' && v.length >= 1 && v.length <= 512
/** z.number().int().nonnegative() */
const isCount = (v: unknown): v is number => typeof v === 'number' && Number.isSafeInteger(v) && v >= 0
/** An optional key that is present but undefined: zod keeps it as such; leave that rare case to zod. */
const undefinedKey = (o: Obj, k: string) => k in o

/** The decimal number written by `n` ASCII digits of `s` from `at`. */
function digitsAt(s: string, at: number, n: number): number {
  let v = 0
  for (let i = at; i < at + n; i++) v = v * 10 + s.charCodeAt(i) - 48
  return v
}

/** Epoch ms of an RFC 3339 UTC time already matched by TIME_PATTERN; Date.parse unless it is the usual `YYYY-MM-DDTHH:MM:SS.mmmZ`. */
function epochMs(time: string): number {
  if (time.length !== 24) return Date.parse(time)
  let y = digitsAt(time, 0, 4)
  const m = digitsAt(time, 5, 2)
  const day = digitsAt(time, 8, 2)
  // Days from 1970-01-01 of a proleptic Gregorian date (H. Hinnant's days_from_civil).
  if (m <= 2) y -= 1
  const era = Math.floor(y / 400)
  const yoe = y - era * 400
  const doy = Math.floor((153 * (m > 2 ? m - 3 : m + 9) + 2) / 5) + day - 1
  const doe = yoe * 365 + Math.floor(yoe / 4) - Math.floor(yoe / 100) + doy
  const days = era * 146097 + doe - 719468
  const ms = (digitsAt(time, 11, 2) * 60 + digitsAt(time, 14, 2)) * 60_000 + digitsAt(time, 17, 2) * 1000 + digitsAt(time, 20, 3)
  return days * 86_400_000 + ms
}

function fastAgent(v: unknown): Obj | undefined {
  if (!isObj(v)) return undefined
  const id = v.id
  if (!isName(id)) return undefined
  const out: Obj = { id }
  const blueprintId = v.blueprintId
  if (blueprintId !== undefined) {
    if (!isName(blueprintId)) return undefined
    out.blueprintId = blueprintId
  } else if (undefinedKey(v, 'blueprintId')) return undefined
  const ownerId = v.ownerId
  if (ownerId !== undefined) {
    if (!isName(ownerId)) return undefined
    out.ownerId = ownerId
  } else if (undefinedKey(v, 'ownerId')) return undefined
  const platform = v.platform
  if (platform !== undefined) {
    if (!isName(platform)) return undefined
    out.platform = platform
  } else if (undefinedKey(v, 'platform')) return undefined
  const parentId = v.parentId
  if (parentId !== undefined) {
    if (!isName(parentId)) return undefined
    out.parentId = parentId
  } else if (undefinedKey(v, 'parentId')) return undefined
  return out
}

function fastNetwork(v: unknown): Obj | undefined {
  if (!isObj(v)) return undefined
  const ip = v.ip
  if (typeof ip !== 'string') return undefined
  IPV4_PATTERN.lastIndex = 0
  if (!IPV4_PATTERN.test(ip) && !IpAddress.safeParse(ip).success) return undefined
  const out: Obj = { ip }
  const asn = v.asn
  if (asn !== undefined) {
    if (!isCount(asn)) return undefined
    out.asn = asn
  } else if (undefinedKey(v, 'asn')) return undefined
  const country = v.country
  if (country !== undefined) {
    if (typeof country !== 'string' || country.length !== 2) return undefined
    out.country = country
  } else if (undefinedKey(v, 'country')) return undefined
  const location = v.location
  if (location !== undefined) {
    if (!isName(location)) return undefined
    out.location = location
  } else if (undefinedKey(v, 'location')) return undefined
  return out
}

/**
 * The event exactly as `decodeEvent` returns it through zod, when `value` is a valid event that
 * needs no explaining; undefined otherwise (zod then decides and explains).
 */
export function fastDecode(value: unknown): AgentEvent | undefined {
  if (!isObj(value)) return undefined
  const v = value
  const kind = v.kind
  if (kind !== 'tool_call' && kind !== 'signin') return undefined
  const eventId = v.eventId
  const time = v.time
  const tenantId = v.tenantId
  if (!isName(eventId) || typeof time !== 'string' || !isName(tenantId)) return undefined
  TIME_PATTERN.lastIndex = 0
  if (!TIME_PATTERN.test(time)) return undefined
  const agent = fastAgent(v.agent)
  if (agent === undefined) return undefined
  const out: Obj = { eventId, time, tenantId, agent }
  const onBehalfOf = v.onBehalfOf
  if (onBehalfOf !== undefined) {
    if (!isObj(onBehalfOf) || !isName(onBehalfOf.userId)) return undefined
    out.onBehalfOf = { userId: onBehalfOf.userId }
  } else if (undefinedKey(v, 'onBehalfOf')) return undefined
  const traceId = v.traceId
  if (traceId !== undefined) {
    if (!isName(traceId)) return undefined
    out.traceId = traceId
  } else if (undefinedKey(v, 'traceId')) return undefined
  out.kind = kind

  if (kind === 'tool_call') {
    const tool = v.tool
    const resource = v.resource
    const operation = v.operation
    if (!isName(tool) || !isName(resource) || !OPERATIONS.has(operation)) return undefined
    out.tool = tool
    out.resource = resource
    out.operation = operation
    const sensitivity = v.sensitivity
    if (sensitivity !== undefined) {
      if (!SENSITIVITIES.has(sensitivity)) return undefined
      out.sensitivity = sensitivity
    } else if (undefinedKey(v, 'sensitivity')) return undefined
    const outcome = v.outcome
    if (outcome !== 'success' && outcome !== 'denied' && outcome !== 'error') return undefined
    out.outcome = outcome
    const records = v.records
    if (records !== undefined) {
      if (!isCount(records)) return undefined
      out.records = records
    } else if (undefinedKey(v, 'records')) return undefined
    const bytes = v.bytes
    if (bytes !== undefined) {
      if (!isCount(bytes)) return undefined
      out.bytes = bytes
    } else if (undefinedKey(v, 'bytes')) return undefined
    const durationMs = v.durationMs
    if (durationMs !== undefined) {
      if (typeof durationMs !== 'number' || !Number.isFinite(durationMs) || !(durationMs >= 0)) return undefined
      out.durationMs = durationMs
    } else if (undefinedKey(v, 'durationMs')) return undefined
  } else {
    const credential = v.credential
    if (!CREDENTIALS.has(credential)) return undefined
    out.credential = credential
    const network = fastNetwork(v.network)
    if (network === undefined) return undefined
    out.network = network
    const resource = v.resource
    if (!isName(resource)) return undefined
    out.resource = resource
    const scopes = v.scopes
    if (!Array.isArray(scopes) || scopes.length > 256) return undefined
    for (let i = 0; i < scopes.length; i++) if (!isName(scopes[i])) return undefined
    out.scopes = scopes.slice()
    const outcome = v.outcome
    if (outcome !== 'success' && outcome !== 'failure') return undefined
    out.outcome = outcome
    const failureReason = v.failureReason
    if (failureReason !== undefined) {
      if (typeof failureReason !== 'string' || failureReason.length > 1024) return undefined
      out.failureReason = failureReason
    } else if (undefinedKey(v, 'failureReason')) return undefined
  }
  out.ts = epochMs(time)
  return out as unknown as AgentEvent
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
