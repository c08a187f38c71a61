/**
 * The live configuration. Reads are redacted (API keys, ClickHouse password); a body sent back with
 * the redaction marker in place of a secret keeps the current secret, so GET -> edit -> PUT works
 * without ever exposing keys. Updates are partial: objects merge over the current configuration.
 */
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod'
import { z } from 'zod'
import type { Config } from '../../../schemas/config.ts'
import { parseIssue } from '../../config/issues.ts'
import { isPlainObject } from '../../config/merge.ts'
import { principalOf } from '../auth.ts'
import type { RouteOptions } from '../context.ts'
import { HttpError, type Issue } from '../errors.ts'
import { BEARER, ConfigPatch, ConfigUpdateResponse, ConfigValidateResponse, ConfigVersionSchema, errorResponses } from '../schemas.ts'

export const REDACTED = '********'

export function redactConfig(c: Config): Config {
  return {
    ...c,
    api: { ...c.api, keys: c.api.keys.map((k) => ({ ...k, key: REDACTED })) },
    store: c.store.password === undefined ? c.store : { ...c.store, password: REDACTED },
  }
}

/**
 * Put the current secrets back where the input carries the redaction marker. A marked key whose
 * name matches no current key cannot be restored and is reported as an issue.
 */
export function unredact(input: Record<string, unknown>, current: Config): { input: Record<string, unknown>; issues: Issue[] } {
  const issues: Issue[] = []
  let out = input
  const api = input.api
  if (isPlainObject(api) && Array.isArray(api.keys)) {
    const keys = api.keys.map((k: unknown, i: number) => {
      if (!isPlainObject(k) || k.key !== REDACTED) return k
      const existing = current.api.keys.find((c) => c.name === k.name)
      if (!existing) {
        issues.push({ path: `api.keys.${i}.key`, message: `redacted, and no current key is named ${JSON.stringify(k.name)}` })
        return k
      }
      return { ...k, key: existing.key }
    })
    out = { ...out, api: { ...api, keys } }
  }
  const store = input.store
  if (isPlainObject(store) && store.password === REDACTED) {
    out = { ...out, store: { ...store, password: current.store.password } }
  }
  return { input: out, issues }
}

/** Leaf paths of a partial config, for the audit trail (values are left out: they may be secrets). */
function changedPaths(v: unknown, prefix = ''): string[] {
  if (!isPlainObject(v)) return [prefix || '(root)']
  const out: string[] = []
  for (const [k, child] of Object.entries(v)) out.push(...changedPaths(child, prefix ? `${prefix}.${k}` : k))
  return out
}

export const configRoutes: FastifyPluginAsyncZod<RouteOptions> = async (app, { ctx }) => {
  const cfg = ctx.deps.config

  app.get(
    '/v1/config',
    {
      onRequest: ctx.auth.require('read'),
      schema: {
        tags: ['config'],
        summary: 'The running configuration, secrets redacted.',
        security: BEARER,
        response: { 200: z.record(z.string(), z.unknown()), ...errorResponses },
      },
    },
    async () => redactConfig(cfg.current()),
  )

  app.post(
    '/v1/config/validate',
    {
      onRequest: ctx.auth.require('config'),
      schema: {
        tags: ['config'],
        summary: 'Check a full or partial configuration, merged over the running one, without applying it. Roles operator, admin.',
        security: BEARER,
        body: ConfigPatch,
        response: { 200: ConfigValidateResponse, ...errorResponses },
      },
    },
    async (req) => {
      const { input, issues } = unredact(req.body, cfg.current())
      const v = cfg.validate(input)
      const all = [...issues, ...(v.ok ? [] : v.issues.map(parseIssue))]
      return all.length ? { ok: false, issues: all } : { ok: true }
    },
  )

  app.put(
    '/v1/config',
    {
      onRequest: ctx.auth.require('config'),
      schema: {
        tags: ['config'],
        summary: 'Apply a full or partial configuration as a new version. Roles operator, admin.',
        description: 'Settings read per event or per request (detectors, risk, policy, API keys) apply at once; api.host, api.port, store and kafka after a restart.',
        security: BEARER,
        body: ConfigPatch,
        response: { 200: ConfigUpdateResponse, ...errorResponses },
      },
    },
    async (req) => {
      const { input, issues } = unredact(req.body, cfg.current())
      const invalid = (list: Issue[]) =>
        new HttpError(400, 'invalid_config', `configuration rejected: ${list.length} problem${list.length === 1 ? '' : 's'}`, list)
      if (issues.length) throw invalid(issues)
      const result = await cfg.update(input, principalOf(req).name)
      if (!result.ok) throw invalid(result.issues.map(parseIssue))
      await ctx.audit(req, 'config.update', 'config', { version: result.version, paths: changedPaths(req.body) })
      return { ok: true as const, version: result.version }
    },
  )

  app.get(
    '/v1/config/versions',
    {
      onRequest: ctx.auth.require('read'),
      schema: {
        tags: ['config'],
        summary: 'Configuration versions, oldest first, secrets redacted.',
        security: BEARER,
        response: { 200: z.object({ items: z.array(ConfigVersionSchema) }), ...errorResponses },
      },
    },
    async () => ({ items: (await cfg.versions()).map((v) => ({ ...v, config: redactConfig(v.config) })) }),
  )
}
