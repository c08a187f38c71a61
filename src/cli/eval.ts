/**
 * agentwatch eval: detection quality on simulated fleets, AgentWatch next to a naive reference.
 *
 * For each seed: generate a labelled fleet, run it through the in-memory pipeline (event time, no
 * database), evaluate the risk events against the labels; run the naive first-seen reference on the
 * same events; then pool the seeds and print one table per system.
 *
 *   agentwatch eval --seeds 1,2,3 --agents 120 --days 14 --json eval.json
 */
import { writeFile } from 'node:fs/promises'
import { parseArgs } from 'node:util'
import { UsageError, intOption } from './args.ts'
import { decodeEvent, type AgentEvent } from '../../schemas/events.ts'
import type { Config } from '../../schemas/config.ts'
import type { RiskEvent } from '../../schemas/risk.ts'
import { readConfigFile, validateConfig } from '../config/load.ts'
import { combineReports, evaluate, FALSE_ALERT_CAUSES, type Report, type Row } from '../eval/evaluate.ts'
import { naiveReference } from '../eval/naive.ts'
import { replayEvents } from '../pipeline/replay.ts'
import { generateFleet } from '../sim/index.ts'

const USAGE = `usage: agentwatch eval [options]

  --seeds <list>        comma-separated seeds, one fleet each (default 1,2,3)
  --agents <int>        agents per fleet (default 120)
  --days <int>          days per fleet (default 14)
  --grace <minutes>     risk raised this long after an episode still detects it (default 30)
  --config <file>       AgentWatch configuration (YAML or JSON) to evaluate (default: built-in defaults)
  --json <file>         also write the full results as JSON
  -h, --help            this help
`


export interface SeedResult {
  seed: number
  events: number
  episodes: number
  /** Wall time of generation and of the pipeline replay. Milliseconds. */
  generateMs: number
  replayMs: number
  agentwatch: Report
  naive: Report
}

export interface EvalResult {
  options: { seeds: number[]; agents: number; days: number; graceMinutes: number }
  seeds: SeedResult[]
  combined: { agentwatch: Report; naive: Report }
}

/** Evaluate one seed end to end, in process. */
export function evaluateSeed(seed: number, agents: number, days: number, config: Config, graceMinutes: number): SeedResult {
  let t = performance.now()
  const fleet = generateFleet({ seed, agents, days })
  const decoded: AgentEvent[] = []
  for (const raw of fleet.events) {
    const d = decodeEvent(raw)
    if (!d.ok) throw new Error(`seed ${seed}: simulated event ${raw.eventId} fails the contract: ${d.reason}`)
    decoded.push(d.event)
  }
  const generateMs = performance.now() - t
  t = performance.now()
  const risk: RiskEvent[] = replayEvents(decoded, config)
  const replayMs = performance.now() - t
  return {
    seed,
    events: decoded.length,
    episodes: fleet.labels.episodes.length,
    generateMs,
    replayMs,
    agentwatch: evaluate(fleet.labels, risk, { graceMinutes }),
    naive: evaluate(fleet.labels, naiveReference(decoded), { graceMinutes }),
  }
}

const pct = (x: number | null) => (x === null ? '-' : `${(100 * x).toFixed(0)}%`)
const num = (x: number | null, digits = 1) => (x === null ? '-' : x.toFixed(digits))

export function formatTable(title: string, report: Report): string {
  const header = ['scenario', 'episodes', 'detected', 'recall', 'precision', 'median TTD min', 'false/100 agent-days']
  const line = (r: Row) => [r.scenario, String(r.episodes), String(r.detected), pct(r.recall), pct(r.precision), num(r.medianTimeToDetectMinutes), num(r.falseAlertsPer100AgentDays, 2)]
  const rows = [...report.scenarios.map(line), line(report.overall)]
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)))
  const fmt = (cells: string[]) => cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join('  ')
  const out = [title, fmt(header), widths.map((w) => '-'.repeat(w)).join('  ')]
  rows.forEach((r, i) => {
    if (i === rows.length - 1) out.push(widths.map((w) => '-'.repeat(w)).join('  '))
    out.push(fmt(r))
  })
  const o = report.overall
  out.push(`alerts (rising to medium or high): ${o.alerts}, attributed to an episode: ${o.attributedAlerts}, false: ${o.falseAlerts} over ${o.agentDays} agent-days`)
  const late = report.falseAlertsAfterFirstWeek
  out.push(`false alerts after the first week: ${late.count} over ${late.agentDays} agent-days (${num(late.per100AgentDays, 2)} per 100)`)
  out.push(
    'false alerts by cause (per 100 agent-days): ' +
      FALSE_ALERT_CAUSES.map((c) => `${c} ${report.falseAlertsByCause[c].count} (${num(report.falseAlertsByCause[c].per100AgentDays, 2)})`).join(', '),
  )
  return out.join('\n')
}

export async function main(args: string[]): Promise<number> {
  let values
  try {
    values = parseArgs({
      args,
      allowPositionals: false,
      options: {
        seeds: { type: 'string' },
        agents: { type: 'string' },
        days: { type: 'string' },
        grace: { type: 'string' },
        config: { type: 'string', short: 'c' },
        json: { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
    }).values
  } catch (err) {
    process.stderr.write(`eval: ${(err as Error).message}\n\n${USAGE}`)
    return 2
  }
  if (values.help) {
    process.stdout.write(USAGE)
    return 0
  }
  let seeds: number[]
  let agents: number
  let days: number
  let graceMinutes: number
  try {
    seeds = (values.seeds ?? '1,2,3').split(',').map((s) => s.trim()).filter(Boolean).map((s) => intOption('seeds', s, 0, 0))
    if (!seeds.length) throw new UsageError('--seeds needs at least one seed')
    agents = intOption('agents', values.agents, 120, 1)
    days = intOption('days', values.days, 14, 1)
    graceMinutes = intOption('grace', values.grace, 30, 0)
    if (days <= 7) throw new UsageError('--days must be more than 7: attacks start after a clean first week')
  } catch (err) {
    if (!(err instanceof UsageError)) throw err
    process.stderr.write(`eval: ${err.message}\n\n${USAGE}`)
    return 2
  }
  let config: Config
  try {
    config = values.config ? validateConfig(readConfigFile(values.config), values.config) : validateConfig({}, '(defaults)')
  } catch (err) {
    process.stderr.write(`eval: ${(err as Error).message}\n`)
    return 2
  }

  const results: SeedResult[] = []
  for (const seed of seeds) {
    const r = evaluateSeed(seed, agents, days, config, graceMinutes)
    results.push(r)
    process.stderr.write(
      `eval: seed ${seed}: ${r.events} events, ${r.episodes} episodes; generated in ${Math.round(r.generateMs)} ms, ` +
        `replayed in ${Math.round(r.replayMs)} ms (${Math.round(r.events / (r.replayMs / 1000))} events/s); ` +
        `AgentWatch recall ${pct(r.agentwatch.overall.recall)}, naive recall ${pct(r.naive.overall.recall)}\n`,
    )
  }
  const combined = {
    agentwatch: combineReports(results.map((r) => r.agentwatch)),
    naive: combineReports(results.map((r) => r.naive)),
  }
  const scope = `${seeds.length} seed${seeds.length === 1 ? '' : 's'} (${seeds.join(', ')}), ${agents} agents, ${days} days, grace ${graceMinutes} min`
  process.stdout.write(`${formatTable(`AgentWatch — ${scope}`, combined.agentwatch)}\n\n${formatTable(`Naive first-seen reference — ${scope}`, combined.naive)}\n`)
  if (values.json) {
    const result: EvalResult = { options: { seeds, agents, days, graceMinutes }, seeds: results, combined }
    await writeFile(values.json, JSON.stringify(result, null, 2) + '\n', 'utf8')
    process.stderr.write(`eval: results -> ${values.json}\n`)
  }
  return 0
}
