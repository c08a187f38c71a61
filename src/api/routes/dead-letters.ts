/** Dead letters: messages that failed decoding or validation, with the reason and the payload as received. */
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod'
import { z } from 'zod'
import type { RouteOptions } from '../context.ts'
import { BEARER, DeadLetterQuery, DeadLetterSchema, errorResponses } from '../schemas.ts'

export const deadLetterRoutes: FastifyPluginAsyncZod<RouteOptions> = async (app, { ctx }) => {
  app.get(
    '/v1/dead-letters',
    {
      onRequest: ctx.auth.require('read'),
      schema: {
        tags: ['dead letters'],
        summary: 'Rejected messages, newest first.',
        security: BEARER,
        querystring: DeadLetterQuery,
        response: { 200: z.object({ items: z.array(DeadLetterSchema) }), ...errorResponses },
      },
    },
    async (req) => ({ items: await ctx.deps.deadLetters.query(req.query) }),
  )
}
