import type { Libp2p, Stream } from '@libp2p/interface'
import { multiaddr } from '@multiformats/multiaddr'
import { readFileSync } from 'node:fs'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { ADVERT_PROTOCOL } from '../../electron/core/p2p/advert-protocol'
import { BENCH_PROTOCOL } from '../../electron/core/p2p/bench-protocol'
import { INFER_PROTOCOL } from '../../shared/infer'
import { killAllNodes, startNode, type NodeProcess } from '../helpers/node-process'
import { waitFor } from '../helpers/wait'
import { loopbackLibp2p } from './routing/fixtures/loopback-libp2p'

/** Cases per protocol, and the wall-clock bound on the whole run. */
const INFER_CASES = Number(process.env.FUZZ_INFER_CASES ?? 3_000)
const OTHER_CASES = Number(process.env.FUZZ_OTHER_CASES ?? 500)
const DEADLINE_MS = 120_000
const PARALLEL = 12

/** A seeded generator, so a failing run can be repeated with FUZZ_SEED. */
const seed = Number(process.env.FUZZ_SEED ?? Date.now() % 1_000_000)
let state = seed
function rand(): number {
  state = (state * 1_103_515_245 + 12_345) % 2 ** 31
  return state / 2 ** 31
}
const int = (n: number): number => Math.floor(rand() * n)
const pick = <T>(items: T[]): T => items[int(items.length)]
const bytes = (n: number): Uint8Array => Uint8Array.from({ length: n }, () => int(256))

function varint(n: number): Uint8Array {
  const out: number[] = []
  while (n >= 0x80) {
    out.push((n % 0x80) | 0x80)
    n = Math.floor(n / 0x80)
  }
  out.push(n)
  return Uint8Array.from(out)
}
const concat = (...parts: Uint8Array[]): Uint8Array => {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.byteLength, 0))
  let at = 0
  for (const p of parts) {
    out.set(p, at)
    at += p.byteLength
  }
  return out
}
const frame = (value: unknown): Uint8Array => {
  const body = new TextEncoder().encode(typeof value === 'string' ? value : JSON.stringify(value))
  return concat(varint(body.byteLength), body)
}

function randomJson(depth = 0): unknown {
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

const VALID_REQUEST = {
  type: 'request',
  id: 'fuzz',
  call: { api: 'completions', body: { model: 'meshwork-tiny', prompt: 'hello', max_tokens: 4, temperature: 0 } }
}

/** Replaces one field somewhere in a valid request with something of the wrong type or size. */
function mutatedRequest(): unknown {
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
function inferCase(): Uint8Array {
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
function otherCase(protocol: string): Uint8Array {
  if (protocol === BENCH_PROTOCOL) {
    const claim = new Uint8Array(4)
    new DataView(claim.buffer).setUint32(0, pick([0, 1, 2 ** 32 - 1, 2 ** 31, 64 * 1024 * 1024, int(1e6)]))
    return concat(claim.subarray(0, 1 + int(4)), bytes(int(2048)))
  }
  return pick([() => bytes(int(2048)), () => frame(randomJson()), () => concat(varint(2 ** 31), bytes(16))])()
}

/** Sends one input, reads what comes back for a short while, and lets go of the stream. */
async function attack(
  raw: Libp2p,
  target: string,
  protocol: string,
  input: Uint8Array
): Promise<'answered' | 'refused'> {
  let stream: Stream
  try {
    stream = await raw.dialProtocol(multiaddr(target), protocol, { signal: AbortSignal.timeout(5_000) })
  } catch {
    return 'refused'
  }
  const readFor = AbortSignal.timeout(250 + int(750))
  // a node that never answers must not hold the case: whatever is awaited ends when the time is up
  const timeUp = new Promise<void>((resolve) => readFor.addEventListener('abort', () => resolve(), { once: true }))
  const exchange = async (): Promise<void> => {
    for (let i = 0; i < input.byteLength && stream.status === 'open'; i += 16_384) {
      if (!stream.send(input.subarray(i, i + 16_384))) await stream.onDrain({ signal: readFor })
    }
    if (rand() < 0.7) await stream.close({ signal: readFor }).catch(() => {})
    let got = 0
    for await (const chunk of stream) {
      got += chunk.byteLength
      if (got > 1 << 20) break
    }
  }
  try {
    await Promise.race([exchange().catch(() => {}), timeUp]) // a reset or a timeout is an acceptable answer to garbage
  } finally {
    stream.abort(new Error('fuzz case done'))
  }
  return 'answered'
}

/** A well-formed request over the same raw peer: the frames that come back, parsed. */
async function realInfer(raw: Libp2p, target: string): Promise<Array<{ type: string }>> {
  const signal = AbortSignal.timeout(30_000)
  const stream = await raw.dialProtocol(multiaddr(target), INFER_PROTOCOL, { signal })
  signal.addEventListener('abort', () => stream.abort(new Error('no answer in 30 s')), { once: true })
  stream.send(frame(VALID_REQUEST))
  let buffer: Uint8Array = new Uint8Array(0)
  for await (const chunk of stream) buffer = concat(buffer, chunk.subarray())
  const frames: Array<{ type: string }> = []
  for (let at = 0; at < buffer.byteLength;) {
    let length = 0
    let shift = 1
    while (buffer[at] >= 0x80) {
      length += (buffer[at++] & 0x7f) * shift
      shift *= 128
    }
    length += buffer[at++] * shift
    frames.push(JSON.parse(new TextDecoder().decode(buffer.subarray(at, at + length))))
    at += length
  }
  return frames
}

function rssMB(node: NodeProcess): number {
  return Math.round(Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${node.proc.pid}/status`, 'utf8'))?.[1]) / 1024)
}

describe('p2p frames from a raw libp2p peer (fuzz)', () => {
  let node: NodeProcess
  let raw: Libp2p

  beforeAll(async () => {
    node = await startNode({ args: ['--runtime', 'process'] })
    raw = await loopbackLibp2p()
  })
  afterAll(async () => {
    await raw?.stop()
    await killAllNodes()
  })

  it(
    'never crashes the node, keeps memory bounded, and serves a real request afterwards',
    { timeout: DEADLINE_MS + 120_000 },
    async () => {
      // the runtime starts after the node: wait until a real request is served over p2p
      await waitFor(
        async () => {
          const frames = await realInfer(raw, node.multiaddr)
          return frames.at(-1)?.type === 'final'
        },
        120_000,
        {
          what: 'the node to serve a real infer request',
          state: async () => JSON.stringify(await realInfer(raw, node.multiaddr))
        }
      )
      const rssBefore = rssMB(node)
      const started = Date.now()
      const plan = [
        ...Array.from({ length: INFER_CASES }, () => INFER_PROTOCOL),
        ...Array.from({ length: OTHER_CASES }, () => ADVERT_PROTOCOL),
        ...Array.from({ length: OTHER_CASES }, () => BENCH_PROTOCOL)
      ]
      const done: Record<string, { answered: number; refused: number }> = {}
      let next = 0
      let rssHalfway = 0
      await Promise.all(
        Array.from({ length: PARALLEL }, async () => {
          while (next < plan.length && Date.now() - started < DEADLINE_MS) {
            const protocol = plan[next++]
            const input = protocol === INFER_PROTOCOL ? inferCase() : otherCase(protocol)
            const outcome = await attack(raw, node.multiaddr, protocol, input)
            if (next === Math.floor(plan.length / 2)) rssHalfway = rssMB(node)
            done[protocol] ??= { answered: 0, refused: 0 }
            done[protocol][outcome]++
            expect(node.proc.exitCode).toBeNull()
          }
        })
      )
      const elapsed = Date.now() - started
      const total = Object.values(done).reduce((n, d) => n + d.answered + d.refused, 0)
      const after = await realInfer(raw, node.multiaddr)
      const http = await fetch(node.apiUrl + '/v1/completions', {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ model: 'meshwork-tiny', prompt: 'hello', max_tokens: 4 })
      })
      const rssAfter = rssMB(node)
      console.log(
        `fuzz (seed ${seed}): ${total} cases in ${elapsed} ms ${JSON.stringify(done)}; ` +
          `real request after: p2p ${after.map((f) => f.type).join(',')}, http ${http.status}; RSS ${rssBefore} MB before, ${rssHalfway} MB halfway, ${rssAfter} MB after`
      )
      expect(node.proc.exitCode).toBeNull()
      expect(done[INFER_PROTOCOL]?.answered ?? 0).toBeGreaterThanOrEqual(Math.min(INFER_CASES, 2_000))
      expect(after.at(-1)?.type).toBe('final')
      expect(http.status).toBe(200)
      // bounded: what the first half cost (heap grown for large frames) the second half does not add again
      expect(rssAfter - rssBefore).toBeLessThan(200)
      expect(rssAfter - rssHalfway).toBeLessThan(80)
    }
  )
})
