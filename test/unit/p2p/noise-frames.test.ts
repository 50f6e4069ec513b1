import { Uint8ArrayList } from 'uint8arraylist'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { NoiseFrameSplitter } from '../../../electron/core/p2p/noise-frames'
import { type SinkPair, startSinkPair } from '../../helpers/sink-pair'

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))
let pair: SinkPair

beforeAll(async () => {
  pair = await startSinkPair()
})

afterAll(async () => {
  await pair?.stop()
})

/** Counts RangeErrors created while `run` runs (noise's own splitter throws one per received chunk). */
async function rangeErrorsDuring(run: () => Promise<void>): Promise<number> {
  const Original = globalThis.RangeError
  let created = 0
  // called with or without `new`, like the built-in (noise's splitter calls it without)
  function Counting(...args: ConstructorParameters<typeof RangeError>): RangeError {
    created++
    return new Original(...args)
  }
  Counting.prototype = Original.prototype
  globalThis.RangeError = Counting as unknown as RangeErrorConstructor
  try {
    await run()
  } finally {
    globalThis.RangeError = Original
  }
  return created
}

describe('noise transport frames', () => {
  it('are split without a thrown error per received chunk', async () => {
    const stream = await pair.open()
    const messages = Array.from({ length: 30 }, (_, i) => new TextEncoder().encode(`token ${i} `))
    const errors = await rangeErrorsDuring(async () => {
      for (const message of messages) {
        stream.send(message)
        await sleep(2) // each message arrives as a chunk of its own
      }
      await sleep(50)
    })
    // with noise's own splitter this counted 59 and 60: one per chunk, at both ends
    expect(errors).toBeLessThan(5)
    await stream.close()
    expect(await pair.receivedText()).toBe(messages.map((m) => new TextDecoder().decode(m)).join(''))
  })

  it('reassembles frames whatever the chunk boundaries, and keeps an incomplete one for later', () => {
    const frames = [new Uint8Array([1, 2, 3]), new Uint8Array(300).fill(7), new Uint8Array([9])]
    const wire = new Uint8ArrayList()
    for (const frame of frames) wire.append(new Uint8Array([frame.byteLength >> 8, frame.byteLength & 0xff]), frame)
    const bytes = wire.subarray()
    for (const step of [1, 2, 3, 7, 64, bytes.byteLength]) {
      const splitter = new NoiseFrameSplitter()
      const out: Uint8Array[] = []
      for (let at = 0; at < bytes.byteLength; at += step)
        for (const frame of splitter.decode(bytes.subarray(at, at + step))) out.push(frame.subarray())
      expect(out).toEqual(frames)
    }
    const splitter = new NoiseFrameSplitter()
    expect(splitter.decode(bytes.subarray(0, 4))).toEqual([])
    expect(splitter.decode(bytes.subarray(4, 5)).map((f) => f.subarray())).toEqual([frames[0]])
  })

  it('refuses to buffer more than noise itself would', () => {
    expect(() => new NoiseFrameSplitter().decode(new Uint8Array(17 * 1024 * 1024))).toThrow(RangeError)
  })
})
