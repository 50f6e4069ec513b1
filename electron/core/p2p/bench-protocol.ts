import type { Connection, Stream } from '@libp2p/interface'
import {
  BENCH_PROTOCOL,
  type BenchLibp2p,
  readU32,
  REFUSAL_ALLOWANCE,
  REFUSAL_GRACE_MS,
  REFUSED_BUSY,
  REFUSED_TOO_LARGE,
  send,
  u32
} from './bench-wire'

// The wire format and the prober live in bench-wire.ts and bench-probe.ts; re-exported for importers.
export { BENCH_PROTOCOL, BenchRefusedError, type BenchLibp2p } from './bench-wire'
export { type LinkProbe, probeLink, type ProbeOptions } from './bench-probe'

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
