/**
 * A service process for the restart test. `ingest` feeds the events file and reports when its
 * effects are durable, then waits to be killed; `probe` starts on the same data folder, feeds the
 * probe events and prints what the agents' baselines and risk look like afterwards.
 */
import { readFileSync } from 'node:fs'
import { createService } from '../../src/service.ts'
import { testConfig } from '../helpers/store.ts'

const [mode, dataDir, file] = process.argv.slice(2)
const lines = readFileSync(file, 'utf8').split('\n').filter(Boolean)
const service = await createService(testConfig({}, dataDir))
// Restored agents at level none are held as saved rows until first needed, or revived in the background.
const heldAtStart = service.pipeline.baselines.agents.saved.size
const metricsAtStart = service.deps.metrics()
await service.start()
const listed = mode === 'probe' ? (await service.deps.agents.list({ limit: 100, offset: 0 })).total : 0
const heldAfterList = service.pipeline.baselines.agents.saved.size
const dormantAfterList = [...service.pipeline.baselines.agents.dormant.ids()]
const metricsAfterList = service.deps.metrics()
const messages = lines.map((value) => ({ value, origin: 'test' }))
for (let i = 0; i < messages.length; i += 500) await service.deps.ingest(messages.slice(i, i + 500))
if (mode === 'ingest') {
  process.stdout.write('durable\n')
  setInterval(() => {}, 1000) // wait for SIGKILL
} else {
  const agents = [...service.pipeline.baselines.agents.values()].map((a) => ({ id: a.agentId, states: a.states, risk: a.risk, learned: a.learned }))
  process.stdout.write(JSON.stringify({ agents, stats: service.pipeline.stats, heldAtStart, metricsAtStart, listed, heldAfterList, dormantAfterList, metricsAfterList }) + '\n')
  await service.stop()
}
