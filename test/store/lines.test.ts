import { describe, expect, it } from 'vitest'
import { forEachLine } from '../../src/store/lines.ts'

/** Chunks as a reader that reuses one buffer hands them over: each overwritten once the next is asked for. */
async function* reused(text: string, chunkBytes: number): AsyncGenerator<Buffer> {
  const bytes = Buffer.from(text, 'utf8')
  const buffer = Buffer.alloc(chunkBytes)
  for (let at = 0; at < bytes.length; at += chunkBytes) {
    const n = bytes.copy(buffer, 0, at, at + chunkBytes)
    yield buffer.subarray(0, n)
    buffer.fill(0x23)
  }
}

async function lines(text: string, chunkBytes: number): Promise<string[]> {
  const out: string[] = []
  await forEachLine(reused(text, chunkBytes), (b, start, end) => out.push(b.toString('utf8', start, end)))
  return out
}

describe('forEachLine', () => {
  const text = '{"a":1}\n\n{"ünï":"\\t"}\nlonger line than any chunk of four bytes\nlast'

  it('hands over every line whatever the chunk size, straddling lines included', async () => {
    const want = ['{"a":1}', '', '{"ünï":"\\t"}', 'longer line than any chunk of four bytes', 'last']
    for (const size of [1, 2, 3, 4, 7, 64, 1024]) expect(await lines(text, size)).toEqual(want)
  })

  it('counts a final newline as the end of the last line, not the start of another', async () => {
    expect(await lines('x\ny\n', 3)).toEqual(['x', 'y'])
    expect(await lines('', 3)).toEqual([])
  })
})
