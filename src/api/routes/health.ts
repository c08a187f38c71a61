/** Liveness and readiness, without a key: for orchestrators and load balancers. */
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod'
import { z } from 'zod'
import type { RouteOptions } from '../context.ts'

export const healthRoutes: FastifyPluginAsyncZod<RouteOptions> = async (app, { ctx }) => {
  app.get(
    '/health',
    {
      schema: {
        tags: ['health'],
        summary: 'Liveness: the process answers.',
        response: { 200: z.object({ status: z.literal('ok') }) },
      },
    },
    async () => ({ status: 'ok' as const }),
  )

  app.get(
    '/ready',
    {
      schema: {
        tags: ['health'],
        summary: 'Readiness: baselines restored and sinks connected. 503 until then.',
        response: { 200: z.object({ ready: z.boolean() }), 503: z.object({ ready: z.boolean() }) },
      },
    },
    async (_req, reply) => {
      const ready = ctx.deps.ready()
      return reply.code(ready ? 200 : 503).send({ ready })
    },
  )
}
