import { BENCH_PROTOCOL } from '../../electron/core/p2p/bench-protocol'

/** Hostile inputs for the p2p protocols, from a seeded generator: a failing run repeats with FUZZ_SEED. */
export const seed = Number(process.env.FUZZ_SEED ?? Date.now() % 1_000_000)
let state = seed
export function rand(): number {
  state = (state * 1_103_515_245 + 12_345) % 2 ** 31
  return state / 2 ** 31
}
export const int = (n: number): number => Math.floor(rand() * n)
export const pick = <T>(items: T[]): T => items[int(items.length)]
export const bytes = (n: number): Uint8Array => Uint8Array.from({ length: n }, () => int(256))

export function varint(n: number): Uint8Array {
  const out: number[] = []
  while (n >= 0x80) {
    out.push((n % 0x80) | 0x80)
    n = Math.floor(n / 0x80)
  }
  out.push(n)
  return Uint8Array.from(out)
}
export const concat = (...parts: Uint8Array[]): Uint8Array => {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.byteLength, 0))
  let at = 0
  for (const p of parts) {
    out.set(p, at)
    at += p.byteLength
  }
  return out
}
export const frame = (value: unknown): Uint8Array => {
  const body = new TextEncoder().encode(typeof value === 'string' ? value : JSON.stringify(value))
  return concat(varint(body.byteLength), body)
}

export function randomJson(depth = 0): unknown {
  const kind = int(depth > 3 ? 5 : 8)
  if (kind === 0) return null
  if (kind === 1) return rand() < 0.5
  if (kind === 2) return pick([0, -1, 1e308, -1e308, 2 ** 53, 0.5, Number.MAX_SAFE_INTEGER, int(1e9)])
  if (kind === 3) return 'x'.repeat(int(64))
  if (kind === 4)
    return pick(['request', 'delta', 'final', 'error', 'chat', 'completions', 'meshwork-tiny', '\u0000', '😀'])
  if (kind === 5) return Array.from({ length: int(6) }, () => randomJson(depth + 1))
  return Object.fromEntries(
    Array.from({ length: int(6) }, () => [
      pick([
        'type',
        'id',
        'call',
        'api',
        'body',
        'model',
        'prompt',
        'messages',
        'max_tokens',
        'sha256',
        '__proto__',
        'constructor'
      ]),
      randomJson(depth + 1)
    ])
  )
}

export const VALID_REQUEST = {
  type: 'request',
  id: 'fuzz',
  call: { api: 'completions', body: { model: 'meshwork-tiny', prompt: 'hello', max_tokens: 4, temperature: 0 } }
}

/** Replaces one field somewhere in a valid request with something of the wrong type or size. */
export function mutatedRequest(): unknown {
  const request = structuredClone(VALID_REQUEST) as Record<string, any>
  const targets: Array<[Record<string, any>, string]> = [
    [request, 'type'],
    [request, 'id'],
    [request, 'call'],
    [request, 'sha256'],
    [request.call, 'api'],
    [request.call, 'body'],
    [request.call.body, 'model'],
    [request.call.body, 'prompt'],
    [request.call.body, 'max_tokens'],
    [request.call.body, 'temperature'],
    [request.call.body, 'replay_tokens'],
    [request.call.body, 'messages'],
    [request.call.body, 'stop']
  ]
  const [holder, key] = pick(targets)
  holder[key] = pick([
    () => randomJson(),
    () => -1,
    () => 1e12,
    () => 'x'.repeat(int(100_000)),
    () => Array.from({ length: int(5_000) }, () => int(1e6)),
    () => ({ nested: { deeper: [randomJson()] } }),
    () => undefined
  ])()
  return request
}

/** One hostile input for the infer protocol. */
export function inferCase(): Uint8Array {
  switch (int(8)) {
    case 0:
      return bytes(int(4096)) // noise
    case 1:
      return concat(varint(pick([2 ** 31, 2 ** 32 + 7, 2 ** 35, 9 * 2 ** 20, 2 ** 49])), bytes(int(64))) // huge claims
    case 2:
      return Uint8Array.from({ length: 10 + int(6) }, () => 0xff) // a varint that never ends
    case 3:
      return frame(randomJson())
    case 4:
      return frame(mutatedRequest())
    case 5:
      return frame(JSON.stringify(VALID_REQUEST).slice(0, int(80))) // broken JSON
    case 6:
      return concat(varint(1_000), frame(VALID_REQUEST).subarray(0, int(200))) // truncated
    default:
      return concat(frame(mutatedRequest()), frame(randomJson()), bytes(int(256))) // frames after the request
  }
}

/** One hostile input for the advert and bench protocols. */
export function otherCase(protocol: string): Uint8Array {
  if (protocol === BENCH_PROTOCOL) {
    const claim = new Uint8Array(4)
    new DataView(claim.buffer).setUint32(0, pick([0, 1, 2 ** 32 - 1, 2 ** 31, 64 * 1024 * 1024, int(1e6)]))
    return concat(claim.subarray(0, 1 + int(4)), bytes(int(2048)))
  }
  return pick([() => bytes(int(2048)), () => frame(randomJson()), () => concat(varint(2 ** 31), bytes(16))])()
}
