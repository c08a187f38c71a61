/**
 * Enforcement lookup bench: how long the control API takes, in server time, to answer an
 * enforcement point's `GET /v1/agents/:id/enforcement`. The service is built as `serve` builds it
 * (embedded chDB in a temporary folder, the real enforcement store and Fastify app with bearer-key
 * auth); requests go through `app.inject()`, so no socket or client time is counted. Server time is
 * what the API itself exports in /metrics (request start to response sent), per run the mean over
 * `lookups` requests after a warm-up. Runs in a child process: chDB binds one folder per process.
 */
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { ConfigSchema } from '../../schemas/config.ts'
import { buildApp } from '../api/app.ts'
import { createService } from '../service.ts'
import { runInChild } from './child.ts'
import { figure, type BenchSection } from './report.ts'

export interface ApiBenchOptions {
  /** Agents with an enforcement state (every third throttled, every tenth quarantined). */
  agents: number
  /** Timed lookups per run, spread over the agents. */
  lookups: number
  runs: number
}

export interface ApiRun {
  /** Mean server time per lookup, from the API's own histogram. Microseconds. */
  serverMicros: number
  /** Mean wall time per `app.inject()` round trip, routing and auth included. Microseconds. */
  injectMicros: number
}

const KEY = 'bench-analyst-key-0123456789'
const ROUTE = '{method="GET",route="/v1/agents/:id/enforcement",status="200"}'

export async function runApiBench(opts: ApiBenchOptions): Promise<BenchSection> {
  const began = performance.now()
  const outcome = await runInChild<ApiRun[]>('api', opts, { timeoutMs: 10 * 60_000 })
  if (!outcome.ok) throw new Error(`api bench child failed: ${outcome.error}\n${outcome.stderrTail}`)
  const runs = outcome.result
  return {
    figures: [
      figure('api.enforcement_lookup_server_us', 'enforcement lookup, server time (mean)', 'us', runs.map((r) => r.serverMicros), { target: { op: '<=', value: 1000 } }),
      figure('api.enforcement_lookup_inject_us', 'enforcement lookup, inject round trip (mean)', 'us', runs.map((r) => r.injectMicros)),
    ],
    details: { ...opts, runs },
    wallMs: performance.now() - began,
  }
}

/** The child's side: build the service, set states, time lookups. */
export async function measureApiInProcess(opts: ApiBenchOptions): Promise<ApiRun[]> {
  const dir = mkdtempSync(join(tmpdir(), 'agentwatch-bench-api-'))
  const config = ConfigSchema.parse({ store: { dataDir: join(dir, 'chdb') }, api: { keys: [{ name: 'bench', role: 'analyst', key: KEY }] } })
  const service = await createService(config)
  const app = await buildApp(service.deps)
  try {
    for (let i = 0; i < opts.agents; i++) {
      if (i % 10 === 0) await service.enforcement.quarantine(`agent-${i}`, 'bench', 'bench')
      else if (i % 3 === 0) await service.enforcement.throttle(`agent-${i}`, 'bench', 'bench', 60)
    }
    const headers = { authorization: `Bearer ${KEY}` }
    const lookup = (i: number) => app.inject({ method: 'GET', url: `/v1/agents/agent-${i % opts.agents}/enforcement`, headers })
    // Warm-up: JIT, route and schema caches.
    for (let i = 0; i < 2_000; i++) await lookup(i)
    const runs: ApiRun[] = []
    for (let r = 0; r < opts.runs; r++) {
      const before = await routeSeries(app)
      const t0 = performance.now()
      for (let i = 0; i < opts.lookups; i++) {
        const res = await lookup(i * 7919)
        if (res.statusCode !== 200) throw new Error(`lookup answered ${res.statusCode}: ${res.body}`)
      }
      const wallMs = performance.now() - t0
      const after = await routeSeries(app)
      const count = after.count - before.count
      runs.push({ serverMicros: ((after.sum - before.sum) / count) * 1e6, injectMicros: (wallMs / opts.lookups) * 1e3 })
    }
    return runs
  } finally {
    await app.close()
    await service.stop()
    rmSync(dir, { recursive: true, force: true })
  }
}

/** The enforcement route's histogram sum (seconds) and count, as /metrics exports them. */
async function routeSeries(app: Awaited<ReturnType<typeof buildApp>>): Promise<{ sum: number; count: number }> {
  const text = (await app.inject({ method: 'GET', url: '/metrics' })).body
  const value = (series: string) => {
    const line = text.split('\n').find((l) => l.startsWith(`agentwatch_api_request_duration_seconds_${series}${ROUTE} `))
    return line ? Number(line.slice(line.lastIndexOf(' ') + 1)) : 0
  }
  return { sum: value('sum'), count: value('count') }
}
