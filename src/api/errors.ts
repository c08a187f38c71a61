/**
 * One error shape for every failure: `{ error, message, issues? }`. `error` is a stable
 * machine-readable code, `message` is for people, `issues` lists every invalid field (path and
 * message). Bad input of any kind is a 4xx; only a fault of the service itself is a 500.
 */
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import { z } from 'zod'

export const IssueSchema = z.object({
  path: z.string().describe('Where the problem is: `body.reason`, `query.limit`, `api.keys.0.role`.'),
  message: z.string(),
})
export type Issue = z.infer<typeof IssueSchema>

export const ErrorSchema = z
  .object({
    error: z.string().describe('Stable code: bad_request, unauthorized, forbidden, not_found, payload_too_large, unsupported_media_type, invalid_config, internal.'),
    message: z.string(),
    issues: z.array(IssueSchema).optional(),
  })
  .describe('An error.')
export type ErrorBody = z.infer<typeof ErrorSchema>

/** A deliberate 4xx from a handler. */
export class HttpError extends Error {
  constructor(
    readonly statusCode: number,
    readonly code: string,
    message: string,
    readonly issues?: Issue[],
    readonly headers?: Record<string, string>,
  ) {
    super(message)
  }
}

export const badRequest = (message: string, issues?: Issue[]) => new HttpError(400, 'bad_request', message, issues)
export const notFound = (message: string) => new HttpError(404, 'not_found', message)

const CONTEXT_NAMES: Record<string, string> = { querystring: 'query', body: 'body', params: 'params', headers: 'headers' }

interface ValidationItem {
  instancePath?: string
  message?: string
}

/** Fastify validation errors (from the zod validator) as issues with dotted paths. */
function validationIssues(err: FastifyError): Issue[] {
  const where = CONTEXT_NAMES[err.validationContext ?? ''] ?? err.validationContext ?? 'request'
  return ((err.validation ?? []) as ValidationItem[]).map((v) => {
    const sub = (v.instancePath ?? '').split('/').filter(Boolean).join('.')
    return { path: sub ? `${where}.${sub}` : where, message: v.message ?? 'invalid' }
  })
}

const STATUS_CODES: Record<number, string> = {
  400: 'bad_request',
  401: 'unauthorized',
  403: 'forbidden',
  404: 'not_found',
  405: 'method_not_allowed',
  406: 'not_acceptable',
  408: 'request_timeout',
  411: 'length_required',
  413: 'payload_too_large',
  414: 'uri_too_long',
  415: 'unsupported_media_type',
  429: 'too_many_requests',
}

/**
 * Errors raised by the router before any route runs (malformed URL encoding, a path parameter over
 * the length limit), in the same shape.
 */
export function frameworkError(err: FastifyError, _req: FastifyRequest, reply: FastifyReply): void {
  const status = err.statusCode && err.statusCode >= 400 && err.statusCode < 500 ? err.statusCode : 400
  reply.code(status).send({ error: STATUS_CODES[status] ?? 'bad_request', message: err.message } satisfies ErrorBody)
}

export function installErrorHandling(app: FastifyInstance): void {
  app.setErrorHandler((err: FastifyError, req: FastifyRequest, reply: FastifyReply) => {
    if (err instanceof HttpError) {
      if (err.headers) reply.headers(err.headers)
      const body: ErrorBody = { error: err.code, message: err.message }
      if (err.issues) body.issues = err.issues
      return reply.code(err.statusCode).send(body)
    }
    if (err.validation) {
      const issues = validationIssues(err)
      return reply
        .code(400)
        .send({ error: 'bad_request', message: `invalid request: ${issues.length} problem${issues.length === 1 ? '' : 's'}`, issues } satisfies ErrorBody)
    }
    const status = err.statusCode ?? 500
    if (status >= 400 && status < 500) {
      // Parser errors: malformed JSON, body too large, unsupported content type, bad length.
      const message = err instanceof SyntaxError ? `malformed JSON: ${err.message}` : err.message
      return reply.code(status).send({ error: STATUS_CODES[status] ?? 'bad_request', message } satisfies ErrorBody)
    }
    req.log.error({ err, method: req.method, url: req.url }, 'request failed')
    return reply.code(500).send({ error: 'internal', message: 'internal error; see the service log' } satisfies ErrorBody)
  })

  app.setNotFoundHandler((req, reply) => {
    reply.code(404).send({ error: 'not_found', message: `no route ${req.method} ${req.url.split('?')[0]}` } satisfies ErrorBody)
  })
}
