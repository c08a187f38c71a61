/**
 * agentwatch simulate: write a labelled simulated fleet.
 *
 *   agentwatch simulate --seed 1 --agents 300 --days 14 --out fleet.ndjson --labels labels.json
 */
import { parseArgs } from 'node:util'
import { UsageError, intOption } from './args.ts'
import { generateFleet, writeLabelsFile, writeNdjsonFile, writeNdjsonTo } from '../sim/index.ts'

export { liveFleet, type LiveFleetOptions } from '../sim/live.ts'

const USAGE = `usage: agentwatch simulate [options]

  --seed <int>          random seed; the same seed gives the same fleet (default 1)
  --agents <int>        agents in the initial fleet, sub-agents included (default 300)
  --days <int>          days to simulate, from --start (default 14)
  --start <time>        first day, RFC 3339 UTC midnight (default 2026-03-02T00:00:00.000Z, a Monday)
  --out <file>          events as NDJSON, one contract event per line ("-" = stdout; default -)
  --labels <file>       attack episodes and benign windows as JSON (default: not written)
  --no-attacks          no attack episodes (benign changes and weekends stay)
  --attacks-per-scenario <int>
                        episodes per attack scenario (default: one per 60 agents)
  -h, --help            this help
`


export async function main(args: string[]): Promise<number> {
  let values
  try {
    values = parseArgs({
      args,
      allowPositionals: false,
      options: {
        seed: { type: 'string' },
        agents: { type: 'string' },
        days: { type: 'string' },
        start: { type: 'string' },
        out: { type: 'string' },
        labels: { type: 'string' },
        'no-attacks': { type: 'boolean' },
        'attacks-per-scenario': { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
    }).values
  } catch (err) {
    process.stderr.write(`simulate: ${(err as Error).message}\n\n${USAGE}`)
    return 2
  }
  if (values.help) {
    process.stdout.write(USAGE)
    return 0
  }
  let opts
  try {
    const seed = intOption('seed', values.seed, 1, 0)
    const agents = intOption('agents', values.agents, 300)
    const days = intOption('days', values.days, 14)
    const attacksPerScenario = values['attacks-per-scenario'] === undefined ? undefined : intOption('attacks-per-scenario', values['attacks-per-scenario'], 1, 0)
    if (values.start !== undefined && !Number.isFinite(Date.parse(values.start))) throw new UsageError(`--start must be an RFC 3339 time, got "${values.start}"`)
    opts = { seed, agents, days, start: values.start, attacks: !values['no-attacks'], attacksPerScenario }
  } catch (err) {
    if (!(err instanceof UsageError)) throw err
    process.stderr.write(`simulate: ${err.message}\n\n${USAGE}`)
    return 2
  }

  const began = performance.now()
  const fleet = generateFleet(opts)
  const generatedMs = performance.now() - began
  const out = values.out ?? '-'
  if (out === '-') await writeNdjsonTo(process.stdout, fleet.events)
  else await writeNdjsonFile(out, fleet.events)
  if (values.labels) await writeLabelsFile(values.labels, fleet.labels)

  const f = fleet.labels.fleet
  process.stderr.write(
    `simulate: ${f.events} events from ${f.distinctAgents} agents over ${f.days} days (${f.start} .. ${f.end}), ` +
      `${fleet.labels.episodes.length} attack episodes, ${fleet.labels.benign.length} benign windows; generated in ${Math.round(generatedMs)} ms` +
      `${out === '-' ? '' : `; events -> ${out}`}${values.labels ? `; labels -> ${values.labels}` : ''}\n`,
  )
  return 0
}
