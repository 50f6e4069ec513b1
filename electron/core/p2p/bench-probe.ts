import type { PeerId, Stream } from '@libp2p/interface'
import { MeshworkError } from '../util/errors'
import type { AbortOptions } from '../util/startable'
import {
  BENCH_PROTOCOL,
  BenchRefusedError,
  type BenchLibp2p,
  CHUNK,
  readU32,
  REFUSED_BUSY,
  REFUSED_TOO_LARGE,
  send,
  u32
} from './bench-wire'
import { connectionKind, openStreamTo, pingOver, type StreamOpener } from './reachability-connection'

/** Collects what the peer sends back (4 bytes); a reset after those bytes still counts as an answer. */
async function readReply(stream: Stream, onFirst: () => void): Promise<number> {
  const head = new Uint8Array(4)
  let have = 0
  try {
    for await (const piece of stream) {
      const bytes = piece instanceof Uint8Array ? piece : piece.subarray()
      const take = Math.min(4 - have, bytes.byteLength)
      head.set(bytes.subarray(0, take), have)
      have += take
      if (have === 4) {
        onFirst()
        break
      }
    }
  } catch (err) {
    if (have < 4) throw err
  }
  if (have < 4) throw new BenchRefusedError('short')
  return readU32(head)
}

export interface ProbeOptions extends AbortOptions {
  /** payload size (default 1 MiB, at most 16 MiB) */
  bytes?: number
  /** pings for the RTT (default 3, median) */
  pings?: number
}

export interface LinkProbe {
  rttMs: number
  throughputMbps: number
}

const outboundActive = new WeakMap<object, number>()
const MAX_OUTBOUND = 2
const MAX_PROBE_BYTES = 16 * 1024 * 1024

function relayedOnly(libp2p: BenchLibp2p, peer: PeerId): boolean {
  return libp2p.getConnections !== undefined && connectionKind(opener(libp2p), peer) === 'relayed'
}

function opener(libp2p: BenchLibp2p): StreamOpener {
  return {
    getConnections: (p) => libp2p.getConnections?.(p) ?? [],
    dialProtocol: (p, proto, o) => libp2p.dialProtocol(p, proto, o)
  }
}

async function rtt(libp2p: BenchLibp2p, peer: PeerId, pings: number, options: AbortOptions): Promise<number> {
  const samples: number[] = []
  for (let i = 0; i < pings; i++) {
    const started = performance.now()
    if (relayedOnly(libp2p, peer)) {
      samples.push(await pingOver(opener(libp2p), peer, options))
      continue
    }
    const reported = libp2p.services.ping ? await libp2p.services.ping.ping(peer, options) : undefined
    const measured = performance.now() - started
    // ping reports whole milliseconds (0 on loopback); below 1 ms our own clock says more
    samples.push(reported !== undefined && reported >= 1 ? reported : Math.min(measured, 1))
  }
  samples.sort((a, b) => a - b)
  return samples[Math.floor(samples.length / 2)]
}

/** RTT by libp2p ping, then the time to push `bytes` to the peer and hear its count back. */
export async function probeLink(libp2p: BenchLibp2p, peer: PeerId, options: ProbeOptions = {}): Promise<LinkProbe> {
  const bytes = Math.max(1, Math.min(options.bytes ?? 1024 * 1024, MAX_PROBE_BYTES))
  const active = outboundActive.get(libp2p) ?? 0
  if (active >= MAX_OUTBOUND) throw new BenchRefusedError('busy')
  outboundActive.set(libp2p, active + 1)
  try {
    const rttMs = libp2p.services.ping ? await rtt(libp2p, peer, Math.max(1, options.pings ?? 3), options) : 0
    const stream = libp2p.getConnections
      ? await openStreamTo(opener(libp2p), peer, BENCH_PROTOCOL, { signal: options.signal })
      : await libp2p.dialProtocol(peer, BENCH_PROTOCOL, options)
    let answered = false
    const reply = readReply(stream, () => (answered = true))
    reply.catch(() => {}) // awaited below; a refusal may arrive while we still send
    try {
      const started = performance.now()
      try {
        await send(stream, u32(bytes), options)
        const chunk = new Uint8Array(CHUNK)
        for (let sent = 0; sent < bytes && !answered; sent += CHUNK) {
          options.signal?.throwIfAborted()
          await send(stream, sent + CHUNK <= bytes ? chunk : chunk.subarray(0, bytes - sent), options)
        }
        if (!answered) await stream.close(options)
      } catch (err) {
        if (!answered) throw err
      }
      if (answered && stream.writeStatus === 'writable') await stream.close(options).catch(() => {})
      const answer = await reply
      const elapsed = performance.now() - started
      if (answer === REFUSED_TOO_LARGE) throw new BenchRefusedError('too_large')
      if (answer === REFUSED_BUSY) throw new BenchRefusedError('busy')
      if (answer !== bytes)
        throw new MeshworkError(`The peer counted ${answer} of ${bytes} bytes`, 'bench_mismatch', 502)
      const transferMs = Math.max(elapsed - rttMs, elapsed / 2, 0.001)
      return {
        rttMs: Math.round(rttMs * 1000) / 1000,
        throughputMbps: Math.round(((bytes * 8) / (transferMs * 1000)) * 100) / 100
      }
    } catch (err) {
      stream.abort(err instanceof Error ? err : new Error(String(err)))
      throw err
    }
  } finally {
    outboundActive.set(libp2p, (outboundActive.get(libp2p) ?? 1) - 1)
  }
}
