/**
 * Batched inserts: rows reach the table whole and in order, however large the batch and whatever
 * characters they hold, and a failed insert is retried with the same rows until it succeeds.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { BatchWriter } from '../../src/store/batch-writer.ts'
import { openStore, type StoreClient } from '../../src/store/client.ts'
import { testConfig } from '../helpers/store.ts'

let ch: StoreClient
beforeAll(async () => {
  ch = await openStore(testConfig().store)
  await ch.client.command({ query: `CREATE DATABASE IF NOT EXISTS ${ch.database}` })
  await ch.client.command({ query: `CREATE TABLE ${ch.database}.lines (n UInt32, text String) ENGINE = MergeTree ORDER BY n` })
})
afterAll(async () => {
  await ch.close()
})

const texts = ['plain', 'é ü ß', '☃ and 🔑 (a surrogate pair)', 'quote " backslash \\ newline \n tab \t', 'x'.repeat(70_000)]

describe('BatchWriter', () => {
  it('inserts every row as written, across batches, long and multibyte text included', async () => {
    const writer = new BatchWriter<{ n: number; text: string }>(ch, 'lines', { flushRows: 1_000, flushMs: 60_000 })
    const rows = Array.from({ length: 2_500 }, (_, n) => ({ n, text: `${n}: ${texts[n % texts.length]}` }))
    for (const r of rows) writer.write(r)
    // 2 batches went out at 1,000 rows; 500 wait for the flush.
    expect(writer.pending).toBe(500)
    await writer.flush()
    expect(writer.pending).toBe(0)
    expect(writer.rowsWritten).toBe(2_500)
    const read = await (await ch.client.query({ query: `SELECT n, text FROM ${ch.database}.lines ORDER BY n`, format: 'JSONEachRow' })).json<{ n: number; text: string }>()
    expect(read).toEqual(rows)
  })

  it('inserts a row encoded earlier as it was then, among rows written since', async () => {
    await ch.client.command({ query: `CREATE TABLE ${ch.database}.encoded (n UInt32, text String) ENGINE = MergeTree ORDER BY n` })
    const writer = new BatchWriter<{ n: number; text: string }>(ch, 'encoded', { flushRows: 1_000, flushMs: 60_000 })
    const early = { n: 1, text: texts[3]! }
    const line = writer.encode(early)
    // What a checkpoint snapshot encoded may change before the snapshot is written.
    early.text = 'changed after it was encoded'
    writer.write({ n: 0, text: texts[1]! })
    writer.writeEncoded(line)
    expect(writer.pending).toBe(2)
    await writer.flush()
    const read = await (await ch.client.query({ query: `SELECT n, text FROM ${ch.database}.encoded ORDER BY n`, format: 'JSONEachRow' })).json<{ n: number; text: string }>()
    expect(read).toEqual([
      { n: 0, text: texts[1] },
      { n: 1, text: texts[3] },
    ])
  })

  it('writes batches into buffers that earlier inserts gave back, without their old bytes', async () => {
    await ch.client.command({ query: `CREATE TABLE ${ch.database}.reused (n UInt32, text String) ENGINE = MergeTree ORDER BY n` })
    const writer = new BatchWriter<{ n: number; text: string }>(ch, 'reused', { flushRows: 100_000, flushMs: 60_000 })
    // Long rows first, so that each later, shorter batch lands in a buffer holding more bytes than it writes.
    const batches = [
      Array.from({ length: 50 }, (_, i) => ({ n: i, text: `${i}: ${'long '.repeat(2_000)}` })),
      Array.from({ length: 300 }, (_, i) => ({ n: 1_000 + i, text: `${i}: ${texts[i % 4]}` })),
      Array.from({ length: 3 }, (_, i) => ({ n: 2_000 + i, text: 'short' })),
      Array.from({ length: 40 }, (_, i) => ({ n: 3_000 + i, text: texts[2]! })),
    ]
    for (const batch of batches) {
      for (const r of batch) writer.write(r)
      await writer.flush()
    }
    expect(writer.rowsWritten).toBe(393)
    const read = await (await ch.client.query({ query: `SELECT n, text FROM ${ch.database}.reused ORDER BY n`, format: 'JSONEachRow' })).json<{ n: number; text: string }>()
    expect(read).toEqual(batches.flat())
  })

  it('retries a failed insert with the same rows until it succeeds, and keeps later rows behind it', async () => {
    // The table does not exist yet: every insert fails until it does.
    const writer = new BatchWriter<{ n: number; text: string }>(ch, 'later', { flushRows: 2, flushMs: 60_000, backoffMs: 20, maxBackoffMs: 40 })
    const rows = Array.from({ length: 5 }, (_, n) => ({ n, text: texts[n % texts.length]!.slice(0, 100) }))
    for (const r of rows) writer.write(r)
    const done = writer.flush()
    for (let waited = 0; writer.failures < 2 && waited < 10_000; waited += 10) await new Promise((r) => setTimeout(r, 10))
    expect(writer.failures).toBeGreaterThanOrEqual(2)
    expect(writer.rowsWritten).toBe(0)
    await ch.client.command({ query: `CREATE TABLE ${ch.database}.later (n UInt32, text String) ENGINE = MergeTree ORDER BY tuple()` })
    await done
    expect(writer.rowsWritten).toBe(5)
    // ORDER BY tuple(): parts in insert order, rows in each as written.
    const read = await (await ch.client.query({ query: `SELECT n, text FROM ${ch.database}.later ORDER BY _part, _part_offset`, format: 'JSONEachRow' })).json<{ n: number; text: string }>()
    expect(read).toEqual(rows)
  })
})
