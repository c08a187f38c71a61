/**
 * A client that is not ours: kcat (librdkafka) produces contract events onto the two input topics
 * and reads the risk topic back. Skipped, with the reason, when the kcat binary is absent
 * (`npm test` installs it).
 */
import { execFileSync, spawnSync } from 'node:child_process'
import { join } from 'node:path'
import { afterEach, expect, it } from 'vitest'
import { committedTotal, createTestTopics, describeKafka, kafkaBrokers, spawnInstances, uniqueName, waitFor, type InstancesProcess } from '../helpers/kafka.ts'
import { tempDir } from '../helpers/store.ts'
import { fleetFeed } from './fixtures/fleet.ts'

const CHILD = join(import.meta.dirname, 'fixtures/instances.ts')
const hasKcat = spawnSync('kcat', ['-V'], { stdio: 'ignore' }).status === 0
if (!hasKcat) console.warn('[kcat.test] kcat is not installed (apt-get install kcat): the kcat interoperability test is skipped')
const children: InstancesProcess[] = []
afterEach(() => {
  for (const c of children.splice(0)) c.kill()
})

describeKafka('kcat as producer and consumer', () => {
  it.skipIf(!hasKcat)('events produced by kcat are scored; kcat reads the risk events with their key and headers', async () => {
    const feed = fleetFeed({ seed: 3, agents: 6, days: 8 }, 1)
    const topics = await createTestTopics(3)
    const brokers = kafkaBrokers().join(',')
    // kcat's default partitioner is librdkafka's consistent_random; murmur2_random is the
    // Java-compatible one AgentWatch documents for producers.
    const produce = (topic: string, kind: string) => {
      const lines = feed.inputs.filter((e) => e.kind === kind).map((e) => `${e.agent.id}\t${JSON.stringify(e)}`)
      execFileSync('kcat', ['-b', brokers, '-P', '-t', topic, '-K', '\t', '-X', 'partitioner=murmur2_random'], { input: `${lines.join('\n')}\n` })
      return lines.length
    }
    const signins = produce(topics.signins, 'signin')
    const toolCalls = produce(topics.toolCalls, 'tool_call')
    expect(signins + toolCalls).toBe(feed.inputs.length)

    const groupId = uniqueName('e2e-kcat')
    const p = spawnInstances(CHILD, { groupId, topics, inputTopics: [topics.signins, topics.toolCalls], dataDir: join(tempDir(), 'data') })
    children.push(p)
    p.send({ cmd: 'add', name: 'a' })
    await waitFor(async () => (p.check(), (await committedTotal(groupId, topics.signins)) === signins && (await committedTotal(groupId, topics.toolCalls)) === toolCalls), 90_000, 'every event committed')

    // kcat reads the whole risk topic and exits at its end: key, riskEventId header, value.
    const out = execFileSync('kcat', ['-b', brokers, '-C', '-t', topics.risk, '-o', 'beginning', '-e', '-q', '-f', '%k\t%h\t%s\n'], { encoding: 'utf8' })
    const rows = out.split('\n').filter(Boolean).map((line) => {
      const [key, headers, ...value] = line.split('\t')
      return { key, headers: headers!, event: JSON.parse(value.join('\t')) as { agentId: string; riskEventId: string; riskLevel: string } }
    })
    expect(rows.length).toBeGreaterThan(10)
    for (const r of rows) {
      expect(r.key).toBe(r.event.agentId)
      expect(r.headers).toContain(`riskEventId=${r.event.riskEventId}`)
      expect(r.headers).toContain(`riskLevel=${r.event.riskLevel}`)
    }
    // Every agent is on the partition of its key in both input topics: one owner per agent.
    const agents = new Set(feed.inputs.map((e) => e.agent.id))
    expect(rows.every((r) => agents.has(r.event.agentId))).toBe(true)

    p.send({ cmd: 'exit' })
    expect(await p.exited).toBe(0)
  }, 150_000)
})
