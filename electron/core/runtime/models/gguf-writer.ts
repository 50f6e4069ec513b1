import { open, type FileHandle } from 'node:fs/promises'

/** GGUF v3 writer: metadata, tensor infos, then 32-byte-aligned tensor data streamed to disk. */

export const GGUF_ALIGNMENT = 32

export enum GgufValueType {
  UINT32 = 4,
  INT32 = 5,
  FLOAT32 = 6,
  BOOL = 7,
  STRING = 8,
  ARRAY = 9,
  UINT64 = 10
}

export enum GgmlType {
  F32 = 0,
  F16 = 1
}

export type GgufValue =
  | { type: GgufValueType.UINT32 | GgufValueType.INT32 | GgufValueType.FLOAT32; value: number }
  | { type: GgufValueType.UINT64; value: bigint }
  | { type: GgufValueType.BOOL; value: boolean }
  | { type: GgufValueType.STRING; value: string }
  | { type: GgufValueType.ARRAY; itemType: GgufValueType.STRING; value: string[] }
  | { type: GgufValueType.ARRAY; itemType: GgufValueType.FLOAT32 | GgufValueType.INT32; value: number[] }

export const gguf = {
  u32: (value: number): GgufValue => ({ type: GgufValueType.UINT32, value }),
  f32: (value: number): GgufValue => ({ type: GgufValueType.FLOAT32, value }),
  str: (value: string): GgufValue => ({ type: GgufValueType.STRING, value }),
  strings: (value: string[]): GgufValue => ({ type: GgufValueType.ARRAY, itemType: GgufValueType.STRING, value }),
  f32s: (value: number[]): GgufValue => ({ type: GgufValueType.ARRAY, itemType: GgufValueType.FLOAT32, value }),
  i32s: (value: number[]): GgufValue => ({ type: GgufValueType.ARRAY, itemType: GgufValueType.INT32, value })
}

export interface TensorSpec {
  name: string
  /** ne[0] first (innermost dimension) */
  shape: number[]
  type: GgmlType
  /** Fills `out` (length = product of shape) with the tensor's values in row-major ggml order. */
  fill(out: Float32Array): void
}

/** Little-endian byte builder for the header. */
class ByteSink {
  private chunks: Buffer[] = []
  size = 0
  push(buf: Buffer): void {
    this.chunks.push(buf)
    this.size += buf.length
  }
  u32(v: number): void {
    const b = Buffer.alloc(4)
    b.writeUInt32LE(v)
    this.push(b)
  }
  i32(v: number): void {
    const b = Buffer.alloc(4)
    b.writeInt32LE(v)
    this.push(b)
  }
  u64(v: bigint | number): void {
    const b = Buffer.alloc(8)
    b.writeBigUInt64LE(BigInt(v))
    this.push(b)
  }
  f32(v: number): void {
    const b = Buffer.alloc(4)
    b.writeFloatLE(v)
    this.push(b)
  }
  str(s: string): void {
    const bytes = Buffer.from(s, 'utf8')
    this.u64(bytes.length)
    this.push(bytes)
  }
  bytes(): Buffer {
    return Buffer.concat(this.chunks)
  }
}

function writeValue(sink: ByteSink, v: GgufValue): void {
  sink.u32(v.type)
  switch (v.type) {
    case GgufValueType.UINT32:
      return sink.u32(v.value)
    case GgufValueType.INT32:
      return sink.i32(v.value)
    case GgufValueType.FLOAT32:
      return sink.f32(v.value)
    case GgufValueType.UINT64:
      return sink.u64(v.value)
    case GgufValueType.BOOL:
      return sink.push(Buffer.from([v.value ? 1 : 0]))
    case GgufValueType.STRING:
      return sink.str(v.value)
    case GgufValueType.ARRAY: {
      sink.u32(v.itemType)
      sink.u64(v.value.length)
      if (v.itemType === GgufValueType.STRING) for (const s of v.value as string[]) sink.str(s)
      else if (v.itemType === GgufValueType.FLOAT32) for (const n of v.value as number[]) sink.f32(n)
      else for (const n of v.value as number[]) sink.i32(n)
    }
  }
}

const align = (n: number): number => Math.ceil(n / GGUF_ALIGNMENT) * GGUF_ALIGNMENT
const elementCount = (shape: number[]): number => shape.reduce((a, b) => a * b, 1)
const byteSize = (t: TensorSpec): number => elementCount(t.shape) * (t.type === GgmlType.F16 ? 2 : 4)

/** Round-to-nearest-even float32 → IEEE half bits, done on integer bits so every platform agrees. */
export function f32ToF16Bits(value: number, scratch = new DataView(new ArrayBuffer(4))): number {
  scratch.setFloat32(0, value)
  const x = scratch.getUint32(0)
  const sign = (x >>> 16) & 0x8000
  const exp = (x >>> 23) & 0xff
  let mant = x & 0x7fffff
  if (exp === 0xff) return sign | 0x7c00 | (mant ? 0x200 : 0)
  const e = exp - 127 + 15
  if (e >= 0x1f) return sign | 0x7c00
  if (e <= 0) {
    if (e < -10) return sign
    mant |= 0x800000
    const shift = 14 - e
    let half = mant >>> shift
    const rem = mant & ((1 << shift) - 1)
    const halfway = 1 << (shift - 1)
    if (rem > halfway || (rem === halfway && half & 1)) half++
    return sign | half
  }
  let half = (e << 10) | (mant >>> 13)
  const rem = mant & 0x1fff
  // a carry out of the mantissa correctly bumps the exponent (up to infinity)
  if (rem > 0x1000 || (rem === 0x1000 && half & 1)) half++
  return sign | half
}

function encodeTensor(t: TensorSpec): Buffer {
  const values = new Float32Array(elementCount(t.shape))
  t.fill(values)
  if (t.type === GgmlType.F32) return Buffer.from(values.buffer, values.byteOffset, values.byteLength)
  const out = Buffer.alloc(values.length * 2)
  const scratch = new DataView(new ArrayBuffer(4))
  for (let i = 0; i < values.length; i++) out.writeUInt16LE(f32ToF16Bits(values[i], scratch), i * 2)
  return out
}

export interface WriteGgufOptions {
  signal?: AbortSignal
  onTensor?: (index: number, total: number) => void
}

/** Writes a GGUF v3 file; tensors are generated and written one at a time to keep memory flat. */
export async function writeGguf(
  path: string,
  metadata: Record<string, GgufValue>,
  tensors: TensorSpec[],
  options: WriteGgufOptions = {}
): Promise<void> {
  const header = new ByteSink()
  header.push(Buffer.from('GGUF', 'ascii'))
  header.u32(3)
  header.u64(tensors.length)
  header.u64(Object.keys(metadata).length)
  for (const [key, value] of Object.entries(metadata)) {
    header.str(key)
    writeValue(header, value)
  }
  let offset = 0
  for (const t of tensors) {
    header.str(t.name)
    header.u32(t.shape.length)
    for (const d of t.shape) header.u64(d)
    header.u32(t.type)
    header.u64(offset)
    offset = align(offset + byteSize(t))
  }
  const head = header.bytes()
  const file: FileHandle = await open(path, 'w')
  try {
    let pos = 0
    const write = async (buf: Buffer): Promise<void> => {
      await file.write(buf, 0, buf.length, pos)
      pos += buf.length
    }
    const pad = async (): Promise<void> => {
      const padding = align(pos) - pos
      if (padding > 0) await write(Buffer.alloc(padding))
    }
    await write(head)
    await pad()
    for (let i = 0; i < tensors.length; i++) {
      options.signal?.throwIfAborted()
      await write(encodeTensor(tensors[i]))
      await pad()
      options.onTensor?.(i + 1, tensors.length)
    }
  } finally {
    await file.close()
  }
}
