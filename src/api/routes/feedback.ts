/** Analyst verdicts on detections; they steer learning and can quarantine (confirm_compromised). */
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod'
import { principalOf } from '../auth.ts'
import type { RouteOptions } from '../context.ts'
import { BEARER, errorResponses, FeedbackBody, FeedbackResponse } from '../schemas.ts'

export const feedbackRoutes: FastifyPluginAsyncZod<RouteOptions> = async (app, { ctx }) => {
  app.post(
    '/v1/feedback',
    {
      onRequest: ctx.auth.require('feedback'),
      schema: {
        tags: ['feedback'],
        summary: 'Record a verdict on an agent or one of its risk events. All roles.',
        security: BEARER,
        body: FeedbackBody,
        response: { 200: FeedbackResponse, ...errorResponses },
      },
    },
    async (req) => {
      const result = await ctx.deps.feedback(req.body, principalOf(req).name)
      await ctx.audit(req, 'feedback', req.body.agentId, {
        verdict: req.body.verdict,
        riskEventId: req.body.riskEventId ?? null,
        note: req.body.note ?? null,
        applied: result.applied,
      })
      return result
    },
  )
}
