/**
 * Owner notifications. `notify_owner` informs the people accountable for an agent; it does not
 * change what the agent may do. The default notifier writes a structured log line (for a log
 * shipper or alert rule to pick up) and an audit entry; a mail or chat notifier can implement the
 * same port later.
 */
import type { RiskEvent, RiskLevel } from '../../schemas/risk.ts'
import type { AuditEntry } from '../api/deps.ts'
import { log as defaultLog, type Logger } from '../util/log.ts'

export interface Notification {
  /** Deterministic from the risk event, so a redelivered risk event yields the same id. */
  notificationId: string
  agentId: string
  tenantId: string
  blueprintId?: string
  riskEventId: string
  riskLevel: RiskLevel
  riskScore: number
  /** The detections' plain-words reasons. */
  reasons: string[]
  /** Wall clock, epoch ms. */
  at: number
}

export interface Notifier {
  notify(n: Notification): void
}

export interface AuditPort {
  record(entry: Omit<AuditEntry, 'at'>): Promise<void>
}

export function notificationFor(risk: RiskEvent, at: number): Notification {
  return {
    notificationId: `notify:${risk.riskEventId}`,
    agentId: risk.agentId,
    tenantId: risk.tenantId,
    blueprintId: risk.blueprintId,
    riskEventId: risk.riskEventId,
    riskLevel: risk.riskLevel,
    riskScore: risk.riskScore,
    reasons: risk.detections.map((d) => d.reason),
    at,
  }
}

/** Logs the notification and records it in the audit trail (actor `policy`, role `system`). */
export function createLogNotifier(opts: { audit?: AuditPort; logger?: Logger } = {}): Notifier {
  const logger = opts.logger ?? defaultLog
  return {
    notify(n) {
      logger.warn(
        { notificationId: n.notificationId, agentId: n.agentId, tenantId: n.tenantId, riskEventId: n.riskEventId, riskLevel: n.riskLevel, riskScore: n.riskScore, reasons: n.reasons },
        'agent owner notified of risk',
      )
      opts.audit
        ?.record({
          actor: 'policy',
          role: 'system',
          action: 'notify_owner',
          target: n.agentId,
          detail: { notificationId: n.notificationId, riskEventId: n.riskEventId, riskLevel: n.riskLevel, riskScore: n.riskScore, reasons: n.reasons },
        })
        .catch((err: unknown) => logger.error({ err, notificationId: n.notificationId }, 'notification not audited'))
    },
  }
}
