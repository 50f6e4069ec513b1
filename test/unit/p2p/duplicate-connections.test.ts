import { peerIdFromString } from '@libp2p/peer-id'
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import { DuplicateConnections } from '../../../electron/core/p2p/duplicate-connections'

// ME sorts before OTHER: between two connections without gossip, the one ME dialled stays
const ME = '12D3KooWBopCE6pvrqdo9cDu3c1MzMkwECw6vhxJKTrfaHnKXkLf'
const OTHER = '12D3KooWFx8p6k5P9xLbb3HqM6huWisMFJad3HBVSE4svDSC8rg2'
const GOSSIP = '/meshsub/1.2.0'
const PING = '/ipfs/ping/1.0.0'
const KAD = '/meshwork/kad/1.0.0'

interface FakeConnection {
  id: string
  direction: 'inbound' | 'outbound'
  status: 'open' | 'closed'
  streams: Array<{ protocol?: string }>
  remotePeer: ReturnType<typeof peerIdFromString>
  timeline: { open: number }
  limits?: object
  close: () => Promise<void>
  abort: () => void
}

function conn(id: string, direction: FakeConnection['direction'], protocols: string[], opened = 0): FakeConnection {
  const c: FakeConnection = {
    id,
    direction,
    status: 'open',
    streams: protocols.map((protocol) => ({ protocol })),
    remotePeer: peerIdFromString(OTHER),
    timeline: { open: opened },
    close: async () => void (c.status = 'closed'),
    abort: () => void (c.status = 'closed')
  }
  return c
}

/** The service on ME's side, over the given connections to OTHER. */
function closer(self: string, connections: FakeConnection[]) {
  const listeners = new Map<string, (evt: CustomEvent) => void>()
  const svc = new DuplicateConnections({
    peerId: peerIdFromString(self),
    connectionManager: { getConnections: () => connections.filter((c) => c.status === 'open') as never },
    events: {
      addEventListener: ((type: string, fn: (evt: CustomEvent) => void) => listeners.set(type, fn)) as never,
      removeEventListener: ((type: string) => listeners.delete(type)) as never
    },
    logger: { forComponent: () => Object.assign(() => {}, { error: () => {}, trace: () => {} }) } as never
  })
  const opened = (c: FakeConnection) =>
    listeners.get('connection:open')!(new CustomEvent('connection:open', { detail: c }))
  return { svc, opened }
}

describe('duplicate connections', () => {
  beforeEach(() => vi.useFakeTimers())
  afterEach(() => vi.useRealTimers())

  it("closes this end's idle second connection and keeps the one carrying gossipsub", async () => {
    const kept = conn('a', 'inbound', [GOSSIP, GOSSIP])
    const second = conn('b', 'outbound', [PING])
    const { svc, opened } = closer(ME, [kept, second])
    await svc.start()
    opened(second)
    await vi.advanceTimersByTimeAsync(5_000)
    expect(second.status).toBe('closed')
    expect(kept.status).toBe('open')
    expect(svc.closed).toBe(1)
  })

  it("leaves the other end's connection for the other end to close (each end closes only what it dialled)", async () => {
    const mine = conn('a', 'outbound', [GOSSIP, GOSSIP])
    const theirs = conn('b', 'inbound', [PING])
    const { svc, opened } = closer(ME, [mine, theirs])
    await svc.start()
    opened(theirs)
    await vi.advanceTimersByTimeAsync(30_000)
    expect([mine.status, theirs.status]).toEqual(['open', 'open'])
  })

  it('between two connections without gossip both ends keep the one the smaller peer id dialled', async () => {
    // ME's view: ME dialled `a`, OTHER dialled `b`; OTHER's view of the same pair is mirrored
    const meSide = [conn('a', 'outbound', []), conn('b', 'inbound', [])]
    const otherSide = [conn('a', 'inbound', []), conn('b', 'outbound', [])]
    const me = closer(ME, meSide)
    const other = closer(OTHER, otherSide)
    await me.svc.start()
    await other.svc.start()
    me.opened(meSide[1])
    other.opened(otherSide[1])
    await vi.advanceTimersByTimeAsync(5_000)
    // only `b` goes, closed by OTHER, its dialler: the pair keeps exactly one connection
    expect(meSide.map((c) => c.status)).toEqual(['open', 'open'])
    expect(otherSide.map((c) => c.status)).toEqual(['open', 'closed'])
  })

  it('waits while a request is in flight on the duplicate, then closes it', async () => {
    const kept = conn('a', 'inbound', [GOSSIP, GOSSIP])
    const busy = conn('b', 'outbound', [KAD])
    const { svc, opened } = closer(ME, [kept, busy])
    await svc.start()
    opened(busy)
    await vi.advanceTimersByTimeAsync(5_000)
    expect(busy.status).toBe('open')
    busy.streams = []
    await vi.advanceTimersByTimeAsync(5_000)
    expect(busy.status).toBe('closed')
  })

  it('never closes a second connection that carries gossipsub streams too', async () => {
    const a = conn('a', 'inbound', [GOSSIP])
    const b = conn('b', 'outbound', [GOSSIP])
    const { svc, opened } = closer(ME, [a, b])
    await svc.start()
    opened(b)
    await vi.advanceTimersByTimeAsync(60_000)
    expect([a.status, b.status]).toEqual(['open', 'open'])
  })

  it('leaves a lone connection and a relayed (limited) one alone, and stops its timers on stop', async () => {
    const direct = conn('a', 'inbound', [GOSSIP, GOSSIP])
    const relayed = Object.assign(conn('b', 'outbound', []), { limits: { bytes: 1n } })
    const { svc, opened } = closer(ME, [direct, relayed])
    await svc.start()
    opened(relayed)
    await vi.advanceTimersByTimeAsync(5_000)
    expect(relayed.status).toBe('open')
    const extra = conn('c', 'outbound', [])
    const again = closer(ME, [direct, extra])
    await again.svc.start()
    again.opened(extra)
    await again.svc.stop()
    await vi.advanceTimersByTimeAsync(10_000)
    expect(extra.status).toBe('open')
  })
})
