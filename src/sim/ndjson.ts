/** Writers for simulated fleets: events as NDJSON (one JSON event per line), labels as JSON. */
import { createWriteStream } from 'node:fs'
import { writeFile } from 'node:fs/promises'
import { once } from 'node:events'
import type { Writable } from 'node:stream'
import type { Labels } from './labels.ts'

/** Lines are handed to the stream in chunks of this many, so a large fleet never sits in one string. */
const LINES_PER_CHUNK = 2_000

/** Write items as NDJSON to a stream, honouring backpressure. Does not end the stream. */
export async function writeNdjsonTo(stream: Writable, items: Iterable<unknown>): Promise<number> {
  let count = 0
  let chunk: string[] = []
  const flush = async () => {
    if (!chunk.length) return
    const text = chunk.join('\n') + '\n'
    chunk = []
    if (!stream.write(text)) await once(stream, 'drain')
  }
  for (const item of items) {
    chunk.push(JSON.stringify(item))
    count++
    if (chunk.length >= LINES_PER_CHUNK) await flush()
  }
  await flush()
  return count
}

/** Write items as NDJSON to a file (created or replaced). Resolves with the number of lines once the file is closed. */
export async function writeNdjsonFile(path: string, items: Iterable<unknown>): Promise<number> {
  const stream = createWriteStream(path, { encoding: 'utf8' })
  const closed = once(stream, 'close')
  try {
    const count = await writeNdjsonTo(stream, items)
    stream.end()
    await closed
    return count
  } catch (err) {
    stream.destroy()
    throw err
  }
}

export async function writeLabelsFile(path: string, labels: Labels): Promise<void> {
  await writeFile(path, JSON.stringify(labels, null, 2) + '\n', 'utf8')
}
