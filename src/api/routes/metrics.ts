/** Prometheus scrape endpoint, without a key: the service's metrics followed by the API's own. */
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod'
import type { RouteOptions } from '../context.ts'

export const metricsRoutes: FastifyPluginAsyncZod<RouteOptions> = async (app, { ctx }) => {
  app.get(
    '/metrics',
    {
      schema: {
        tags: ['health'],
        summary: 'Prometheus text exposition (version 0.0.4).',
        produces: ['text/plain'],
      },
    },
    async (_req, reply) => {
      let service = ctx.deps.metrics()
      if (service && !service.endsWith('\n')) service += '\n'
      return reply.type('text/plain; version=0.0.4; charset=utf-8').send(service + ctx.metrics.render())
    },
  )
}
