/**
 * Batched inserts against a ClickHouse server: the batch's bytes are the request body, unchanged,
 * under the INSERT statement. The server here is a stand-in that records what it is sent (no
 * ClickHouse server runs in tests); embedded chDB is covered by batch-writer.test.ts.
 */
import { createServer, type IncomingMessage, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { BatchWriter } from '../../src/store/batch-writer.ts'
import { openStore, type StoreClient } from '../../src/store/client.ts'
import { testConfig } from '../helpers/store.ts'

interface Received {
  query: string
  body: Buffer
}

let server: Server
let ch: StoreClient
const received: Received[] = []

async function bodyOf(req: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = []
  for await (const chunk of req) chunks.push(chunk as Buffer)
  return Buffer.concat(chunks)
}

beforeAll(async () => {
  server = createServer((req, res) => {
    void bodyOf(req).then((body) => {
      received.push({ query: new URL(req.url ?? '/', 'http://localhost').searchParams.get('query') ?? '', body })
      res.writeHead(200, { 'Content-Type': 'text/plain' })
      res.end()
    })
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as AddressInfo
  ch = await openStore(testConfig({ store: { url: `http://127.0.0.1:${port}`, database: 'aw' } }).store)
})
afterAll(async () => {
  await ch.close()
  await new Promise((resolve) => server.close(resolve))
})

describe('inserts into a ClickHouse server', () => {
  it('sends the batch bytes as the body of the INSERT, with its columns and format', async () => {
    received.length = 0
    const body = Buffer.from('[1,"é ☃ 🔑"]\n[2,"quote \\" newline \\n"]\n', 'utf8')
    await ch.insert('lines', ['n', 'text'], 'JSONCompactEachRow', body)
    expect(received).toHaveLength(1)
    expect(received[0]!.query.trim()).toBe('INSERT INTO aw.lines (n, text) FORMAT JSONCompactEachRow')
    expect(received[0]!.body.equals(body)).toBe(true)
  })

  it('sends a writer\'s batches whole and in order, each row a line as encoded', async () => {
    received.length = 0
    const writer = new BatchWriter<{ n: number; text: string }>(ch, 'rows', { flushRows: 3, flushMs: 60_000 })
    const rows = Array.from({ length: 7 }, (_, n) => ({ n, text: `${n}: ${'é☃'.repeat(n)}` }))
    for (const r of rows) writer.write(r)
    await writer.flush()
    expect(received.map((r) => r.query.trim())).toEqual(Array(3).fill('INSERT INTO aw.rows FORMAT JSONEachRow'))
    const lines = received.flatMap((r) => r.body.toString('utf8').split('\n').filter(Boolean))
    expect(lines.map((l) => JSON.parse(l))).toEqual(rows)
    expect(received.map((r) => r.body.toString('utf8').split('\n').filter(Boolean).length)).toEqual([3, 3, 1])
  })
})
