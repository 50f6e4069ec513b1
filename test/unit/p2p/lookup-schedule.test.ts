import { afterEach, describe, expect, it } from 'vitest'
import { LookupSchedule } from '../../../electron/core/p2p/lookup-schedule'

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

describe('DHT lookup back-off', () => {
  let schedule: LookupSchedule | undefined
  afterEach(() => schedule?.stop())

  function make(foundNew: () => boolean) {
    const runs: number[] = []
    schedule = new LookupSchedule({
      run: async () => (runs.push(Date.now()), foundNew()),
      baseMs: 50,
      maxMs: 800
    })
    schedule.start()
    return runs
  }

  it('backs off while rounds find nothing new (a settled mesh stops walking the DHT)', async () => {
    const runs = make(() => false)
    await sleep(1_600)
    // a fixed 50 ms interval would run ~32 rounds; doubling runs at 0, 50, 150, 350, 750, 1550
    expect(runs.length).toBeGreaterThanOrEqual(4)
    expect(runs.length).toBeLessThanOrEqual(7)
    expect(schedule!.currentDelayMs).toBe(800)
  })

  it('stays at the base interval while rounds find something', async () => {
    const runs = make(() => true)
    await sleep(600)
    expect(runs.length).toBeGreaterThanOrEqual(8)
  })

  it('a nudge brings a backed-off schedule back to a round within the base delay', async () => {
    const runs = make(() => false)
    await sleep(1_000) // now waiting up to 800 ms
    const before = runs.length
    schedule!.nudge()
    await sleep(120)
    expect(runs.length).toBe(before + 1)
    expect(runs.at(-1)! - runs.at(-2)!).toBeLessThan(800)
  })

  it('a round cut short by its timeout keeps the wait where it was (no back-off on no evidence)', async () => {
    const runs: number[] = []
    schedule = new LookupSchedule({
      run: async () => (runs.push(Date.now()), runs.length <= 3 ? false : 'unfinished'),
      baseMs: 50,
      maxMs: 800
    })
    schedule.start()
    await sleep(1_500)
    // 0, 100, 300, 700 (waits 100, 200, 400), then every 400 ms instead of 800
    expect(schedule.currentDelayMs).toBe(400)
    expect(runs.length).toBeGreaterThanOrEqual(5)
  })

  it('a node alone after a failed re-join tries again soon, and backs off from the base interval once joined', async () => {
    const runs: number[] = []
    let alone = true
    schedule = new LookupSchedule({
      run: async () => (runs.push(Date.now()), alone ? 'alone' : false),
      baseMs: 400,
      maxMs: 3_200,
      aloneRetryMs: 40
    })
    schedule.start()
    await sleep(430)
    // every 40 ms instead of every 400 ms (one round in this window)
    expect(runs.length).toBeGreaterThanOrEqual(5)
    alone = false
    const joinedAt = runs.length
    await sleep(900)
    // joined: the round already due, then the back-off from the base interval (800 ms), not 40 ms
    expect(runs.length - joinedAt).toBeGreaterThanOrEqual(1)
    expect(runs.length - joinedAt).toBeLessThanOrEqual(3)
  })

  it('a failing round is retried at the base interval', async () => {
    const runs: number[] = []
    schedule = new LookupSchedule({
      run: async () => {
        runs.push(Date.now())
        throw new Error('no route')
      },
      baseMs: 50,
      maxMs: 800,
      onError: () => {}
    })
    schedule.start()
    await sleep(600)
    expect(runs.length).toBeGreaterThanOrEqual(8)
  })
})

describe('a hung lookup round', () => {
  it('does not stop later rounds', async () => {
    let runs = 0
    const schedule = new LookupSchedule({
      run: () => (++runs === 1 ? new Promise<boolean>(() => {}) : Promise.resolve(true)),
      baseMs: 50,
      maxMs: 800,
      roundTimeoutMs: 100,
      onError: () => {}
    })
    schedule.start()
    await sleep(500)
    schedule.stop()
    expect(runs).toBeGreaterThanOrEqual(4)
  })
})
