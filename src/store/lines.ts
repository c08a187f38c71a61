/**
 * Rows of a text result read a chunk at a time (`StoreClient.queryChunks`): each newline-ended
 * line is handed over as a range of a buffer, without decoding the chunk or joining the chunks.
 */
const NEWLINE = 0x0a

/**
 * Calls `each(buffer, start, end)` for every line of `chunks`, `end` excluding the newline. The
 * range is valid only during the call (a chunk's buffer may be reused for the next). A line that
 * straddles chunks is copied into one buffer of its own; a last line without a newline counts.
 */
export async function forEachLine(chunks: AsyncIterable<Buffer>, each: (buffer: Buffer, start: number, end: number) => void): Promise<void> {
  // The start of a line the previous chunk ended in, copied out of it.
  let carry: Buffer | undefined
  for await (const chunk of chunks) {
    let start = 0
    let end = chunk.indexOf(NEWLINE)
    if (carry !== undefined) {
      if (end === -1) {
        carry = Buffer.concat([carry, chunk])
        continue
      }
      const line = Buffer.concat([carry, chunk.subarray(0, end)])
      carry = undefined
      each(line, 0, line.length)
      start = end + 1
      end = chunk.indexOf(NEWLINE, start)
    }
    for (; end !== -1; end = chunk.indexOf(NEWLINE, start)) {
      each(chunk, start, end)
      start = end + 1
    }
    if (start < chunk.length) carry = Buffer.from(chunk.subarray(start))
  }
  if (carry !== undefined) each(carry, 0, carry.length)
}
