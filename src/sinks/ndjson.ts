/** Risk events (or anything JSON) as one line each, to a file or a stream. */
import { createWriteStream, type WriteStream } from 'node:fs'
import type { Sink } from './types.ts'

export class NdjsonSink<T> implements Sink<T> {
  readonly name: string
  private readonly out: WriteStream

  constructor(path: string) {
    this.name = `ndjson:${path}`
    this.out = createWriteStream(path, { flags: 'w' })
  }

  write(item: T): void {
    this.out.write(JSON.stringify(item) + '\n')
  }

  flush(): Promise<void> {
    // Resolves once everything written so far has been handed to the OS.
    return new Promise((resolve, reject) => this.out.write('', (err) => (err ? reject(err) : resolve())))
  }

  close(): Promise<void> {
    return new Promise((resolve, reject) => this.out.end((err?: Error | null) => (err ? reject(err) : resolve())))
  }
}
