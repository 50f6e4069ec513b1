import { describe, expect, it } from 'vitest'
import { BadFrameError, FrameDecoder, encodeFrame } from '../../../electron/core/p2p/infer-frames'
import { FrameTooLargeError } from '../../../electron/core/util/errors'
import { MAX_REQUEST_FRAME_BYTES, RequestFrameSchema, ResponseFrameSchema } from '../../../shared/infer'

const delta = { type: 'delta', text: 'héllo ✓', tokenIds: [1, 2, 300] }
const final = { type: 'final', finishReason: 'stop', usage: { prompt_tokens: 3, completion_tokens: 2 } }

describe('infer frames', () => {
  it('round-trips frames split at every byte boundary', () => {
    const bytes = new Uint8Array([...encodeFrame(delta), ...encodeFrame(final)])
    const decoder = new FrameDecoder(ResponseFrameSchema, 1024)
    const out = []
    for (const b of bytes) out.push(...decoder.push(new Uint8Array([b])))
    expect(out).toEqual([delta, final])
    expect(decoder.partial).toBe(false)
  })

  it('decodes several frames from one chunk and keeps a partial one', () => {
    const bytes = new Uint8Array([...encodeFrame(delta), ...encodeFrame(final)])
    const decoder = new FrameDecoder(ResponseFrameSchema, 1024)
    expect(decoder.push(bytes.subarray(0, bytes.length - 3))).toEqual([delta])
    expect(decoder.partial).toBe(true)
    expect(decoder.push(bytes.subarray(bytes.length - 3))).toEqual([final])
  })

  it('uses a multi-byte length prefix for large frames', () => {
    const big = { type: 'delta', text: 'x'.repeat(70_000) }
    const encoded = encodeFrame(big)
    expect(encoded[0] & 0x80).toBe(0x80)
    expect(new FrameDecoder(ResponseFrameSchema, 1 << 20).push(encoded)).toEqual([big])
  })

  it('rejects a frame claiming 2 GB from its prefix alone', () => {
    const decoder = new FrameDecoder(RequestFrameSchema, MAX_REQUEST_FRAME_BYTES)
    // varint of 2^31 = 0x80 0x80 0x80 0x80 0x08, and no body at all
    expect(() => decoder.push(new Uint8Array([0x80, 0x80, 0x80, 0x80, 0x08]))).toThrow(FrameTooLargeError)
  })

  it('rejects an endless varint', () => {
    const decoder = new FrameDecoder(ResponseFrameSchema, 1024)
    expect(() => decoder.push(new Uint8Array([0xff, 0xff, 0xff, 0xff, 0xff, 0xff]))).toThrow(BadFrameError)
  })

  it('rejects garbage, bad JSON, invalid UTF-8 and wrong shapes', () => {
    const frame = (body: Uint8Array): Uint8Array => new Uint8Array([body.length, ...body])
    const enc = (s: string): Uint8Array => new TextEncoder().encode(s)
    const cases = [
      frame(enc('{not json')),
      frame(new Uint8Array([0xc3, 0x28])),
      frame(enc('{"type":"delta","text":42}')),
      frame(enc('{"type":"nope"}')),
      frame(enc('{"type":"delta","text":"a","tokenIds":[-1]}'))
    ]
    for (const bytes of cases) {
      expect(() => new FrameDecoder(ResponseFrameSchema, 1024).push(bytes)).toThrow(BadFrameError)
    }
  })

  it('validates request frames with the OpenAI body schema', () => {
    const ok = {
      type: 'request',
      id: 'r1',
      call: { api: 'completions', body: { model: 'meshwork-tiny', prompt: [1, 2, 3], replay_tokens: 2 } }
    }
    expect(new FrameDecoder(RequestFrameSchema, 1024).push(encodeFrame(ok))).toHaveLength(1)
    const bad = { type: 'request', id: 'r1', call: { api: 'chat', body: { model: 'meshwork-tiny', messages: [] } } }
    expect(() => new FrameDecoder(RequestFrameSchema, 1024).push(encodeFrame(bad))).toThrow(/messages/)
  })
})
