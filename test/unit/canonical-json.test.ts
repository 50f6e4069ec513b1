import { describe, expect, it } from 'vitest'
import { canonicalJson, fromHex, toHex } from '../../shared/receipt'

/** The plain definition the encoder must match byte for byte (signatures cover these bytes). */
function reference(value: unknown): string {
  if (value === null || typeof value !== 'object') return JSON.stringify(value)
  if (Array.isArray(value)) return `[${value.map(reference).join(',')}]`
  const entries = Object.entries(value as Record<string, unknown>)
    .filter(([, v]) => v !== undefined)
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
  return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${reference(v)}`).join(',')}}`
}

/** A seeded generator of nested values with awkward keys (unicode, quotes, digits, upper case). */
function randomValue(seed: { n: number }, depth = 0): unknown {
  const next = () => (seed.n = (seed.n * 1_103_515_245 + 12_345) % 2 ** 31) / 2 ** 31
  const keys = ['b', 'a', 'B', 'é', '"q"', '10', '9', 'price', 'zz', '', 'ä\n']
  const kind = Math.floor(next() * (depth > 2 ? 4 : 6))
  if (kind === 0) return Math.round(next() * 1e6) / 100
  if (kind === 1) return keys[Math.floor(next() * keys.length)]
  if (kind === 2) return next() < 0.5
  if (kind === 3) return null
  if (kind === 4) return Array.from({ length: Math.floor(next() * 4) }, () => randomValue(seed, depth + 1))
  const out: Record<string, unknown> = {}
  for (const key of keys) if (next() < 0.5) out[key] = next() < 0.15 ? undefined : randomValue(seed, depth + 1)
  return out
}

describe('canonical JSON', () => {
  it('gives the bytes of the plain definition for any nesting, key order and undefined member', () => {
    const seed = { n: 42 }
    for (let i = 0; i < 500; i++) {
      const value = randomValue(seed)
      expect(canonicalJson(value)).toBe(reference(value))
    }
    expect(canonicalJson({ b: 1, a: { d: [2, { z: 1, y: undefined }], c: 'x' } })).toBe(
      '{"a":{"c":"x","d":[2,{"z":1}]},"b":1}'
    )
  })

  it('refuses a number JSON cannot carry', () => {
    expect(() => canonicalJson({ a: Number.NaN })).toThrow(/non-finite/)
    expect(() => canonicalJson([Infinity])).toThrow(/non-finite/)
  })

  it('writes bytes as lower-case hex, two digits each, and reads them back', () => {
    const bytes = Uint8Array.from({ length: 256 }, (_, i) => i)
    const hex = toHex(bytes)
    expect(hex).toBe(Buffer.from(bytes).toString('hex'))
    expect(fromHex(hex)).toEqual(bytes)
  })
})
