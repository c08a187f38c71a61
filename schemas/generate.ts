/**
 * Writes the JSON Schema files for producers and subscribers in other languages:
 *   schemas/json/agent-event.schema.json   what to send on agent.signins / agent.tool-calls
 *   schemas/json/risk-event.schema.json    what arrives on agent.risk
 *   schemas/json/config.schema.json        the configuration file
 * `--check` exits 1 when a file is out of date (run by the test suite).
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath, pathToFileURL } from 'node:url'
import { resolve } from 'node:path'
import { z } from 'zod'
import { AgentEventSchema } from './events.ts'
import { RiskEventSchema } from './risk.ts'
import { ConfigSchema } from './config.ts'

const OUT = join(dirname(fileURLToPath(import.meta.url)), 'json')

export function jsonSchemas(): Record<string, string> {
  const render = (schema: z.ZodType, id: string, title: string, io: 'input' | 'output') =>
    JSON.stringify({ $id: id, title, ...z.toJSONSchema(schema, { io, unrepresentable: 'any' }) }, null, 2) + '\n'
  return {
    'agent-event.schema.json': render(AgentEventSchema, 'https://agentwatch.dev/schemas/agent-event/v1', 'AgentWatch agent event v1', 'input'),
    'risk-event.schema.json': render(RiskEventSchema, 'https://agentwatch.dev/schemas/risk-event/v1', 'AgentWatch risk event v1', 'output'),
    'config.schema.json': render(ConfigSchema, 'https://agentwatch.dev/schemas/config/v1', 'AgentWatch configuration', 'input'),
  }
}

const isMain = process.argv[1] !== undefined && import.meta.url === pathToFileURL(resolve(process.argv[1])).href
if (isMain) {
  const check = process.argv.includes('--check')
  let stale = 0
  mkdirSync(OUT, { recursive: true })
  for (const [name, text] of Object.entries(jsonSchemas())) {
    const path = join(OUT, name)
    if (check) {
      let existing = ''
      try {
        existing = readFileSync(path, 'utf8')
      } catch {
        /* missing counts as stale */
      }
      if (existing !== text) {
        stale++
        process.stderr.write(`${path} is out of date; run npm run schemas\n`)
      }
    } else {
      writeFileSync(path, text)
      process.stdout.write(`wrote ${path}\n`)
    }
  }
  process.exitCode = stale ? 1 : 0
}
