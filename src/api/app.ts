/**
 * The control API. `buildApp(deps)` returns a ready-to-listen Fastify instance without listening,
 * so tests drive it with `app.inject()` and the CLI decides where it listens. Each route group is
 * an encapsulated plugin under routes/; authentication is in auth.ts, the error shape in errors.ts.
 */
import swagger from '@fastify/swagger'
import Fastify, { LogController, type FastifyBaseLogger, type FastifyInstance } from 'fastify'
import { jsonSchemaTransform, serializerCompiler, validatorCompiler, type ZodTypeProvider } from 'fastify-type-provider-zod'
import { log, type Logger } from '../util/log.ts'
import { createAuth } from './auth.ts'
import { makeAudit, type RouteContext } from './context.ts'
import type { AppDeps } from './deps.ts'
import { frameworkError, installErrorHandling } from './errors.ts'
import { ApiMetrics } from './metrics.ts'
import { actionRoutes } from './routes/actions.ts'
import { agentRoutes } from './routes/agents.ts'
import { auditRoutes } from './routes/audit.ts'
import { configRoutes } from './routes/config.ts'
import { deadLetterRoutes } from './routes/dead-letters.ts'
import { eventRoutes } from './routes/events.ts'
import { feedbackRoutes } from './routes/feedback.ts'
import { healthRoutes } from './routes/health.ts'
import { metricsRoutes } from './routes/metrics.ts'
import { openapiRoutes } from './routes/openapi.ts'
import { riskEventRoutes } from './routes/risk-events.ts'

export interface AppOptions {
  logger?: Logger
  /** Largest request body; default config.api.maxBodyBytes at build time. Bytes. */
  bodyLimit?: number
  /** Interval of SSE keep-alive comments; proxies commonly drop streams idle for 30-60 s. Milliseconds. */
  sseKeepAliveMs?: number
  /** Version shown in the OpenAPI document. */
  version?: string
}

export function buildApp(deps: AppDeps, opts: AppOptions = {}): FastifyInstance {
  const logger = opts.logger ?? log.child({ component: 'api' })
  const base = Fastify({
    loggerInstance: logger as FastifyBaseLogger,
    bodyLimit: opts.bodyLimit ?? deps.config.current().api.maxBodyBytes,
    // Per-request info logs would dominate the enforcement endpoint's cost; requests are counted
    // in /metrics and failures are logged by the error handler.
    logController: new LogController({ disableRequestLogging: true }),
    // Agent ids may be up to 512 characters (the event contract's limit); the default is 100.
    routerOptions: { maxParamLength: 512 },
    frameworkErrors: frameworkError,
  })
  const app = base.withTypeProvider<ZodTypeProvider>()

  app.setValidatorCompiler(validatorCompiler)
  app.setSerializerCompiler(serializerCompiler)
  installErrorHandling(base)
  app.decorateRequest('principal', null)

  const metrics = new ApiMetrics()
  const ctx: RouteContext = {
    deps,
    auth: createAuth(() => deps.config.current().api.keys),
    metrics,
    streams: new Set(),
    sseKeepAliveMs: opts.sseKeepAliveMs ?? 15_000,
    audit: makeAudit(deps),
  }

  app.addHook('onResponse', (req, reply, done) => {
    metrics.observe(req.method, req.routeOptions.url ?? 'unmatched', reply.statusCode, reply.elapsedTime / 1000)
    done()
  })
  // SSE clients never hang up by themselves; end their streams so close() does not wait on them.
  app.addHook('preClose', (done) => {
    for (const close of [...ctx.streams]) close()
    done()
  })

  app.register(swagger, {
    openapi: {
      openapi: '3.0.3',
      info: {
        title: 'AgentWatch control API',
        description: 'Agents, risk events, enforcement, feedback and configuration of AgentWatch.',
        version: opts.version ?? '1.0.0',
      },
      components: {
        securitySchemes: { bearerAuth: { type: 'http', scheme: 'bearer', description: 'API key from config api.keys.' } },
      },
    },
    transform: jsonSchemaTransform,
  })

  app.register(healthRoutes, { ctx })
  app.register(metricsRoutes, { ctx })
  app.register(openapiRoutes)
  app.register(eventRoutes, { ctx })
  app.register(agentRoutes, { ctx })
  app.register(actionRoutes, { ctx })
  app.register(riskEventRoutes, { ctx })
  app.register(deadLetterRoutes, { ctx })
  app.register(feedbackRoutes, { ctx })
  app.register(configRoutes, { ctx })
  app.register(auditRoutes, { ctx })

  return base
}
