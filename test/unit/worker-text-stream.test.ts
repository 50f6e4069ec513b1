import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { getLlama, type LlamaModel, type Token } from 'node-llama-cpp'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { ensureBuiltinModel } from '../../electron/core/runtime/models/builtin'
import { JobQueue } from '../../electron/worker/queue'
import { TokenTextStream, type TextChunk } from '../../electron/worker/text-stream'

// the real tokenizer of the built-in model (byte fallback for non-ASCII)
let model: LlamaModel
const detokenize = (tokens: number[], last: number[]): string =>
  model.detokenize(tokens as Token[], false, last as Token[])
const BOS = 1

beforeAll(async () => {
  const tiny = await ensureBuiltinModel('meshwork-tiny', join(tmpdir(), 'meshwork-test-models'))
  const llama = await getLlama({ gpu: false, build: 'never', logLevel: 'error' as never })
  model = await llama.loadModel({ modelPath: tiny.path, vocabOnly: true })
})
afterAll(async () => model?.dispose())

function run(
  text: string,
  stop: string[] = [],
  seed = ''
): { tokens: number[]; chunks: TextChunk[]; stream: TokenTextStream } {
  const prompt = [BOS, ...model.tokenize('Prompt:')]
  // a continuation (seed text) goes on mid-word; a fresh text starts with the ▁ space prefix
  const tokens = seed ? model.tokenize(text, false, 'trimLeadingSpace') : model.tokenize(text)
  const stream = new TokenTextStream(detokenize, stop, prompt, seed)
  const chunks: TextChunk[] = []
  for (const t of tokens) {
    const c = stream.push(t)
    if (c) chunks.push(c)
    if (stream.stopped) break
  }
  const rest = stream.finish()
  if (rest) chunks.push(rest)
  return { tokens, chunks, stream }
}

const joined = (chunks: TextChunk[]): string => chunks.map((c) => c.text).join('')

describe('TokenTextStream', () => {
  it('never emits half a UTF-8 character; the byte tokens travel with the chunk that completes it', () => {
    const { tokens, chunks } = run('héllo 日本 ok €')
    expect(tokens.length).toBeGreaterThan(12) // byte fallback: é is 2 tokens, 日 3, € 3
    for (const c of chunks) expect(c.text).not.toContain('\uFFFD')
    expect(joined(chunks)).toBe(' héllo 日本 ok €')
    expect(chunks.flatMap((c) => c.tokenIds)).toEqual(tokens)
    const nichi = chunks.find((c) => c.text.includes('日'))!
    expect(nichi.tokenIds).toHaveLength(3)
  })

  it('emits invalid byte runs eventually instead of holding them forever', () => {
    const lone = Array.from({ length: 10 }, () => 3 + 0x80) // <0x80> continuation bytes
    const stream = new TokenTextStream(detokenize, [], [BOS])
    const chunks = lone.map((t) => stream.push(t)).filter(Boolean) as TextChunk[]
    const rest = stream.finish()
    if (rest) chunks.push(rest)
    expect(chunks.length).toBeGreaterThan(1)
    expect(chunks.flatMap((c) => c.tokenIds)).toEqual(lone)
  })

  it('stops at a stop string spanning tokens and holds possible starts at token boundaries', () => {
    const { tokens, chunks, stream } = run('abxyq then abxyz more', ['xyz'])
    expect(stream.stopped).toBe(true)
    expect(joined(chunks)).toBe(' abxyq then ab')
    // ids emitted are a prefix of the generated ids: nothing is skipped or duplicated
    const ids = chunks.flatMap((c) => c.tokenIds)
    expect(ids).toEqual(tokens.slice(0, ids.length))
    // "x", "xy" were held and went out together with the "q" that ruled the stop out
    const held = chunks.find((c) => c.text.includes('xyq'))!
    expect(held.tokenIds.length).toBeGreaterThanOrEqual(3)
  })

  it('flushes held text that turned out not to be a stop', () => {
    const { chunks, stream } = run('endx', ['xy'])
    expect(stream.stopped).toBe(false)
    expect(joined(chunks)).toBe(' endx')
  })

  it('finds a stop string that starts in the replayed text of a continuation', () => {
    const { chunks, stream } = run('zzle rest', ['puzzle'], 'a pu')
    expect(stream.stopped).toBe(true)
    expect(joined(chunks)).toBe('')
  })

  it('ignores a stop string lying entirely in the replayed text', () => {
    const { chunks, stream } = run(' go on', ['END'], 'the END')
    expect(stream.stopped).toBe(false)
    expect(joined(chunks)).toBe(' go on')
  })
})

describe('JobQueue', () => {
  it('runs `parallel` jobs, queues `maxQueue`, rejects the rest, and hands slots over in order', async () => {
    const q = new JobQueue(1, 2)
    const r1 = await q.acquire()
    const order: number[] = []
    const w2 = q.acquire().then((r) => (order.push(2), r))
    const w3 = q.acquire().then((r) => (order.push(3), r))
    await expect(q.acquire()).rejects.toMatchObject({ status: 429, code: 'queue_full' })
    expect([q.active, q.queued]).toEqual([1, 2])
    r1()
    const r2 = await w2
    r2()
    r2() // releasing twice is harmless
    const r3 = await w3
    expect(order).toEqual([2, 3])
    expect(q.active).toBe(1)
    const idle = q.idle()
    r3()
    await idle
    expect(q.active).toBe(0)
  })

  it('drops an aborted waiter and refuses everything after close()', async () => {
    const q = new JobQueue(1, 5)
    const r1 = await q.acquire()
    const controller = new AbortController()
    const waiting = q.acquire(controller.signal)
    const other = q.acquire()
    controller.abort(new Error('gone'))
    await expect(waiting).rejects.toThrow('gone')
    expect(q.queued).toBe(1)
    q.close()
    await expect(other).rejects.toMatchObject({ status: 503, code: 'shutting_down' })
    await expect(q.acquire()).rejects.toMatchObject({ code: 'shutting_down' })
    r1()
    expect(q.active).toBe(0)
  })
})
