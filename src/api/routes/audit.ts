/** The audit trail: every mutating call and every automatic action, newest first. */
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod'
import { z } from 'zod'
import type { RouteOptions } from '../context.ts'
import { AuditEntrySchema, AuditQuery, BEARER, errorResponses } from '../schemas.ts'

export const auditRoutes: FastifyPluginAsyncZod<RouteOptions> = async (app, { ctx }) => {
  app.get(
    '/v1/audit',
    {
      onRequest: ctx.auth.require('read'),
      schema: {
        tags: ['audit'],
        summary: 'Audit entries, filterable by target.',
        security: BEARER,
        querystring: AuditQuery,
        response: { 200: z.object({ items: z.array(AuditEntrySchema) }), ...errorResponses },
      },
    },
    async (req) => ({ items: await ctx.deps.audit.query(req.query) }),
  )
}
