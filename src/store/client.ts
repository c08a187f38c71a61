/**
 * The one way to ClickHouse: `@clickhouse/client`, over embedded chDB (a data folder, the default)
 * or a ClickHouse server when a URL is configured. Callers see the same client either way.
 */
import { mkdirSync, rmSync } from 'node:fs'
import { open } from 'node:fs/promises'
import { join, resolve } from 'node:path'
import { createClient, type ClickHouseClient } from '@clickhouse/client'
import type { Config } from '../../schemas/config.ts'

export interface StoreClient {
  client: ClickHouseClient
  database: string
  embedded: boolean
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
  close(): Promise<void>
}

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
    return { client, database: cfg.database, embedded: false, queryText, queryChunks, close: () => client.close() }
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
  const close = async () => {
    await client.close()
    rmSync(resultDir, { recursive: true, force: true })
  }
  return { client, database: cfg.database, embedded: true, queryText, queryChunks, close }
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
