/**
 * Bearer API keys. Keys come from `config.api.keys` and are read at request time, so a config
 * update or reload adds and revokes keys without a restart.
 *
 * Roles grant permissions:
 *
 *   permission  what it allows                                   analyst responder operator admin
 *   read        GET agents, risk events, dead letters, audit,   x       x         x        x
 *               config (secrets redacted), enforcement state
 *   feedback    POST /v1/feedback                                x       x         x        x
 *   act         quarantine, throttle, release                            x                  x
 *   config      validate and change the configuration                              x        x
 *   ingest      POST /v1/events                                                    x        x
 *
 * Ingest is an operator permission rather than a role of its own: the producers that push events
 * over HTTP are infrastructure that operators run, and an ingest key must not be able to act on
 * agents. Health, readiness, metrics and the OpenAPI document need no key.
 *
 * Missing or unknown key: 401 with WWW-Authenticate. Known key without the permission: 403.
 */
import { createHash, timingSafeEqual } from 'node:crypto'
import type { FastifyReply, FastifyRequest, onRequestHookHandler } from 'fastify'
import type { Config, Role } from '../../schemas/config.ts'
import { HttpError } from './errors.ts'

export type Permission = 'read' | 'feedback' | 'act' | 'config' | 'ingest'

export const ROLE_PERMISSIONS: Record<Role, ReadonlySet<Permission>> = {
  analyst: new Set(['read', 'feedback']),
  responder: new Set(['read', 'feedback', 'act']),
  operator: new Set(['read', 'feedback', 'config', 'ingest']),
  admin: new Set(['read', 'feedback', 'act', 'config', 'ingest']),
}

export const rolesWith = (p: Permission): Role[] =>
  (Object.keys(ROLE_PERMISSIONS) as Role[]).filter((r) => ROLE_PERMISSIONS[r].has(p))

export interface Principal {
  /** The key's name, recorded as the actor in the audit trail. */
  name: string
  role: Role
}

declare module 'fastify' {
  interface FastifyRequest {
    principal: Principal | null
  }
}

type ApiKey = Config['api']['keys'][number]
interface KeyDigest {
  digest: Buffer
  principal: Principal
}

const sha256 = (s: string) => createHash('sha256').update(s, 'utf8').digest()

/**
 * Digests of the configured keys, computed once per keys array: a config change replaces the
 * array, so the cache follows reloads by identity without any invalidation.
 */
const digests = new WeakMap<readonly ApiKey[], KeyDigest[]>()
function keyDigests(keys: readonly ApiKey[]): KeyDigest[] {
  let d = digests.get(keys)
  if (!d) {
    d = keys.map((k) => ({ digest: sha256(k.key), principal: { name: k.name, role: k.role } }))
    digests.set(keys, d)
  }
  return d
}

/**
 * The principal for a presented token, or undefined. Both sides are hashed to a fixed 32 bytes and
 * every configured key is compared, so neither the key length nor the position of a match shows
 * in the response time.
 */
export function principalFor(token: string, keys: readonly ApiKey[]): Principal | undefined {
  const presented = sha256(token)
  let found: Principal | undefined
  for (const k of keyDigests(keys)) {
    if (timingSafeEqual(presented, k.digest) && !found) found = k.principal
  }
  return found
}

const REALM = 'Bearer realm="agentwatch"'

function bearerToken(req: FastifyRequest): string | undefined {
  const h = req.headers.authorization
  if (!h) return undefined
  const m = /^Bearer[ \t]+(\S+)[ \t]*$/i.exec(h)
  return m ? m[1] : undefined
}

export interface Auth {
  /** onRequest hook: authenticate, then require the permission. Runs before the body is read. */
  require(p: Permission): onRequestHookHandler
}

export function createAuth(currentKeys: () => readonly ApiKey[]): Auth {
  return {
    require(permission) {
      return function authorize(req: FastifyRequest, _reply: FastifyReply, done: (err?: Error) => void) {
        const token = bearerToken(req)
        if (!token) {
          done(new HttpError(401, 'unauthorized', 'an API key is required: Authorization: Bearer <key>', undefined, { 'www-authenticate': REALM }))
          return
        }
        const principal = principalFor(token, currentKeys())
        if (!principal) {
          done(new HttpError(401, 'unauthorized', 'unknown API key', undefined, { 'www-authenticate': `${REALM}, error="invalid_token"` }))
          return
        }
        req.principal = principal
        if (!ROLE_PERMISSIONS[principal.role].has(permission)) {
          done(new HttpError(403, 'forbidden', `role ${principal.role} lacks the ${permission} permission (granted to ${rolesWith(permission).join(', ')})`))
          return
        }
        done()
      }
    },
  }
}

/** The authenticated principal; only called in handlers behind `require`. */
export function principalOf(req: FastifyRequest): Principal {
  if (!req.principal) throw new Error('route is missing its auth hook')
  return req.principal
}
