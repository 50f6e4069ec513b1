import { afterEach, describe, expect, it } from 'vitest'
import {
  RefreshScheduler,
  type RefreshOutcome,
  type RefreshSchedulerInit
} from '../../../electron/core/p2p/refresh-scheduler'
import type { AbortOptions } from '../../../electron/core/util/startable'

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))
/** A peer that never answers: the fetch hangs until its timeout aborts it. */
const hang = (options: AbortOptions) =>
  new Promise<RefreshOutcome>((resolve) =>
    options.signal?.addEventListener('abort', () => resolve('failed'), { once: true })
  )

describe('per-peer refresh schedule', () => {
  let scheduler: RefreshScheduler | undefined
  afterEach(() => scheduler?.stop())

  function make(init: Partial<RefreshSchedulerInit> & Pick<RefreshSchedulerInit, 'refresh'>) {
    scheduler = new RefreshScheduler({
      isTrusted: () => false,
      baseIntervalMs: 100,
      maxIntervalMs: 800,
      fetchTimeoutMs: 400,
      ...init
    })
    scheduler.start()
    return scheduler
  }

  it("hundreds of unreachable newcomers never delay a live provider's refresh", async () => {
    const honest = new Set(['honest-1', 'honest-2'])
    const refreshed = new Map<string, number>()
    const s = make({
      isTrusted: (id) => honest.has(id),
      refresh: async (id, options) => {
        if (!honest.has(id)) return hang(options)
        refreshed.set(id, (refreshed.get(id) ?? 0) + 1)
        return 'changed'
      }
    })
    for (const id of honest) s.watch(id)
    for (let i = 0; i < 500; i++) s.watch(`fake-${i}`)
    await sleep(1_500)
    // every ~100 ms on its own schedule, whatever the 500 fakes do
    for (const id of honest) expect(refreshed.get(id)).toBeGreaterThanOrEqual(8)
  })

  it('bounds newcomers, evicting the oldest; a verified peer is never evicted for one', async () => {
    const s = make({ maxProbation: 50, refresh: async (id, options) => (id === 'good' ? 'unchanged' : hang(options)) })
    s.watch('good')
    await sleep(50)
    for (let i = 0; i < 5_000; i++) s.watch(`fake-${i}`)
    expect(s.probationSize()).toBeLessThanOrEqual(50)
    expect(s.size).toBeLessThanOrEqual(51)
    expect(s.has('good')).toBe(true)
    expect(s.has('fake-4999')).toBe(true)
  })

  it('drops a peer that never produces an advert, and does not take it back for a while', async () => {
    const dropped: string[] = []
    let tries = 0
    const s = make({ probationTries: 3, onDrop: (id) => dropped.push(id), refresh: async () => (tries++, 'failed') })
    s.watch('silent')
    await sleep(1_500)
    expect(tries).toBe(3)
    expect(dropped).toEqual(['silent'])
    expect(s.watch('silent')).toBe(false)
    // unless it connects to us itself
    expect(s.watch('silent', { connected: true })).toBe(true)
  })

  it('backs off while an advert does not change, and tells how long the peer may be silent', async () => {
    const counts = { same: 0, moving: 0 }
    const silence = new Map<string, number>()
    const s = make({
      isTrusted: () => true,
      onSchedule: (id, ms) => silence.set(id, ms),
      refresh: async (id) => {
        counts[id as keyof typeof counts]++
        return id === 'same' ? 'unchanged' : 'changed'
      }
    })
    s.watch('same')
    s.watch('moving')
    await sleep(2_000)
    expect(counts.moving).toBeGreaterThanOrEqual(14)
    expect(counts.same).toBeLessThan(counts.moving / 2)
    expect(silence.get('same')).toBeGreaterThan(silence.get('moving')!)
  })
})

describe('peers that serve nothing yet', () => {
  it('are dropped without quarantine, so their first advert brings them back', async () => {
    const s = new RefreshScheduler({
      isTrusted: () => false,
      baseIntervalMs: 100,
      maxIntervalMs: 800,
      fetchTimeoutMs: 400,
      refresh: async () => 'serves-nothing'
    })
    s.start()
    s.watch('router-only')
    await sleep(100)
    expect(s.has('router-only')).toBe(false)
    expect(s.watch('router-only')).toBe(true)
    s.stop()
  })
})

describe('gossiped heartbeats instead of polling', () => {
  /** Started, with fast intervals; the test stops it. */
  function started(init: Partial<RefreshSchedulerInit> & Pick<RefreshSchedulerInit, 'refresh'>) {
    const s = new RefreshScheduler({
      isTrusted: () => true,
      baseIntervalMs: 100,
      maxIntervalMs: 200,
      fetchTimeoutMs: 100,
      ...init
    })
    s.start()
    return s
  }

  it('a peer heard by gossip is not fetched until gossip goes quiet; a failed fetch then extends nothing', async () => {
    let fetches = 0
    const silence: number[] = []
    const s = started({
      gossipQuietMs: 300,
      onSchedule: (_id, ms) => silence.push(ms),
      // answers until it freezes (after the gossip below stops)
      refresh: async () => (fetches++, fetches === 1 ? 'unchanged' : 'failed')
    })
    try {
      s.watch('provider')
      await sleep(50) // the first fetch verifies it
      expect(fetches).toBe(1)
      // a heartbeat every 100 ms for 1.5 s: polling alone would fetch ~8 times meanwhile
      for (let i = 0; i < 15; i++) {
        s.heard('provider')
        await sleep(100)
      }
      expect(fetches).toBe(1)
      expect(silence.at(-1)).toBe(400) // dead unless heard within the quiet period plus a fetch timeout
      await sleep(450) // gossip went quiet: polling takes over
      expect(fetches).toBeGreaterThanOrEqual(2)
      // the failed fetch does not buy the frozen peer more time than its last heartbeat promised
      expect(silence.at(-1)).toBe(400)
    } finally {
      s.stop()
    }
  })

  it('gossip about a peer that never produced a verified advert does not stop its fetches', async () => {
    let fetches = 0
    const s = started({
      isTrusted: () => false,
      probationTries: 100,
      refresh: async () => (fetches++, 'failed')
    })
    try {
      s.watch('newcomer')
      for (let i = 0; i < 10; i++) {
        s.heard('newcomer')
        await sleep(100)
      }
      expect(fetches).toBeGreaterThanOrEqual(3)
    } finally {
      s.stop()
    }
  })

  it('a peer that promised a slow heartbeat is not fetched while gossip keeps that promise', async () => {
    let fetches = 0
    const silence: number[] = []
    const s = started({
      gossipQuietMs: 150,
      maxHeartbeatMs: 400,
      onSchedule: (_id, ms) => silence.push(ms),
      refresh: async () => (fetches++, 'unchanged')
    })
    try {
      s.watch('provider')
      await sleep(50)
      expect(fetches).toBe(1)
      // a heartbeat every 300 ms, as its advert said: the 150 ms quiet period alone would poll between
      for (let i = 0; i < 4; i++) {
        s.heard('provider', 300)
        await sleep(300)
      }
      expect(fetches).toBe(1)
      expect(silence.at(-1)).toBe(1.5 * 300 + 100)
      // a heartbeat promised past the bound buys no more than the bound
      s.heard('provider', 60_000)
      expect(silence.at(-1)).toBe(1.5 * 400 + 100)
    } finally {
      s.stop()
    }
  })
})

describe('quarantine', () => {
  it('keeps out an id a lookup names again, but not one whose fresh signed advert came by gossip', async () => {
    const s = new RefreshScheduler({
      isTrusted: () => false,
      baseIntervalMs: 50,
      maxIntervalMs: 100,
      fetchTimeoutMs: 50,
      probationTries: 1,
      refresh: async () => 'failed' // an overloaded provider: its first fetch timed out
    })
    s.start()
    try {
      s.watch('provider')
      await sleep(100)
      expect(s.has('provider')).toBe(false)
      expect(s.watch('provider')).toBe(false) // named again by the DHT: still quarantined
      expect(s.watch('provider', { signedAdvert: true })).toBe(true)
    } finally {
      s.stop()
    }
  })
})

describe('first contact', () => {
  it('gets twice the fetch timeout: a slow dial to a new provider is not a failure', async () => {
    const outcomes: string[] = []
    const s = new RefreshScheduler({
      isTrusted: () => false,
      baseIntervalMs: 1_000,
      maxIntervalMs: 1_000,
      fetchTimeoutMs: 100,
      onSchedule: () => outcomes.push('verified'),
      refresh: (_id, options) =>
        new Promise<RefreshOutcome>((resolve) => {
          const timer = setTimeout(() => resolve('changed'), 150)
          options.signal?.addEventListener('abort', () => (clearTimeout(timer), resolve('failed')), { once: true })
        })
    })
    s.start()
    try {
      s.watch('new-provider')
      await sleep(300)
      expect(outcomes).toEqual(['verified'])
    } finally {
      s.stop()
    }
  })
})
