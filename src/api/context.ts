/** What every route plugin receives: the service ports plus the API's own shared pieces. */
import type { FastifyRequest } from 'fastify'
import type { AppDeps } from './deps.ts'
import type { Auth } from './auth.ts'
import { principalOf } from './auth.ts'
import type { ApiMetrics } from './metrics.ts'

export interface RouteContext {
  deps: AppDeps
  auth: Auth
  metrics: ApiMetrics
  /** Closers of open SSE streams, so shutdown does not wait on clients that never hang up. */
  streams: Set<() => void>
  /** Interval of SSE keep-alive comments. Milliseconds. */
  sseKeepAliveMs: number
  /** Record a mutating call in the audit trail as the caller's key. */
  audit(req: FastifyRequest, action: string, target: string, detail: Record<string, unknown>): Promise<void>
}

export interface RouteOptions {
  ctx: RouteContext
}

export function makeAudit(deps: AppDeps): RouteContext['audit'] {
  return async (req, action, target, detail) => {
    const p = principalOf(req)
    try {
      await deps.audit.record({ actor: p.name, role: p.role, action, target, detail })
    } catch (err) {
      // The change already took effect; failing the request now would invite a retry that
      // repeats it. The missing entry is logged at error level for follow-up.
      req.log.error({ err, actor: p.name, action, target, detail }, 'audit entry not recorded')
    }
  }
}
