/**
 * The one way to ClickHouse: `@clickhouse/client`, over embedded chDB (a data folder, the default)
 * or a ClickHouse server when a URL is configured. Callers see the same client either way.
 */
import { mkdirSync } from 'node:fs'
import { resolve } from 'node:path'
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
   * The same as bytes (UTF-8), never decoded as a whole: a restore decodes it a row at a time, so
   * that a page of tens of MB does not become one string of the same size in the old generation,
   * which cost a full garbage collection per page of a restore.
   */
  queryBytes(query: string, format: string): Promise<Buffer>
  close(): Promise<void>
}

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
    const queryBytes = async (query: string, format: string) => {
      const result = await client.exec({ query: `${query}\nFORMAT ${format}` })
      const chunks: Buffer[] = []
      for await (const chunk of result.stream) chunks.push(chunk as Buffer)
      return Buffer.concat(chunks)
    }
    return { client, database: cfg.database, embedded: false, queryText, queryBytes, close: () => client.close() }
  }
  // chDB binds one data folder per process; the import stays lazy so a server deployment never loads it.
  const dir = resolve(cfg.dataDir)
  mkdirSync(dir, { recursive: true })
  const { createChdbConnection } = await import('chdb/connection')
  const connection = createChdbConnection({ path: dir })
  const client = createClient({ connection } as Parameters<typeof createClient>[0])
  const queryText = async (query: string, format: string) => (await connection.chdb.queryAsync(query, { format })).text()
  const queryBytes = async (query: string, format: string) => {
    const bytes = (await connection.chdb.queryAsync(query, { format })).bytes()
    return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength)
  }
  return { client, database: cfg.database, embedded: true, queryText, queryBytes, close: () => client.close() }
}
