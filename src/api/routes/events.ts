/**
 * HTTP ingest: producers that do not write to Kafka push events here. Each event is decoded and
 * validated on its own, so one bad event does not sink its batch: the answer lists, per event,
 * accepted, duplicate (already seen eventId) or rejected with the reason. Rejected events go to the
 * dead letters. With Kafka as the source, accepted events are written onto the input topics for the
 * instance that holds each agent (`forwarded: true`), and a broker that does not acknowledge them
 * is a 503: send the batch again.
 */
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod'
import type { RawMessage } from '../../sources/types.ts'
import type { RouteOptions } from '../context.ts'
import { badRequest } from '../errors.ts'
import { ErrorSchema } from '../errors.ts'
import { BEARER, errorResponses, IngestBody, IngestResponse } from '../schemas.ts'

const NDJSON = 'application/x-ndjson'

function isJson(text: string): boolean {
  try {
    JSON.parse(text)
    return true
  } catch {
    return false
  }
}

export const eventRoutes: FastifyPluginAsyncZod<RouteOptions> = async (app, { ctx }) => {
  // NDJSON arrives as text and is split here: each line is passed on untouched, so the dead letter
  // of an invalid line holds exactly what the producer sent.
  app.addContentTypeParser(NDJSON, { parseAs: 'string' }, (_req, body, done) => done(null, body))

  app.post(
    '/v1/events',
    {
      onRequest: ctx.auth.require('ingest'),
      schema: {
        tags: ['events'],
        summary: 'Ingest events: a JSON array or NDJSON. Roles operator, admin.',
        description:
          'Answers 200 with a result per event, also when some are rejected. 400 only when the body as a whole is unusable ' +
          '(not an array, or not a single line of it is JSON).',
        consumes: ['application/json', NDJSON],
        security: BEARER,
        body: IngestBody,
        response: { 200: IngestResponse, ...errorResponses, 503: ErrorSchema },
      },
    },
    async (req) => {
      const body = req.body
      const isNdjson = (req.headers['content-type'] ?? '').toLowerCase().startsWith(NDJSON)
      let messages: RawMessage[]
      let lineNumbers: number[] | undefined
      if (isNdjson && typeof body === 'string') {
        messages = []
        lineNumbers = []
        const lines = body.split('\n')
        for (let i = 0; i < lines.length; i++) {
          const line = lines[i].endsWith('\r') ? lines[i].slice(0, -1) : lines[i]
          if (line.trim() === '') continue
          messages.push({ value: line, origin: 'http' })
          lineNumbers.push(i + 1)
        }
        // Stops at the first line that parses, so a good body costs one extra parse of one line.
        if (messages.length && !messages.some((m) => isJson(m.value as string))) {
          throw badRequest('no line of the body is JSON; expected one JSON event per line')
        }
      } else if (Array.isArray(body)) {
        messages = body.map((element) => ({ value: JSON.stringify(element), origin: 'http' }))
      } else {
        throw badRequest(`expected a JSON array of events, or NDJSON with Content-Type: ${NDJSON}`, [
          { path: 'body', message: 'expected an array' },
        ])
      }

      const result = messages.length
        ? await ctx.deps.ingest(messages)
        : { accepted: 0, duplicates: 0, rejected: 0, results: [], riskEvents: [] }
      const results = lineNumbers ? result.results.map((r) => ({ ...r, line: lineNumbers[r.index] })) : result.results
      await ctx.audit(req, 'ingest', 'events', {
        format: lineNumbers ? 'ndjson' : 'json',
        accepted: result.accepted,
        duplicates: result.duplicates,
        rejected: result.rejected,
      })
      return { ...result, results }
    },
  )
}
