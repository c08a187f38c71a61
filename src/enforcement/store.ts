/**
 * Enforcement state per agent: what an enforcement point (a gateway in front of an agent's tools)
 * asks before letting a call through. In memory, because it is read on every call the agent makes;
 * durable through the changes it emits, which the service persists and replays on start.
 *
 * - Unknown agents are allowed.
 * - A state with `until` ends by itself; expiry is evaluated on read against the wall clock, so no
 *   timer is needed and a restored state that expired while the service was down reads as allowed.
 * - Policy actions from risk events only ever escalate: quarantine beats throttle beats notify, and
 *   nothing automatic lowers a state, so a responder's quarantine stays until a responder releases it.
 * - Every change is one EnforcementChange with a deterministic id, written to the actions sink
 *   (topic, ClickHouse) and to the persistence port.
 */
import { createHash } from 'node:crypto'
import type { Config } from '../../schemas/config.ts'
import type { RiskEvent } from '../../schemas/risk.ts'
import type { AppDeps } from '../api/deps.ts'
import type { ActionSink } from '../sinks/types.ts'
import { log as defaultLog, type Logger } from '../util/log.ts'
import { notificationFor, type AuditPort, type Notifier } from './notifier.ts'
import type { EnforcementChange, EnforcementMode, EnforcementState } from './types.ts'

export interface EnforcementPersistence {
  save(change: EnforcementChange): void
}

export interface EnforcementStoreOptions {
  sink?: ActionSink
  persistence?: EnforcementPersistence
  notifier?: Notifier
  /** Audit trail for automatic changes; manual ones are audited by the API with the caller's key. */
  audit?: AuditPort
  /** Wall clock, epoch ms; injectable for tests. */
  now?: () => number
  logger?: Logger
  /** Risk event ids remembered to make re-applying one a no-op (redelivery, replay). Entries. */
  rememberRiskEvents?: number
}

const RANK: Record<EnforcementMode, number> = { allowed: 0, throttled: 1, quarantined: 2 }
const MINUTE_MS = 60_000
/** Reasons are shown to responders and stored; detections can be many, so cap the text. Characters. */
const MAX_REASON = 1000

function changeId(parts: unknown[]): string {
  return 'chg_' + createHash('sha256').update(JSON.stringify(parts)).digest('hex').slice(0, 32)
}

function riskReason(risk: RiskEvent): string {
  const why = risk.detections.map((d) => d.reason).join('; ')
  const text = `${risk.riskLevel} risk (score ${risk.riskScore})${why ? `: ${why}` : ''}`
  return text.length > MAX_REASON ? `${text.slice(0, MAX_REASON - 1)}…` : text
}

export class EnforcementStore {
  private readonly states = new Map<string, EnforcementState>()
  /** Insertion-ordered, so the oldest id is evicted first. */
  private readonly appliedRisk = new Set<string>()
  private readonly now: () => number
  private readonly logger: Logger
  private readonly remember: number

  constructor(private readonly opts: EnforcementStoreOptions = {}) {
    this.now = opts.now ?? Date.now
    this.logger = opts.logger ?? defaultLog
    this.remember = opts.rememberRiskEvents ?? 100_000
  }

  /** Current state of one agent; the hot path of enforcement points: one map lookup. Read-only. */
  get(agentId: string): EnforcementState {
    const s = this.states.get(agentId)
    if (!s) return { agentId, mode: 'allowed', since: 0, reason: 'no enforcement', by: 'default' }
    if (s.until !== undefined && s.until <= this.now()) {
      const expired: EnforcementState = Object.freeze({
        agentId,
        tenantId: s.tenantId,
        mode: 'allowed',
        since: s.until,
        reason: `expired: ${s.reason}`,
        by: s.by,
      })
      this.states.set(agentId, expired)
      return expired
    }
    return s
  }

  /** Agents currently throttled or quarantined. */
  active(): EnforcementState[] {
    const out: EnforcementState[] = []
    for (const id of this.states.keys()) {
      const s = this.get(id)
      if (s.mode !== 'allowed') out.push(s)
    }
    return out
  }

  /**
   * Apply the policy's actions for a risk event's level. Returns the state change, if any;
   * `notify_owner` goes to the notifier and is not a state change.
   */
  applyRisk(risk: RiskEvent, policy: Config['policy']): EnforcementChange | undefined {
    if (this.appliedRisk.has(risk.riskEventId)) return undefined
    this.rememberRisk(risk.riskEventId)

    const actions = risk.riskLevel === 'none' ? [] : policy[risk.riskLevel]
    const at = this.now()
    if (actions.includes('notify_owner')) {
      try {
        this.opts.notifier?.notify(notificationFor(risk, at))
      } catch (err) {
        // A failing notification channel must not stop the quarantine that may follow.
        this.logger.error({ err, agentId: risk.agentId, riskEventId: risk.riskEventId }, 'owner notification failed')
      }
    }
    const target: EnforcementMode | undefined = actions.includes('quarantine')
      ? 'quarantined'
      : actions.includes('throttle')
        ? 'throttled'
        : undefined
    if (!target) return undefined

    const current = this.get(risk.agentId)
    if (RANK[current.mode] >= RANK[target]) return undefined

    const state: EnforcementState =
      target === 'quarantined'
        ? {
            agentId: risk.agentId,
            tenantId: risk.tenantId,
            mode: 'quarantined',
            since: at,
            until: policy.quarantineMinutes === null ? undefined : at + policy.quarantineMinutes * MINUTE_MS,
            reason: riskReason(risk),
            by: 'policy',
          }
        : {
            agentId: risk.agentId,
            tenantId: risk.tenantId,
            mode: 'throttled',
            ratePerMinute: policy.throttle.ratePerMinute,
            since: at,
            until: at + policy.throttle.durationMinutes * MINUTE_MS,
            reason: riskReason(risk),
            by: 'policy',
          }
    // Keyed on the risk event, not the clock: replaying the same risk event gives the same id.
    const change = this.commit(current, state, changeId([risk.agentId, target, risk.riskEventId]), risk.riskEventId)
    this.opts.audit
      ?.record({
        actor: 'policy',
        role: 'system',
        action: target === 'quarantined' ? 'quarantine' : 'throttle',
        target: risk.agentId,
        detail: { changeId: change.changeId, riskEventId: risk.riskEventId, riskLevel: risk.riskLevel, until: state.until ?? null },
      })
      .catch((err: unknown) => this.logger.error({ err, changeId: change.changeId }, 'enforcement change not audited'))
    return change
  }

  quarantine(agentId: string, reason: string, by: string, durationMinutes?: number): EnforcementChange {
    const at = this.now()
    const current = this.get(agentId)
    return this.manual(current, {
      agentId,
      tenantId: current.tenantId,
      mode: 'quarantined',
      since: at,
      until: durationMinutes === undefined ? undefined : at + durationMinutes * MINUTE_MS,
      reason,
      by,
    })
  }

  throttle(agentId: string, reason: string, by: string, ratePerMinute: number, durationMinutes?: number): EnforcementChange {
    const at = this.now()
    const current = this.get(agentId)
    return this.manual(current, {
      agentId,
      tenantId: current.tenantId,
      mode: 'throttled',
      ratePerMinute,
      since: at,
      until: durationMinutes === undefined ? undefined : at + durationMinutes * MINUTE_MS,
      reason,
      by,
    })
  }

  release(agentId: string, reason: string, by: string): EnforcementChange {
    const current = this.get(agentId)
    return this.manual(current, { agentId, tenantId: current.tenantId, mode: 'allowed', since: this.now(), reason, by })
  }

  /**
   * Rebuild state from recorded changes (any order; applied by time). Nothing is written to the
   * sink or the persistence port: these changes are already recorded.
   */
  restore(changes: readonly EnforcementChange[]): void {
    const ordered = [...changes].sort((a, b) => a.at - b.at)
    for (const c of ordered) {
      this.states.set(c.agentId, Object.freeze({ ...c.state }))
      if (c.riskEventId) this.rememberRisk(c.riskEventId)
    }
    this.logger.info({ changes: changes.length, agents: this.states.size }, 'enforcement state restored')
  }

  private manual(current: EnforcementState, state: EnforcementState): EnforcementChange {
    const id = changeId([state.agentId, current.mode, state.mode, state.by, state.reason, state.since, state.ratePerMinute ?? null, state.until ?? null])
    return this.commit(current, state, id)
  }

  private commit(current: EnforcementState, state: EnforcementState, id: string, riskEventId?: string): EnforcementChange {
    const frozen = Object.freeze(state)
    this.states.set(state.agentId, frozen)
    const change: EnforcementChange = {
      changeId: id,
      agentId: state.agentId,
      tenantId: state.tenantId,
      from: current.mode,
      to: state.mode,
      state: frozen,
      riskEventId,
      at: state.since,
    }
    this.opts.sink?.write(change)
    try {
      this.opts.persistence?.save(change)
    } catch (err) {
      // The state is already in force; losing its record is logged loudly rather than undone.
      this.logger.error({ err, changeId: id, agentId: state.agentId }, 'enforcement change not persisted')
    }
    this.logger.info({ changeId: id, agentId: state.agentId, from: current.mode, to: state.mode, by: state.by, until: state.until, riskEventId }, 'enforcement changed')
    return change
  }

  private rememberRisk(id: string): void {
    this.appliedRisk.add(id)
    if (this.appliedRisk.size > this.remember) {
      const oldest = this.appliedRisk.values().next().value
      if (oldest !== undefined) this.appliedRisk.delete(oldest)
    }
  }
}

/** The `enforcement` port of AppDeps over a store. */
export function enforcementPort(store: EnforcementStore): AppDeps['enforcement'] {
  return {
    get: (agentId) => store.get(agentId),
    quarantine: async (agentId, reason, by, durationMinutes) => store.quarantine(agentId, reason, by, durationMinutes),
    throttle: async (agentId, reason, by, ratePerMinute, durationMinutes) => store.throttle(agentId, reason, by, ratePerMinute, durationMinutes),
    release: async (agentId, reason, by) => store.release(agentId, reason, by),
  }
}
