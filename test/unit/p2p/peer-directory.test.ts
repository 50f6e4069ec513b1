import { describe, expect, it } from 'vitest'
import type { Advert } from '../../../shared/advert'
import { createEvents } from '../../../electron/core/events'
import { PeerDirectory } from '../../../electron/core/p2p/peer-directory'

function advert(peerId: string, seq: number, overrides: Partial<Advert> = {}): Advert {
  return {
    peerId,
    version: '0.1.0',
    seq,
    timestamp: Date.now(),
    paused: false,
    models: [{ name: 'meshwork-tiny', sha256: 'a'.repeat(64), params: 1 }],
    benchmark: {},
    price: { perMillionTokens: 0, currency: 'credits' },
    load: { inflight: 0, queued: 0, capacity: 1 },
    ...overrides
  }
}

describe('peer directory', () => {
  it('an equal sequence number never revives a dead peer; a higher one does', () => {
    const directory = new PeerDirectory(createEvents(), 10_000)
    expect(directory.accept(advert('a', 5)).accepted).toBe(true)
    directory.markDead('a', 'connection lost')
    // a replay of the advert it died with, fetched or gossiped, is not a sign of life
    expect(directory.accept(advert('a', 5)).accepted).toBe(false)
    expect(directory.accept(advert('a', 5), { source: 'gossip' }).accepted).toBe(false)
    expect(directory.get('a')?.alive).toBe(false)
    expect(directory.accept(advert('a', 6), { source: 'gossip' }).accepted).toBe(true)
    expect(directory.get('a')?.alive).toBe(true)
  })

  it('an equal sequence fetched directly refreshes a live peer, gossiped it does not', () => {
    const directory = new PeerDirectory(createEvents(), 10_000)
    directory.accept(advert('a', 5), { now: 1_000 })
    expect(directory.accept(advert('a', 5), { now: 2_000, source: 'gossip' }).accepted).toBe(false)
    expect(directory.get('a')?.lastSeen).toBe(1_000)
    expect(directory.accept(advert('a', 5), { now: 3_000 })).toEqual({ accepted: true, changed: false })
    expect(directory.get('a')?.lastSeen).toBe(3_000)
    // a new sequence with the same content is not a change; a pause is
    expect(directory.accept(advert('a', 6))).toEqual({ accepted: true, changed: false })
    expect(directory.accept(advert('a', 7, { paused: true }))).toEqual({ accepted: true, changed: true })
  })

  it('a gossiped advert alone does not admit a peer it has never reached', () => {
    const directory = new PeerDirectory(createEvents(), 10_000)
    expect(directory.accept(advert('stranger', 1), { source: 'gossip' })).toMatchObject({ accepted: false })
    expect(directory.size).toBe(0)
  })

  it('is bounded: dead peers make room, a newcomer never evicts a live peer', () => {
    const directory = new PeerDirectory(createEvents(), 10_000, { maxPeers: 3 })
    for (const id of ['a', 'b', 'c']) directory.accept(advert(id, 1))
    expect(directory.accept(advert('d', 1))).toMatchObject({ accepted: false, reason: expect.stringMatching(/full/) })
    directory.markDead('b', 'gone')
    expect(directory.accept(advert('d', 1)).accepted).toBe(true)
    expect(directory.size).toBe(3)
    expect(directory.get('b')).toBeUndefined()
    expect(['a', 'c', 'd'].every((id) => directory.get(id)?.alive)).toBe(true)
  })

  it("judges liveness on each peer's own schedule", () => {
    const directory = new PeerDirectory(createEvents(), 5_000)
    directory.accept(advert('fast', 1), { now: 0 })
    directory.accept(advert('slow', 1), { now: 0 })
    directory.expectWithin('slow', 60_000, 0)
    directory.sweep(10_000)
    expect(directory.get('fast')?.alive).toBe(false)
    expect(directory.get('slow')?.alive).toBe(true)
    // a refresh that failed at 30 s brings the next one forward: the deadline counts from then
    directory.expectWithin('slow', 4_000, 30_000)
    directory.sweep(33_000)
    expect(directory.get('slow')?.alive).toBe(true)
    directory.sweep(61_000)
    expect(directory.get('slow')?.alive).toBe(false)
  })
})

describe('peer directory when this node stalls', () => {
  it('does not blame its peers for the time its own event loop was blocked', () => {
    const directory = new PeerDirectory(createEvents(), 5_000)
    directory.accept(advert('a', 1), { now: 0 })
    directory.sweep(4_000)
    // the node could not run from 4 s to 12 s: the sweep that finally runs credits those 8 s
    directory.sweep(12_000, 7_000)
    expect(directory.get('a')?.alive).toBe(true)
    directory.sweep(13_000)
    expect(directory.get('a')?.alive).toBe(false)
  })
})
