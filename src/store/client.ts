/**
 * The one way to ClickHouse: `@clickhouse/client`, over embedded chDB (a data folder, the default)
 * or a ClickHouse server when a URL is configured. Callers see the same client either way.
 */
import { mkdirSync, rmSync } from 'node:fs'
import { open } from 'node:fs/promises'
import { join, resolve } from 'node:path'
import { Readable } from 'node:stream'
import { createClient, type ClickHouseClient } from '@clickhouse/client'
import type { Config } from '../../schemas/config.ts'

export interface StoreClient {
  client: ClickHouseClient
  database: string
  /**
   * The whole result of a query without parameters as text, for large reads (restore). Embedded,
   * straight from chDB's result buffer: about twice as fast as the client's stream for tens of MB.
   */
  queryText(query: string, format: string): Promise<string>
  /**
   * The whole result of a query without parameters as bytes (UTF-8), handed over a chunk at a time
   * and never held whole, for the largest reads (a restore's pages of hundreds of MB). A chunk is
   * valid until the next one is asked for; rows may straddle chunks (see `forEachLine`). The query
   * runs as soon as this is called; the promise resolves when its first chunk can be read.
   *
   * Why chunks: a result of hundreds of MB held as one buffer is external memory to V8, which
   * starts a full garbage collection of the whole heap for every ~64 MB of it: during a restore
   * that heap is every agent restored so far. Embedded, the result is written to a file in the
   * data folder (INTO OUTFILE) and read back through one reused buffer.
   */
  queryChunks(query: string, format: string): Promise<AsyncIterable<Buffer>>
  /**
   * Insert `body`, rows in `format` (UTF-8, one a line), into `table` of `database`; `body` must not
   * change until this settles. Embedded, chDB takes the bytes as they are (its raw insert). Through
   * the client's `exec`, chDB's connection decoded them into a string and prefixed the statement:
   * ~13 ms of the event loop for a batch of 20,000 events rows, in one block, against ~3 ms now
   * (docs/benchmarks.md, ninth round). A server gets them as the request body.
   */
  insert(table: string, columns: readonly string[] | undefined, format: InsertFormat, body: Buffer): Promise<void>
  close(): Promise<void>
}

/** Row formats the batched inserts write: one row a line. */
export type InsertFormat = 'JSONEachRow' | 'JSONCompactEachRow'

const columnList = (columns: readonly string[] | undefined) => (columns ? ` (${columns.join(', ')})` : '')

/** Bytes read from a result file at a time (the one buffer a reader reuses). */
const RESULT_CHUNK_BYTES = 8 << 20

export async function openStore(cfg: Config['store']): Promise<StoreClient> {
  if (cfg.url) {
    const client = createClient({
      url: cfg.url,
      username: cfg.username,
      password: cfg.password,
      // Batches are large; give a slow server time before calling it down. Milliseconds.
      request_timeout: 60_000,
    })
    const queryText = async (query: string, format: string) => (await client.query({ query, format: format as 'TabSeparatedRaw' })).text()
    const queryChunks = async (query: string, format: string) =>
      (await client.exec({ query: `${query}\nFORMAT ${format}` })).stream as AsyncIterable<Buffer>
    const insert = async (table: string, columns: readonly string[] | undefined, format: InsertFormat, body: Buffer) => {
      const result = await client.exec({ query: `INSERT INTO ${cfg.database}.${table}${columnList(columns)} FORMAT ${format}`, values: Readable.from([body]) })
      // Nothing to read, but a server's response must be consumed to free its connection.
      for await (const _ of result.stream) void _
    }
    return { client, database: cfg.database, queryText, queryChunks, insert, close: () => client.close() }
  }
  // chDB binds one data folder per process; the import stays lazy so a server deployment never loads it.
  const dir = resolve(cfg.dataDir)
  mkdirSync(dir, { recursive: true })
  const { createChdbConnection } = await import('chdb/connection')
  const connection = createChdbConnection({ path: dir })
  const client = createClient({ connection } as Parameters<typeof createClient>[0])
  const queryText = async (query: string, format: string) => (await connection.chdb.queryAsync(query, { format })).text()
  // Result files of queryChunks. Whatever a process that died mid-read left here is removed at open.
  const resultDir = join(dir, 'result-files')
  rmSync(resultDir, { recursive: true, force: true })
  mkdirSync(resultDir)
  let files = 0
  const queryChunks = async (query: string, format: string) => {
    const file = join(resultDir, `${process.pid}-${++files}.out`)
    await connection.chdb.queryAsync(`${query}\nINTO OUTFILE ${sqlString(file)} FORMAT ${format}`, { format: 'TabSeparated' })
    return fileChunks(file)
  }
  const insert = async (table: string, columns: readonly string[] | undefined, format: InsertFormat, body: Buffer) => {
    await connection.chdb.rawInsert({
      table: `${cfg.database}.${table}`,
      columns,
      format,
      values: body,
      // ClickHouse shares the machine's cores with the service here: parsing a body on one thread
      // costs ~15% less CPU than the parallel parser's split and merge (measured on 40,000 events rows).
      settings: { input_format_parallel_parsing: 0 },
    })
  }
  const close = async () => {
    await client.close()
    rmSync(resultDir, { recursive: true, force: true })
  }
  return { client, database: cfg.database, queryText, queryChunks, insert, close }
}

/** `path`'s bytes through one reused buffer of RESULT_CHUNK_BYTES; the file is removed once read (or abandoned). */
async function* fileChunks(path: string): AsyncGenerator<Buffer> {
  const file = await open(path, 'r')
  try {
    const buffer = Buffer.allocUnsafe(RESULT_CHUNK_BYTES)
    for (;;) {
      const { bytesRead } = await file.read(buffer, 0, buffer.length, null)
      if (bytesRead === 0) return
      yield buffer.subarray(0, bytesRead)
    }
  } finally {
    await file.close()
    rmSync(path, { force: true })
  }
}

/** A ClickHouse string literal. */
function sqlString(s: string): string {
  return `'${s.replaceAll('\\', '\\\\').replaceAll("'", "\\'")}'`
}
