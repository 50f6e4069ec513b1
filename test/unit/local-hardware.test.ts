import { describe, expect, it } from 'vitest'
import type { HardwareProfile } from '../../shared/hardware'
import { LocalHardware } from '../../electron/core/local-hardware'
import type { DetectOptions } from '../../electron/core/hardware/detect'
import { createLogger } from '../../electron/core/util/logger'

const logger = createLogger('hardware-test', { level: 'error' })
const PROFILE: HardwareProfile = { gpus: [], cpu: { brand: 'Test CPU', cores: 8 }, memoryMB: 16_384, os: 'linux' }

/** A detection that counts its runs and finishes when the test says so. */
function countingDetect() {
  const calls: DetectOptions[] = []
  let finish: () => void = () => {}
  const detect = (options: DetectOptions) => {
    calls.push(options)
    return new Promise<HardwareProfile>((resolve, reject) => {
      finish = () => resolve(PROFILE)
      options.signal?.addEventListener('abort', () => reject(options.signal?.reason), { once: true })
    })
  }
  return { calls, detect, finish: () => finish() }
}

describe('LocalHardware', () => {
  it('detects at start by default (a serving node advertises what it found)', async () => {
    const probe = countingDetect()
    const hardware = new LocalHardware({ logger }, { detect: probe.detect })
    const started = hardware.start()
    probe.finish()
    await started
    expect(probe.calls).toHaveLength(1)
    expect(hardware.profile).toEqual(PROFILE)
  })

  it('lazy: starts without detecting, then detects once for every caller that asks', async () => {
    const probe = countingDetect()
    const hardware = new LocalHardware({ logger }, { lazy: true, detect: probe.detect })
    await hardware.start()
    expect(probe.calls).toHaveLength(0)
    const asked = [hardware.detected(), hardware.detected()]
    probe.finish()
    expect(await Promise.all(asked)).toEqual([PROFILE, PROFILE])
    expect(await hardware.detected()).toEqual(PROFILE)
    expect(probe.calls).toHaveLength(1)
  })

  it('stop aborts a detection in flight and leaves the CPU-only profile', async () => {
    const probe = countingDetect()
    const hardware = new LocalHardware({ logger }, { lazy: true, detect: probe.detect })
    await hardware.start()
    const asked = hardware.detected()
    await hardware.stop()
    expect((await asked).gpus).toEqual([])
    expect((await asked).cpu.cores).toBe(0)
    expect(probe.calls[0].signal?.aborted).toBe(true)
  })
})
