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
import { concat, frame, inferCase, int, otherCase, rand, seed, VALID_REQUEST } from '../helpers/p2p-fuzz-cases'

/** Cases per protocol, and the wall-clock bound on the whole run. */
const INFER_CASES = Number(process.env.FUZZ_INFER_CASES ?? 3_000)
const OTHER_CASES = Number(process.env.FUZZ_OTHER_CASES ?? 500)
const DEADLINE_MS = 120_000
const PARALLEL = 12

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
    // a capped heap: a leak ends in an out-of-memory crash instead of hiding behind a lazy garbage collector
    node = await startNode({
      args: ['--runtime', 'process'],
      env: { NODE_OPTIONS: process.env.FUZZ_NODE_OPTIONS ?? '--max-old-space-size=128' }
    })
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
      // bounded: the second half of the run adds (almost) nothing to what the first half cost
      expect(rssAfter - rssBefore).toBeLessThan(120)
      expect(rssAfter - rssHalfway).toBeLessThan(40)
    }
  )
})
