import type { Connection, Libp2p, PeerId, Stream } from '@libp2p/interface'
import type { ConnectionKind } from '../../../shared/api'
import type { InferBody } from '../../../shared/infer'
import { isRelayed } from './reachability'

type Connections = Pick<Libp2p, 'getConnections'>

/** A relayed connection: through a circuit address, or carrying a relay's limits. */
export function isRelayedConnection(conn: Pick<Connection, 'remoteAddr' | 'limits'>): boolean {
  return conn.limits !== undefined || isRelayed(conn.remoteAddr)
}

// by id string without parsing it: the router asks this of every candidate of every request, and
// parsing a peer id (its public key) cost more than walking a node's connections
function openConnections(libp2p: Connections, peer: PeerId | string): Connection[] {
  if (typeof peer !== 'string') return libp2p.getConnections(peer).filter((c) => c.status === 'open')
  return libp2p.getConnections().filter((c) => c.status === 'open' && c.remotePeer.toString() === peer)
}

/** How this node is connected to `peer` now: `direct` wins over `relayed` (DCUtR may have upgraded). */
export function connectionKind(libp2p: Connections, peer: PeerId | string): ConnectionKind {
  const conns = openConnections(libp2p, peer)
  if (conns.length === 0) return 'none'
  return conns.some((c) => !isRelayedConnection(c)) ? 'direct' : 'relayed'
}

/** What a relay still allows on a connection; a missing field is not limited. */
export interface RelayBudget {
  bytes?: number
  ms?: number
}

/**
 * The budget left on the roomiest relayed connection to `peer`, or undefined when the peer is
 * reached directly (or not at all): the relay cuts a connection once either limit is spent.
 */
export function relayBudget(libp2p: Connections, peer: PeerId | string): RelayBudget | undefined {
  const conns = openConnections(libp2p, peer)
  if (conns.length === 0 || conns.some((c) => !isRelayedConnection(c))) return undefined
  let best: RelayBudget | undefined
  for (const conn of conns) {
    const budget: RelayBudget = {
      bytes: conn.limits?.bytes === undefined ? undefined : Number(conn.limits.bytes),
      ms: conn.limits?.seconds === undefined ? undefined : conn.limits.seconds * 1000
    }
    if (best === undefined || roomier(budget, best)) best = budget
  }
  return best
}

function roomier(a: RelayBudget, b: RelayBudget): boolean {
  const bytes = (a.bytes ?? Infinity) - (b.bytes ?? Infinity)
  return bytes !== 0 && !Number.isNaN(bytes) ? bytes > 0 : (a.ms ?? Infinity) > (b.ms ?? Infinity)
}

/**
 * Wire bytes per generated token over an infer stream: a JSON delta frame (text and token id),
 * its length prefix, yamux and noise framing: ~80 for a short token; 200 leaves room for long ones.
 */
export const BYTES_PER_TOKEN = 200
/** Wire bytes per prompt token id echoed back in the first frame of a chat. */
export const BYTES_PER_PROMPT_ID = 12
/** Tokens assumed when a request sets no max_tokens (the built-in model's context). */
export const UNBOUNDED_TOKENS = 2048
/** The need is stretched by this much before it is compared with what the relay allows. */
export const RELAY_MARGIN = 1.5

export interface RelayNeed {
  bytes: number
  ms: number
}

/** What one job needs from a relayed connection, at worst: every token it may generate. */
export function relayNeed(call: InferBody, speed: { tokensPerSecond?: number; ttftMs?: number } = {}): RelayNeed {
  const body = call.body as { max_tokens?: number | null; max_completion_tokens?: number | null }
  const tokens = body.max_tokens ?? body.max_completion_tokens ?? UNBOUNDED_TOKENS
  const requestBytes = JSON.stringify(call).length
  // a chat's first frame returns the templated prompt's ids: about one per 3 request bytes at most
  const promptIds = call.api === 'chat' ? Math.ceil(requestBytes / 3) : 0
  const tps = Math.max(speed.tokensPerSecond ?? 20, 0.1)
  return {
    bytes: Math.ceil((requestBytes + promptIds * BYTES_PER_PROMPT_ID + tokens * BYTES_PER_TOKEN) * RELAY_MARGIN),
    ms: Math.ceil(((speed.ttftMs ?? 300) + (1000 * tokens) / tps) * RELAY_MARGIN)
  }
}

/** Why a job must not run over this relayed connection, or undefined when it fits its limits. */
export function relayLimitReason(budget: RelayBudget | undefined, need: RelayNeed): string | undefined {
  if (budget === undefined) return undefined
  if (budget.bytes !== undefined && budget.bytes < need.bytes) {
    return `relay allows ${budget.bytes} more bytes, the job may need ${need.bytes}`
  }
  if (budget.ms !== undefined && budget.ms < need.ms) {
    return `relay allows ${Math.round(budget.ms / 1000)} s more, the job may need ${Math.round(need.ms / 1000)} s`
  }
  return undefined
}

type StreamOptions = NonNullable<Parameters<Libp2p['dialProtocol']>[2]>

/** What opening a stream needs of a libp2p node (a full node, or a test's narrow one). */
export interface StreamOpener {
  getConnections(peer?: PeerId): Connection[]
  dialProtocol(peer: PeerId, protocol: string, options?: StreamOptions): Promise<Stream>
}

/**
 * Opens a protocol stream to `peer`, reusing a relayed connection when that is all there is.
 * libp2p's own dial never reuses a limited (relayed) connection: it dials the relay again for a
 * new one on every stream, which costs a hop, a handshake and a relay slot each time, and races
 * with the peer dialling back. A direct connection, or none, is left to libp2p as usual.
 */
export async function openStreamTo(
  libp2p: StreamOpener,
  peer: PeerId,
  protocol: string,
  options: StreamOptions = {}
): Promise<Stream> {
  const conns = openConnections(libp2p, peer)
  const relayed = conns.some((c) => !isRelayedConnection(c)) ? undefined : conns[0]
  if (relayed !== undefined) return relayed.newStream(protocol, { ...options, runOnLimitedConnection: true })
  return libp2p.dialProtocol(peer, protocol, { ...options, runOnLimitedConnection: true })
}

const PING_PROTOCOL = '/ipfs/ping/1.0.0'
const PING_BYTES = 32

/**
 * One libp2p ping (32 bytes echoed) over the connection `openStreamTo` picks, in ms by our clock.
 * libp2p's ping service dials like any other protocol, so toward a peer reached only through a
 * relay each ping would open one more relayed connection.
 */
export async function pingOver(
  libp2p: StreamOpener,
  peer: PeerId,
  options: { signal?: AbortSignal } = {}
): Promise<number> {
  const stream = await openStreamTo(libp2p, peer, PING_PROTOCOL, options)
  try {
    const payload = crypto.getRandomValues(new Uint8Array(PING_BYTES))
    const started = performance.now()
    if (!stream.send(payload)) await stream.onDrain(options)
    let echoed = 0
    for await (const piece of stream) {
      echoed += piece.byteLength
      if (echoed >= PING_BYTES) break
    }
    if (echoed < PING_BYTES) throw new Error('ping answered short')
    const ms = performance.now() - started
    await stream.close(options).catch(() => stream.abort(new Error('close failed')))
    return ms
  } catch (err) {
    stream.abort(err instanceof Error ? err : new Error(String(err)))
    throw err
  }
}
