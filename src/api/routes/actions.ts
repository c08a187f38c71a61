/**
 * Responder actions on an agent. Each takes a mandatory reason, changes the enforcement state at
 * once, answers with the change, and is recorded in the audit trail with the caller's key.
 */
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod'
import type { EnforcementChange } from '../../enforcement/types.ts'
import type { RouteOptions } from '../context.ts'
import { principalOf } from '../auth.ts'
import { AgentIdParams, BEARER, EnforcementChangeSchema, errorResponses, QuarantineBody, ReleaseBody, ThrottleBody } from '../schemas.ts'

const auditDetail = (c: EnforcementChange, extra: Record<string, unknown>) => ({
  changeId: c.changeId,
  from: c.from,
  to: c.to,
  reason: c.state.reason,
  until: c.state.until ?? null,
  ...extra,
})

export const actionRoutes: FastifyPluginAsyncZod<RouteOptions> = async (app, { ctx }) => {
  const act = ctx.auth.require('act')
  const common = { tags: ['actions'], security: BEARER, params: AgentIdParams, response: { 200: EnforcementChangeSchema, ...errorResponses } }

  app.post(
    '/v1/agents/:id/quarantine',
    {
      onRequest: act,
      schema: { ...common, summary: 'Quarantine: the agent may make no call. Roles responder, admin.', body: QuarantineBody },
    },
    async (req) => {
      const { reason, durationMinutes } = req.body
      const change = await ctx.deps.enforcement.quarantine(req.params.id, reason, principalOf(req).name, durationMinutes)
      await ctx.audit(req, 'quarantine', req.params.id, auditDetail(change, { durationMinutes: durationMinutes ?? null }))
      return change
    },
  )

  app.post(
    '/v1/agents/:id/throttle',
    {
      onRequest: act,
      schema: { ...common, summary: 'Throttle: limit the agent to a number of calls per minute. Roles responder, admin.', body: ThrottleBody },
    },
    async (req) => {
      const { reason, durationMinutes } = req.body
      const ratePerMinute = req.body.ratePerMinute ?? ctx.deps.config.current().policy.throttle.ratePerMinute
      const change = await ctx.deps.enforcement.throttle(req.params.id, reason, principalOf(req).name, ratePerMinute, durationMinutes)
      await ctx.audit(req, 'throttle', req.params.id, auditDetail(change, { ratePerMinute, durationMinutes: durationMinutes ?? null }))
      return change
    },
  )

  app.post(
    '/v1/agents/:id/release',
    {
      onRequest: act,
      schema: { ...common, summary: 'Release: lift a quarantine or throttle. Roles responder, admin.', body: ReleaseBody },
    },
    async (req) => {
      const change = await ctx.deps.enforcement.release(req.params.id, req.body.reason, principalOf(req).name)
      await ctx.audit(req, 'release', req.params.id, auditDetail(change, {}))
      return change
    },
  )
}
