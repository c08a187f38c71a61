/** Agents: the fleet as AgentWatch sees it, each agent's baseline, and its enforcement state. */
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod'
import type { RouteOptions } from '../context.ts'
import { notFound } from '../errors.ts'
import {
  AgentIdParams,
  AgentListQuery,
  AgentListResponse,
  AgentSummarySchema,
  BaselineResponse,
  BEARER,
  EnforcementStateSchema,
  errorResponses,
} from '../schemas.ts'
import { ErrorSchema } from '../errors.ts'

export const agentRoutes: FastifyPluginAsyncZod<RouteOptions> = async (app, { ctx }) => {
  const read = ctx.auth.require('read')

  app.get(
    '/v1/agents',
    {
      onRequest: read,
      schema: {
        tags: ['agents'],
        summary: 'List agents; paginated, filterable by risk level and blueprint.',
        security: BEARER,
        querystring: AgentListQuery,
        response: { 200: AgentListResponse, ...errorResponses },
      },
    },
    async (req) => {
      const { limit, offset, level, blueprintId } = req.query
      const page = await ctx.deps.agents.list({ limit, offset, level, blueprintId })
      return { items: page.items, total: page.total, limit, offset }
    },
  )

  app.get(
    '/v1/agents/:id',
    {
      onRequest: read,
      schema: {
        tags: ['agents'],
        summary: 'One agent.',
        security: BEARER,
        params: AgentIdParams,
        response: { 200: AgentSummarySchema, ...errorResponses, 404: ErrorSchema },
      },
    },
    async (req) => {
      const agent = ctx.deps.agents.get(req.params.id)
      if (!agent) throw notFound(`no agent ${req.params.id}`)
      return agent
    },
  )

  app.get(
    '/v1/agents/:id/baseline',
    {
      onRequest: read,
      schema: {
        tags: ['agents'],
        summary: "The agent's learned baseline and its blueprint's.",
        security: BEARER,
        params: AgentIdParams,
        response: { 200: BaselineResponse, ...errorResponses, 404: ErrorSchema },
      },
    },
    async (req) => {
      const baseline = ctx.deps.agents.baseline(req.params.id)
      if (!baseline) throw notFound(`no baseline for agent ${req.params.id}`)
      return baseline
    },
  )

  // Called by enforcement points before each agent call: an in-memory map lookup and no I/O,
  // and not audited (it changes nothing). Unknown agents are allowed, hence no 404.
  app.get(
    '/v1/agents/:id/enforcement',
    {
      onRequest: read,
      schema: {
        tags: ['agents', 'enforcement'],
        summary: 'Enforcement state for an enforcement point: allowed, throttled (with rate) or quarantined.',
        security: BEARER,
        params: AgentIdParams,
        response: { 200: EnforcementStateSchema, ...errorResponses },
      },
    },
    async (req, reply) => {
      reply.header('cache-control', 'no-store')
      return ctx.deps.enforcement.get(req.params.id)
    },
  )
}
