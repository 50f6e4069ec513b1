import { GgmlType, gguf, type GgufValue, type TensorSpec } from './gguf-writer'

/**
 * A llama-architecture model with seeded random weights and a small byte-fallback SentencePiece
 * vocabulary. Weights come from an integer PRNG (no Math.log/sin), so the bytes are the same on
 * every machine.
 */
export interface SyntheticModelSpec {
  name: string
  seed: number
  embedding: number
  layers: number
  heads: number
  headsKv: number
  feedForward: number
  contextLength: number
  matrixType: GgmlType
  /** Multiplies the unit-variance init of the matrices; > 1 makes greedy output less repetitive. */
  gain: number
}

export const TOKEN_TYPE = { NORMAL: 1, UNKNOWN: 2, CONTROL: 3, BYTE: 6 } as const

export interface SyntheticVocab {
  tokens: string[]
  scores: number[]
  types: number[]
  /** Tokens the model may generate: `▁`, printable ASCII, `▁a`…`▁z`. */
  printable: boolean[]
}

/** `<unk> <s> </s>`, 256 byte tokens, `▁`, printable ASCII (space is `▁`), `▁a`…`▁z`: 380 tokens. */
export function syntheticVocab(): SyntheticVocab {
  const tokens: string[] = ['<unk>', '<s>', '</s>']
  const types: number[] = [TOKEN_TYPE.UNKNOWN, TOKEN_TYPE.CONTROL, TOKEN_TYPE.CONTROL]
  for (let b = 0; b < 256; b++) {
    tokens.push(`<0x${b.toString(16).toUpperCase().padStart(2, '0')}>`)
    types.push(TOKEN_TYPE.BYTE)
  }
  tokens.push('\u2581')
  types.push(TOKEN_TYPE.NORMAL)
  for (let c = 0x21; c <= 0x7e; c++) {
    tokens.push(String.fromCharCode(c))
    types.push(TOKEN_TYPE.NORMAL)
  }
  for (let c = 0x61; c <= 0x7a; c++) {
    tokens.push('\u2581' + String.fromCharCode(c))
    types.push(TOKEN_TYPE.NORMAL)
  }
  // merges into `▁x` win over leaving single characters
  const scores = tokens.map((t, i) => (types[i] === TOKEN_TYPE.NORMAL ? (t.length > 1 ? 0 : -1) : -1000))
  const printable = types.map((t) => t === TOKEN_TYPE.NORMAL)
  return { tokens, scores, types, printable }
}

/** mulberry32: tiny 32-bit PRNG, integer arithmetic only. */
function prng(seed: number): () => number {
  let a = seed >>> 0
  return () => {
    a = (a + 0x6d2b79f5) >>> 0
    let t = a
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

/** FNV-1a of the tensor name mixed with the model seed: each tensor has its own stream. */
function tensorSeed(seed: number, name: string): number {
  let h = 0x811c9dc5 ^ seed
  for (let i = 0; i < name.length; i++) h = Math.imul(h ^ name.charCodeAt(i), 0x01000193)
  return h >>> 0
}

function uniform(seed: number, name: string, scale: number): (out: Float32Array) => void {
  return (out) => {
    const next = prng(tensorSeed(seed, name))
    for (let i = 0; i < out.length; i++) out[i] = (next() * 2 - 1) * scale
  }
}

const ones = (out: Float32Array): void => void out.fill(1)

export interface SyntheticModel {
  metadata: Record<string, GgufValue>
  tensors: TensorSpec[]
  params: number
}

export function buildSyntheticModel(spec: SyntheticModelSpec): SyntheticModel {
  const vocab = syntheticVocab()
  const nVocab = vocab.tokens.length
  const d = spec.embedding
  const headDim = d / spec.heads
  const dKv = headDim * spec.headsKv
  const ff = spec.feedForward
  // uniform(-a, a) has variance a²/3: a = gain·sqrt(3/n_in) keeps activations near unit scale
  const matScale = (nIn: number): number => spec.gain * Math.sqrt(3 / nIn)

  const matrix = (name: string, nIn: number, nOut: number): TensorSpec => ({
    name,
    shape: [nIn, nOut],
    type: spec.matrixType,
    fill: uniform(spec.seed, name, matScale(nIn))
  })
  const norm = (name: string): TensorSpec => ({ name, shape: [d], type: GgmlType.F32, fill: ones })

  const output: TensorSpec = {
    name: 'output.weight',
    shape: [d, nVocab],
    type: spec.matrixType,
    fill(out) {
      uniform(spec.seed, 'output.weight', matScale(d))(out)
      // zero rows of special and byte tokens: greedy output stays printable and never ends early
      for (let tok = 0; tok < nVocab; tok++) if (!vocab.printable[tok]) out.fill(0, tok * d, (tok + 1) * d)
    }
  }

  const tensors: TensorSpec[] = [
    {
      name: 'token_embd.weight',
      shape: [d, nVocab],
      type: spec.matrixType,
      fill: uniform(spec.seed, 'token_embd.weight', Math.sqrt(3))
    },
    norm('output_norm.weight'),
    output
  ]
  for (let l = 0; l < spec.layers; l++) {
    const p = `blk.${l}.`
    tensors.push(
      norm(p + 'attn_norm.weight'),
      matrix(p + 'attn_q.weight', d, d),
      matrix(p + 'attn_k.weight', d, dKv),
      matrix(p + 'attn_v.weight', d, dKv),
      matrix(p + 'attn_output.weight', d, d),
      norm(p + 'ffn_norm.weight'),
      matrix(p + 'ffn_gate.weight', d, ff),
      matrix(p + 'ffn_up.weight', d, ff),
      matrix(p + 'ffn_down.weight', ff, d)
    )
  }
  const params = tensors.reduce((sum, t) => sum + t.shape.reduce((a, b) => a * b, 1), 0)

  const metadata: Record<string, GgufValue> = {
    'general.architecture': gguf.str('llama'),
    'general.name': gguf.str(spec.name),
    'general.file_type': gguf.u32(spec.matrixType === GgmlType.F16 ? 1 : 0),
    'general.alignment': gguf.u32(32),
    'llama.context_length': gguf.u32(spec.contextLength),
    'llama.embedding_length': gguf.u32(d),
    'llama.block_count': gguf.u32(spec.layers),
    'llama.feed_forward_length': gguf.u32(ff),
    'llama.attention.head_count': gguf.u32(spec.heads),
    'llama.attention.head_count_kv': gguf.u32(spec.headsKv),
    'llama.rope.dimension_count': gguf.u32(headDim),
    'llama.attention.layer_norm_rms_epsilon': gguf.f32(1e-5),
    'llama.vocab_size': gguf.u32(nVocab),
    'tokenizer.ggml.model': gguf.str('llama'),
    'tokenizer.ggml.tokens': gguf.strings(vocab.tokens),
    'tokenizer.ggml.scores': gguf.f32s(vocab.scores),
    'tokenizer.ggml.token_type': gguf.i32s(vocab.types),
    'tokenizer.ggml.unknown_token_id': gguf.u32(0),
    'tokenizer.ggml.bos_token_id': gguf.u32(1),
    'tokenizer.ggml.eos_token_id': gguf.u32(2)
  }
  return { metadata, tensors, params }
}
