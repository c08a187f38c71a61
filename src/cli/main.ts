/**
 * agentwatch <command>
 *   serve      run the service (HTTP ingest and control API; Kafka when configured)
 *   replay     process an NDJSON file in order, write risk events as NDJSON
 *   simulate   write a labelled simulated fleet as NDJSON
 *   eval       measure detection quality on labelled simulated fleets
 *   bench      measure speed and memory
 */
import { pathToFileURL } from 'node:url'
import { resolve } from 'node:path'
import { tuneGarbageCollection } from '../util/gc.ts'

const COMMANDS: Record<string, () => Promise<{ main(args: string[]): Promise<number> }>> = {
  serve: () => import('./serve.ts'),
  replay: () => import('./replay.ts'),
  simulate: () => import('./simulate.ts'),
  eval: () => import('./eval.ts'),
  bench: () => import('./bench.ts'),
}

const USAGE = `usage: agentwatch <command> [options]

commands:
  serve      run the service (HTTP ingest and control API; Kafka when configured)
  replay     process an NDJSON file in order and write risk events as NDJSON
  simulate   write a labelled simulated fleet as NDJSON
  eval       measure detection quality on labelled simulated fleets
  bench      measure speed and memory

Run 'agentwatch <command> --help' for a command's options.
`

export async function run(argv: string[]): Promise<number> {
  tuneGarbageCollection()
  const [command, ...rest] = argv
  if (!command || command === '--help' || command === '-h') {
    process.stdout.write(USAGE)
    return command ? 0 : 2
  }
  const load = COMMANDS[command]
  if (!load) {
    process.stderr.write(`agentwatch: unknown command '${command}'\n\n${USAGE}`)
    return 2
  }
  const mod = await load()
  return mod.main(rest)
}

const isMain = process.argv[1] !== undefined && import.meta.url === pathToFileURL(resolve(process.argv[1])).href
if (isMain) {
  run(process.argv.slice(2)).then(
    (code) => {
      process.exitCode = code
    },
    (err: unknown) => {
      process.stderr.write(`agentwatch: ${(err as Error).stack ?? String(err)}\n`)
      process.exitCode = 1
    },
  )
}
