import { describe, expect, it } from 'vitest'
import { JobSlots } from '../../electron/core/p2p/job-slots'

/** Settles within a turn of the event loop? (true = resolved, false = still pending) */
async function settled(promise: Promise<unknown>): Promise<boolean> {
  let done = false
  void promise.then(
    () => (done = true),
    () => (done = true)
  )
  await new Promise((resolve) => setImmediate(resolve))
  return done
}

describe('JobSlots.idle', () => {
  it('resolves at once when nothing runs', async () => {
    const slots = new JobSlots(2, 4)
    expect(await settled(slots.idle())).toBe(true)
  })

  it('waits for running and queued jobs, and resolves on the release that empties the slots', async () => {
    const slots = new JobSlots(1, 4)
    const first = await slots.acquire()
    const queued = slots.acquire()
    const idle = slots.idle()
    expect(await settled(idle)).toBe(false)
    first() // the slot passes to the queued job: not idle yet
    const second = await queued
    expect(await settled(idle)).toBe(false)
    second()
    expect(await settled(idle)).toBe(true)
    expect(slots.load()).toEqual({ inflight: 0, queued: 0, capacity: 1 })
  })

  it('a queued job that leaves on abort does not count, and a double release does not resolve early', async () => {
    const slots = new JobSlots(1, 4)
    const release = await slots.acquire()
    const controller = new AbortController()
    const queued = slots.acquire({ signal: controller.signal })
    const idle = slots.idle()
    controller.abort(new Error('consumer left'))
    await expect(queued).rejects.toThrow('consumer left')
    expect(await settled(idle)).toBe(false)
    release()
    release()
    expect(await settled(idle)).toBe(true)
  })

  it('rejects with the reason when the signal aborts first (the stop deadline)', async () => {
    const slots = new JobSlots(1, 0)
    await slots.acquire()
    const idle = slots.idle({ signal: AbortSignal.timeout(20) })
    await expect(idle).rejects.toThrow(/timeout|aborted/i)
  })
})

describe('JobSlots queue notices', () => {
  it('a job that waits hears a notice at once and then periodically; one that gets a slot hears none', async () => {
    const slots = new JobSlots(1, 4)
    let atOnce = 0
    const first = await slots.acquire({ notice: { everyMs: 20, run: () => atOnce++ } })
    expect(atOnce).toBe(0)
    let waiting = 0
    const queued = slots.acquire({ notice: { everyMs: 20, run: () => waiting++ } })
    expect(waiting).toBe(1)
    await new Promise((r) => setTimeout(r, 110))
    expect(waiting).toBeGreaterThanOrEqual(3)
    first()
    const second = await queued
    const heard = waiting
    await new Promise((r) => setTimeout(r, 60))
    expect(waiting).toBe(heard)
    second()
  })
})
