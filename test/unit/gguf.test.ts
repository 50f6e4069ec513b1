import { createHash } from 'node:crypto'
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { getLlama, readGgufFileInfo, type Token } from 'node-llama-cpp'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { BUILTIN_MODELS, ensureBuiltinModel } from '../../electron/core/runtime/models/builtin'
import { f32ToF16Bits } from '../../electron/core/runtime/models/gguf-writer'
import { sidecarPath } from '../../electron/core/runtime/models/hash'
import { syntheticVocab } from '../../electron/core/runtime/models/synthetic'

const dirs: string[] = []
async function tempDir(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'meshwork-gguf-'))
  dirs.push(dir)
  return dir
}
afterAll(async () => {
  await Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true })))
})

function f16BitsToNumber(bits: number): number {
  const view = new DataView(new ArrayBuffer(2))
  view.setUint16(0, bits)
  return (view as unknown as { getFloat16(o: number): number }).getFloat16(0)
}

describe('f32 → f16', () => {
  it('rounds like Math.f16round across normal, subnormal, overflow and tie cases', () => {
    const f16round = (Math as unknown as { f16round(x: number): number }).f16round
    const samples = [
      0,
      -0,
      1,
      -2.5,
      65504,
      65520,
      1e6,
      -1e6,
      6.1e-5,
      5.96e-8,
      2.98e-8,
      1e-9,
      1 + 2 ** -11,
      1 + 3 * 2 ** -11,
      0.1,
      Infinity,
      -Infinity
    ]
    let x = 0x12345678
    for (let i = 0; i < 20_000; i++) {
      x = (Math.imul(x, 1664525) + 1013904223) >>> 0
      samples.push(((x / 2 ** 32) * 2 - 1) * 2 ** ((x % 40) - 26))
    }
    for (const v of samples)
      expect(Object.is(f16BitsToNumber(f32ToF16Bits(v)), f16round(Math.fround(v))), `value ${v}`).toBe(true)
    expect(Number.isNaN(f16BitsToNumber(f32ToF16Bits(NaN)))).toBe(true)
  })
})

describe('synthetic vocabulary', () => {
  it('has 380 tokens: specials, 256 bytes, ▁, printable ASCII, ▁a…▁z', () => {
    const vocab = syntheticVocab()
    expect(vocab.tokens).toHaveLength(380)
    expect(new Set(vocab.tokens).size).toBe(380)
    expect(vocab.tokens.slice(0, 3)).toEqual(['<unk>', '<s>', '</s>'])
    expect(vocab.tokens[3 + 0x41]).toBe('<0x41>')
    expect(vocab.printable.filter(Boolean)).toHaveLength(1 + 94 + 26)
  })
})

describe('built-in models', () => {
  let dirA: string
  let dirB: string
  beforeAll(async () => {
    dirA = await tempDir()
    dirB = await tempDir()
  })

  it('writes the same bytes every time and caches the sha256 next to the file', async () => {
    const progress: number[] = []
    const a = await ensureBuiltinModel('meshwork-tiny', dirA, {
      onProgress: (e) => e.fraction !== undefined && progress.push(e.fraction)
    })
    const b = await ensureBuiltinModel('meshwork-tiny', dirB)
    expect(a.path).toBe(join(dirA, 'meshwork-tiny.gguf'))
    expect(a.sha256).toMatch(/^[0-9a-f]{64}$/)
    expect(b.sha256).toBe(a.sha256)
    const bytes = await readFile(a.path)
    expect(createHash('sha256').update(bytes).digest('hex')).toBe(a.sha256)
    expect(Buffer.compare(bytes, await readFile(b.path))).toBe(0)
    expect(progress.at(-1)).toBe(1)
    expect(progress).toEqual([...progress].sort((x, y) => x - y))

    // a second call reuses the file: no rewrite, same mtime
    const before = await stat(a.path)
    const again = await ensureBuiltinModel('meshwork-tiny', dirA)
    expect(again).toEqual(a)
    expect((await stat(a.path)).mtimeMs).toBe(before.mtimeMs)
  })

  it('rewrites a file that was changed behind its back', async () => {
    const dir = await tempDir()
    const good = await ensureBuiltinModel('meshwork-tiny', dir)
    await writeFile(good.path, 'GGUF-truncated')
    const fixed = await ensureBuiltinModel('meshwork-tiny', dir)
    expect(fixed.sha256).toBe(good.sha256)
    expect(JSON.parse(await readFile(sidecarPath(fixed.path), 'utf8')).sha256).toBe(good.sha256)
  })

  it('rejects unknown built-in names', async () => {
    await expect(ensureBuiltinModel('meshwork-huge', dirA)).rejects.toMatchObject({ code: 'model_not_found' })
  })

  it('reads back as a llama GGUF with the declared shape', async () => {
    const tiny = await ensureBuiltinModel('meshwork-tiny', dirA)
    const info = await readGgufFileInfo(tiny.path, { logWarnings: false })
    const spec = BUILTIN_MODELS['meshwork-tiny']
    expect(info.version).toBe(3)
    expect(info.metadata.general.architecture).toBe('llama')
    expect(info.architectureMetadata).toMatchObject({
      context_length: 4096,
      embedding_length: spec.embedding,
      block_count: spec.layers,
      feed_forward_length: spec.feedForward
    })
    expect(info.metadata.tokenizer.ggml.tokens).toHaveLength(380)
    expect(info.tensorInfo).toHaveLength(3 + 9 * spec.layers)
    const params = info.tensorInfo!.reduce((s, t) => s + t.dimensions.reduce<number>((a, d) => a * Number(d), 1), 0)
    expect(params).toBe(tiny.params)
    expect(tiny.contextLength).toBeGreaterThanOrEqual(2048)
  })

  it('meshwork-small is an F16 d512×8 model of about 50 MB', async () => {
    const small = await ensureBuiltinModel('meshwork-small', dirA)
    const size = (await stat(small.path)).size
    expect(size).toBeGreaterThan(45e6)
    expect(size).toBeLessThan(60e6)
    const info = await readGgufFileInfo(small.path, { logWarnings: false })
    expect(info.architectureMetadata).toMatchObject({ embedding_length: 512, block_count: 8 })
    expect(info.tensorInfo!.find((t) => t.name === 'blk.0.attn_q.weight')?.ggmlType).toBe(1)
    expect(small.params).toBeGreaterThan(20e6)
  })

  it('llama.cpp loads it and greedy output is printable ASCII of the full length, the same every run', async () => {
    const tiny = await ensureBuiltinModel('meshwork-tiny', dirA)
    const llama = await getLlama({ gpu: false, build: 'never', logLevel: 'error' as never })
    const model = await llama.loadModel({ modelPath: tiny.path })
    try {
      const runs: string[] = []
      for (let r = 0; r < 2; r++) {
        const context = await model.createContext({ contextSize: 512, threads: 1 })
        const sequence = context.getSequence()
        const ids: Token[] = []
        const prompt = [1 as Token, ...model.tokenize('Once upon a time')]
        for await (const token of sequence.evaluate(prompt, { temperature: 0 })) {
          ids.push(token)
          if (ids.length === 120) break
        }
        await context.dispose()
        expect(ids).toHaveLength(120)
        runs.push(model.detokenize(ids))
      }
      expect(runs[0]).toMatch(/^[\x20-\x7e]+$/)
      expect(runs[0].length).toBeGreaterThanOrEqual(120)
      expect(new Set(runs[0]).size).toBeGreaterThan(10)
      expect(runs[1]).toBe(runs[0])
    } finally {
      await model.dispose()
    }
  })
})
