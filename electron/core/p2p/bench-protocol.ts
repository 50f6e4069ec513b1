import type { Connection, PeerId, Stream } from '@libp2p/interface'
import { MeshworkError } from '../util/errors'
import type { AbortOptions } from '../util/startable'
import { connectionKind, openStreamTo, pingOver, type StreamOpener } from './reachability-connection'

/**
 * `/meshwork/bench/1.0.0` — link probe. The prober sends a 4-byte big-endian length L, then L bytes,
 * then closes its side; the handler sinks them and answers with 4 bytes: the count it received, or
 * a refusal code. The handler never sends more than those 4 bytes, so a probe cannot turn us into
 * a traffic source against anyone; what it may sink is bounded per probe, per peer and in total.
 */
export const BENCH_PROTOCOL = '/meshwork/bench/1.0.0'

const REFUSED_TOO_LARGE = 0xffffffff
const REFUSED_BUSY = 0xfffffffe
const CHUNK = 64 * 1024
/** After a refusal the prober may still have this much in flight. */
const REFUSAL_ALLOWANCE = 256 * 1024
const REFUSAL_GRACE_MS = 2_000

export class BenchRefusedError extends MeshworkError {
  constructor(reason: 'too_large' | 'busy' | 'short') {
    super(`The peer refused the link probe (${reason})`, `bench_${reason}`, 429)
    this.name = 'BenchRefusedError'
  }
}

export interface BenchHandlerInit {
  /** largest payload accepted per probe (default 4 MiB) */
  maxBytes?: number
  /** probes served at once, all peers together (default 2) */
  maxConcurrent?: number
  /** least time between two probes from one peer (default 5 s) */
  minIntervalMs?: number
  /** a probe that has not finished by then is aborted (default 15 s) */
  timeoutMs?: number
}

/** The part of a libp2p node this protocol uses. */
export interface BenchLibp2p {
  handle(
    protocol: string,
    handler: (stream: Stream, connection: Connection) => void | Promise<void>,
    options?: { maxInboundStreams?: number; maxOutboundStreams?: number; runOnLimitedConnection?: boolean }
  ): Promise<void>
  unhandle(protocol: string): Promise<void>
  dialProtocol(
    peer: PeerId,
    protocol: string,
    options?: AbortOptions & { runOnLimitedConnection?: boolean }
  ): Promise<Stream>
  /** When given, a peer reached only through a relay is probed over that relayed connection. */
  getConnections?(peer?: PeerId): Connection[]
  services: { ping?: { ping(peer: PeerId, options?: AbortOptions): Promise<number> } }
}

function u32(n: number): Uint8Array {
  const out = new Uint8Array(4)
  new DataView(out.buffer).setUint32(0, n)
  return out
}

function readU32(bytes: Uint8Array): number {
  return new DataView(bytes.buffer, bytes.byteOffset, 4).getUint32(0)
}

async function send(stream: Stream, data: Uint8Array, options: AbortOptions): Promise<void> {
  if (!stream.send(data)) await stream.onDrain(options)
}

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

/** Serves link probes; returns a function that unregisters the handler. */
export async function registerBenchProtocol(
  libp2p: BenchLibp2p,
  init: BenchHandlerInit = {}
): Promise<() => Promise<void>> {
  const maxBytes = init.maxBytes ?? 4 * 1024 * 1024
  const maxConcurrent = init.maxConcurrent ?? 2
  const minIntervalMs = init.minIntervalMs ?? 5_000
  const timeoutMs = init.timeoutMs ?? 15_000
  const lastProbe = new Map<string, number>()
  let active = 0

  /**
   * Answers with a refusal code, then waits briefly for the prober to stop and close; a prober that
   * keeps sending past a small allowance or the grace time is reset.
   */
  async function refuse(stream: Stream, code: number, signal: AbortSignal): Promise<void> {
    await send(stream, u32(code), { signal })
    await stream.close({ signal })
    const grace = AbortSignal.any([signal, AbortSignal.timeout(REFUSAL_GRACE_MS)])
    const onGrace = (): void => stream.abort(new Error('link probe refused'))
    grace.addEventListener('abort', onGrace, { once: true })
    try {
      let discarded = 0
      for await (const piece of stream) {
        discarded += piece.byteLength
        if (discarded > REFUSAL_ALLOWANCE) throw new Error('peer kept sending after a refusal')
      }
    } finally {
      grace.removeEventListener('abort', onGrace)
    }
  }

  async function handler(stream: Stream, connection: Connection): Promise<void> {
    const peer = connection.remotePeer.toString()
    const now = Date.now()
    const signal = AbortSignal.timeout(timeoutMs)
    const onTimeout = (): void => stream.abort(new Error('link probe timed out'))
    signal.addEventListener('abort', onTimeout, { once: true })
    const busy = active >= maxConcurrent || now - (lastProbe.get(peer) ?? -Infinity) < minIntervalMs
    if (!busy) {
      active++
      lastProbe.set(peer, now)
      if (lastProbe.size > 10_000) lastProbe.delete(lastProbe.keys().next().value as string)
    }
    try {
      if (busy) return await refuse(stream, REFUSED_BUSY, signal)
      const head = new Uint8Array(4)
      let headBytes = 0
      let declared: number | undefined
      let payload = 0
      for await (const piece of stream) {
        let bytes = piece instanceof Uint8Array ? piece : piece.subarray()
        if (declared === undefined) {
          const take = Math.min(4 - headBytes, bytes.byteLength)
          head.set(bytes.subarray(0, take), headBytes)
          headBytes += take
          bytes = bytes.subarray(take)
          if (headBytes < 4) continue
          declared = readU32(head)
          if (declared > maxBytes) break
        }
        payload += bytes.byteLength
        if (payload > declared) throw new Error('peer sent more than it declared')
      }
      if (declared !== undefined && declared > maxBytes) return await refuse(stream, REFUSED_TOO_LARGE, signal)
      await send(stream, u32(payload), { signal })
      await stream.close({ signal })
    } catch (err) {
      stream.abort(err instanceof Error ? err : new Error(String(err)))
    } finally {
      if (!busy) active--
      signal.removeEventListener('abort', onTimeout)
    }
  }

  // relayed links are measured too (the prober sends less over them: the relay's bytes are limited)
  await libp2p.handle(BENCH_PROTOCOL, handler, {
    maxInboundStreams: maxConcurrent * 2,
    maxOutboundStreams: 4,
    runOnLimitedConnection: true
  })
  return () => libp2p.unhandle(BENCH_PROTOCOL)
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
