/**
 * The fast validation path must agree with the zod schemas: whatever it accepts, zod accepts with
 * the very same value (keys, key order, values, event time). Checked on simulator events and on
 * many mutations of them, valid and invalid.
 */
import { describe, expect, it } from 'vitest'
import { AgentEventSchema, decodeEvent, decodeRaw, describeIssues, fastDecode } from '../../schemas/events.ts'
import { generateFleet } from '../../src/sim/index.ts'

/** Deterministic PRNG (mulberry32). */
function rng(seed: number) {
  let a = seed >>> 0
  return () => {
    a = (a + 0x6d2b79f5) >>> 0
    let t = a
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

/** What decodeEvent returned before the fast path: zod alone. */
function zodDecode(value: unknown) {
  const parsed = AgentEventSchema.safeParse(value)
  if (!parsed.success) return { ok: false as const, reason: describeIssues(parsed.error) }
  return { ok: true as const, event: { ...parsed.data, ts: Date.parse(parsed.data.time) } }
}

const WEIRD: unknown[] = [
  undefined, null, true, 0, -0, -1, 1.5, 2 ** 53, -(2 ** 53), 1e400, '', 'x', 'a'.repeat(512), 'a'.repeat(513), 'a'.repeat(1025),
  'US', 'USA', [], ['a'], [''], {}, { id: 'x' }, { userId: 'u' }, { userId: '' }, 'read', 'READ', 'admin', 'restricted',
  'success', 'failure', 'denied', 'error', 'certificate', 'managed_identity', 'signin', 'tool_call',
  '10.0.0.1', '256.1.1.1', '01.2.3.4', '::1', '2001:db8::1', '::1\n', 'fe80::1%eth0', '1.2.3',
  '2026-03-02T09:15:00.000Z', '2026-03-02T09:15:00Z', '2026-03-02T09:15:00.1234567Z', '2026-03-02T09:15Z', '2026-03-02T24:00:00.000Z',
  '2026-02-29T00:00:00.000Z', '2024-02-29T23:59:59.999Z', '2026-02-30T00:00:00.000Z', '2026-03-02T09:15:00.000+01:00', '2026-03-02 09:15:00.000Z',
  '2026-03-02t09:15:00.000z', '0000-01-01T00:00:00.000Z', '9999-12-31T23:59:59.999Z', '1969-12-31T23:59:59.999Z',
]

const TOP_KEYS = ['eventId', 'kind', 'time', 'tenantId', 'agent', 'onBehalfOf', 'traceId', 'tool', 'resource', 'operation', 'sensitivity', 'outcome', 'records', 'bytes', 'durationMs', 'credential', 'network', 'scopes', 'failureReason', 'extra']
const AGENT_KEYS = ['id', 'blueprintId', 'ownerId', 'platform', 'parentId', 'extra']
const NETWORK_KEYS = ['ip', 'asn', 'country', 'location', 'extra']

function mutate(event: Record<string, unknown>, r: () => number): Record<string, unknown> {
  const e = structuredClone(event) as Record<string, any>
  const pick = <T>(xs: readonly T[]) => xs[Math.floor(r() * xs.length)]!
  const n = 1 + Math.floor(r() * 3)
  for (let i = 0; i < n; i++) {
    const where = r()
    const value = pick(WEIRD)
    const target = where < 0.6 ? e : where < 0.8 ? (typeof e.agent === 'object' && e.agent ? e.agent : e) : typeof e.network === 'object' && e.network ? e.network : e
    const keys = target === e ? TOP_KEYS : target === e.agent ? AGENT_KEYS : NETWORK_KEYS
    const key = pick(keys)
    const op = r()
    if (op < 0.2) delete target[key]
    else if (op < 0.25) target[key] = undefined
    else if (op < 0.3) {
      // Reorder keys: the output must follow the schema's order, not the input's.
      const entries = Object.entries(target).reverse()
      for (const k of Object.keys(target)) delete target[k]
      for (const [k, v] of entries) target[k] = v
    } else target[key] = structuredClone(value)
  }
  return e
}

function expectAgreement(value: unknown): 'fast' | 'zod' {
  const fast = fastDecode(value)
  const reference = zodDecode(value)
  if (fast !== undefined) {
    expect(reference.ok, JSON.stringify(value)).toBe(true)
    // JSON.stringify compares values and key order; ts separately (it may be NaN for no valid input, never here).
    expect(JSON.stringify(fast)).toBe(JSON.stringify(reference.ok && reference.event))
    expect(fast.ts).toBe(reference.ok && reference.event.ts)
  }
  const viaDecode = decodeEvent(value)
  expect(viaDecode.ok).toBe(reference.ok)
  if (!viaDecode.ok && !reference.ok) expect(viaDecode.reason).toBe(reference.reason)
  if (viaDecode.ok && reference.ok) expect(JSON.stringify(viaDecode.event)).toBe(JSON.stringify(reference.event))
  // As a message: decodeRaw skips the checks only a value that did not come from JSON.parse needs.
  const text = JSON.stringify(value)
  if (text !== undefined) {
    const viaRaw = decodeRaw(text)
    const fromText = zodDecode(JSON.parse(text))
    expect(viaRaw.ok).toBe(fromText.ok)
    if (viaRaw.ok && fromText.ok) expect(JSON.stringify(viaRaw.event)).toBe(JSON.stringify(fromText.event))
    if (!viaRaw.ok && !fromText.ok) expect(viaRaw.reason).toBe(fromText.reason)
  }
  return fast !== undefined ? 'fast' : 'zod'
}

describe('fast validation path', () => {
  const { events } = generateFleet({ seed: 11, agents: 12, days: 2 })
  const parsed = events.map((e) => JSON.parse(JSON.stringify(e)) as Record<string, unknown>)

  it('takes every simulator event and builds the same value as zod', () => {
    expect(parsed.length).toBeGreaterThan(1000)
    const kinds = new Set<unknown>()
    for (const e of parsed) {
      expect(expectAgreement(e)).toBe('fast')
      kinds.add(e.kind)
    }
    expect([...kinds].sort()).toEqual(['signin', 'tool_call'])
  })

  it('agrees with zod on accept or reject, value and reasons, for mutated events', () => {
    const r = rng(42)
    let fast = 0
    let rejected = 0
    for (let i = 0; i < 30_000; i++) {
      const v = mutate(parsed[Math.floor(r() * parsed.length)]!, r)
      if (expectAgreement(v) === 'fast') fast++
      else if (!zodDecode(v).ok) rejected++
    }
    // Both outcomes are well represented, so the comparison means something.
    expect(fast).toBeGreaterThan(3_000)
    expect(rejected).toBeGreaterThan(3_000)
  })

  it('computes event time as Date.parse does, for any valid timestamp', () => {
    const r = rng(7)
    const base = parsed.find((e) => e.kind === 'tool_call')!
    const pad = (n: number, w: number) => String(n).padStart(w, '0')
    for (let i = 0; i < 20_000; i++) {
      const y = i % 10 === 0 ? Math.floor(r() * 10_000) : 1960 + Math.floor(r() * 100)
      const m = 1 + Math.floor(r() * 12)
      const d = 1 + Math.floor(r() * 31)
      const frac = ['', '.5', '.12', `.${pad(Math.floor(r() * 1000), 3)}`, '.123456'][Math.floor(r() * 5)]
      const time = `${pad(y, 4)}-${pad(m, 2)}-${pad(d, 2)}T${pad(Math.floor(r() * 24), 2)}:${pad(Math.floor(r() * 60), 2)}:${pad(Math.floor(r() * 60), 2)}${frac}Z`
      expectAgreement({ ...base, time })
    }
    // Every day of the month at its edges, in leap and common years of each Gregorian rule, and
    // each field one past its range.
    for (const y of ['0000', '1900', '1970', '1999', '2000', '2023', '2024', '2100', '2400', '9996'])
      for (let m = 0; m <= 13; m++)
        for (const d of [0, 1, 28, 29, 30, 31, 32]) expectAgreement({ ...base, time: `${y}-${pad(m, 2)}-${pad(d, 2)}T12:00:00.000Z` })
    for (const t of ['23:59:59', '24:00:00', '00:60:00', '00:00:60', '0a:00:00', '00:00:0 ']) expectAgreement({ ...base, time: `2026-03-02T${t}.000Z` })
    for (const time of ['2026-03-02T09:15:00.00aZ', '2026/03/02T09:15:00.000Z', '2026-03-02T09:15:00,000Z', '+026-03-02T09:15:00.000Z']) expectAgreement({ ...base, time })
    expect(fastDecode({ ...base, time: '2024-02-29T23:59:59.999Z' })?.ts).toBe(Date.parse('2024-02-29T23:59:59.999Z'))
    expect(fastDecode({ ...base, time: '2026-02-29T00:00:00.000Z' })).toBeUndefined()
  })

  it('leaves rejected values to zod, whose reasons stay as they were', () => {
    for (const v of WEIRD) expect(expectAgreement(v)).toBe('zod')
    for (const w of WEIRD) for (const e of parsed.slice(0, 40)) {
      for (const key of TOP_KEYS) expectAgreement({ ...e, [key]: w })
    }
  })
})
