/** Risk events: stored history with filters and cursor paging, and a live Server-Sent Events stream. */
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod'
import { RISK_LEVELS, type RiskEvent } from '../../../schemas/risk.ts'
import type { RouteOptions } from '../context.ts'
import { BEARER, errorResponses, RiskEventPage, RiskEventQuery, StreamQuery } from '../schemas.ts'

/**
 * A client that stops reading would make the server buffer its stream without bound; past this
 * many unsent bytes it is disconnected and may reconnect. Bytes.
 */
const MAX_BUFFERED = 1024 * 1024
/** Reconnect delay suggested to EventSource clients. Milliseconds. */
const RETRY_MS = 5000

export const riskEventRoutes: FastifyPluginAsyncZod<RouteOptions> = async (app, { ctx }) => {
  const read = ctx.auth.require('read')

  app.get(
    '/v1/risk-events',
    {
      onRequest: read,
      schema: {
        tags: ['risk events'],
        summary: 'Risk events, newest first, filtered; page with nextCursor.',
        security: BEARER,
        querystring: RiskEventQuery,
        response: { 200: RiskEventPage, ...errorResponses },
      },
    },
    async (req) => ctx.deps.riskEvents.query(req.query),
  )

  app.get(
    '/v1/risk-events/stream',
    {
      onRequest: read,
      schema: {
        tags: ['risk events'],
        summary: 'Live risk events as Server-Sent Events (event: risk, id: riskEventId, data: the risk event JSON).',
        description: `Comments (lines starting with ':') are sent every few seconds to keep proxies from closing an idle stream.`,
        security: BEARER,
        querystring: StreamQuery,
        produces: ['text/event-stream'],
      },
    },
    (req, reply) => {
      const { agentId, level } = req.query
      const minRank = level ? RISK_LEVELS.indexOf(level) : 0
      const wanted = (e: RiskEvent) => (!agentId || e.agentId === agentId) && RISK_LEVELS.indexOf(e.riskLevel) >= minRank

      // From here on the response is written by hand and never ends on its own.
      reply.hijack()
      const res = reply.raw
      res.writeHead(200, {
        'content-type': 'text/event-stream; charset=utf-8',
        'cache-control': 'no-cache, no-store, no-transform',
        connection: 'keep-alive',
        // Tell nginx-style proxies not to buffer the stream.
        'x-accel-buffering': 'no',
      })
      res.write(`retry: ${RETRY_MS}\n: connected\n\n`)

      let closed = false
      let keepAlive: NodeJS.Timeout | undefined
      let unsubscribe: (() => void) | undefined
      const close = () => {
        if (closed) return
        closed = true
        clearInterval(keepAlive)
        unsubscribe?.()
        ctx.streams.delete(close)
        ctx.metrics.sseClients--
        if (!res.writableEnded) res.end()
      }
      const send = (chunk: string) => {
        if (closed) return
        if (res.writableLength > MAX_BUFFERED) {
          req.log.warn({ actor: req.principal?.name, buffered: res.writableLength }, 'risk event stream closed: client not reading')
          close()
          return
        }
        res.write(chunk)
      }

      ctx.streams.add(close)
      ctx.metrics.sseClients++
      keepAlive = setInterval(() => send(': keep-alive\n\n'), ctx.sseKeepAliveMs)
      keepAlive.unref()
      unsubscribe = ctx.deps.riskEvents.subscribe((e) => {
        if (wanted(e)) send(`id: ${e.riskEventId}\nevent: risk\ndata: ${JSON.stringify(e)}\n\n`)
      })
      // A close that raced the subscription has already run; drop the late subscription.
      if (closed) unsubscribe()
      res.on('close', close)
      res.on('error', close)
    },
  )
}
