/**
 * agentwatch replay FILE.ndjson --risk-out RISK.ndjson [--config FILE] [--dead-letters DL.ndjson]
 *
 * Processes the file in order through the in-memory pipeline and writes every risk event as one
 * JSON line. Deterministic: the same file gives the same risk events apart from `detectedAt`.
 * Invalid lines are not dropped: they go to --dead-letters (default RISK.ndjson.dead-letters) with
 * their reason and line number.
 */
import { createReadStream } from 'node:fs'
import { createInterface } from 'node:readline'
import { parseArgs } from 'node:util'
import { decodeRaw } from '../../schemas/events.ts'
import type { RiskEvent } from '../../schemas/risk.ts'
import { loadConfig, configPathFrom, ConfigError } from '../config/load.ts'
import { Pipeline } from '../pipeline/pipeline.ts'
import { NdjsonSink } from '../sinks/ndjson.ts'

const USAGE = 'usage: agentwatch replay FILE.ndjson --risk-out RISK.ndjson [--config FILE] [--dead-letters FILE]\n'

export async function main(args: string[]): Promise<number> {
  let parsed
  try {
    parsed = parseArgs({
      args,
      allowPositionals: true,
      options: {
        'risk-out': { type: 'string' },
        'dead-letters': { type: 'string' },
        config: { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
    })
  } catch (err) {
    process.stderr.write(`agentwatch replay: ${(err as Error).message}\n${USAGE}`)
    return 2
  }
  const { values, positionals } = parsed
  if (values.help) {
    process.stdout.write(USAGE)
    return 0
  }
  const input = positionals[0]
  const riskOut = values['risk-out']
  if (!input || !riskOut || positionals.length > 1) {
    process.stderr.write(`agentwatch replay: need one input file and --risk-out\n${USAGE}`)
    return 2
  }
  let config
  try {
    config = loadConfig({ path: values.config ?? configPathFrom([]) })
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`agentwatch replay: ${err.message}\n`)
      return 2
    }
    throw err
  }

  const started = performance.now()
  const pipeline = new Pipeline(config)
  const risk = new NdjsonSink<RiskEvent>(riskOut)
  const dead = new NdjsonSink<{ line: number; reason: string; payload: string }>(values['dead-letters'] ?? `${riskOut}.dead-letters`)
  const out: RiskEvent[] = []
  let line = 0
  let rejected = 0
  const lines = createInterface({ input: createReadStream(input), crlfDelay: Infinity })
  for await (const text of lines) {
    line++
    if (text.trim() === '') continue
    const decoded = decodeRaw(text)
    if (!decoded.ok) {
      rejected++
      dead.write({ line, reason: decoded.reason, payload: text })
      continue
    }
    pipeline.process(decoded.event, {}, out)
    for (const e of out) risk.write(e)
    out.length = 0
  }
  await Promise.all([risk.close(), dead.close()])
  const seconds = (performance.now() - started) / 1000
  const s = pipeline.stats
  process.stderr.write(
    `replayed ${line} lines in ${seconds.toFixed(2)} s (${Math.round(s.processed / seconds)} events/s): ` +
      `${s.processed} processed, ${s.duplicates} duplicates, ${rejected} rejected, ${s.flagged} flagged, ` +
      `${s.riskEvents} risk events, ${pipeline.baselines.agents.size} agents\n`,
  )
  return 0
}
