import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { ensureBenchmarks } from '../../electron/core/runtime/benchmark/benchmark-cache'
import { detectHardware } from '../../electron/core/hardware/detect'
import { formatHardware } from '../../electron/core/hardware/format'
import { ensureBuiltinModel } from '../../electron/core/runtime/models'
import type { ProgressEvent } from '../../electron/core/runtime/types'
import type { HardwareProfile } from '../../shared/hardware'
import type { ServedModel } from '../../shared/models'
import { killAllWorkers, startWorker, type RunningWorker } from './worker-helpers'

// The built-in model through the real worker process (node-llama-cpp on the CPU), measured the
// way a provider measures itself before advertising.
const dir = mkdtempSync(join(tmpdir(), 'meshwork-benchw-'))
let worker: RunningWorker
let model: ServedModel
let hardware: HardwareProfile

beforeAll(async () => {
  const resolved = await ensureBuiltinModel('meshwork-tiny', join(dir, 'models'))
  model = { name: resolved.name, sha256: resolved.sha256, params: resolved.params }
  worker = await startWorker(['--model', `meshwork-tiny=${resolved.path}`, '--port', '0', '--threads', '1'])
  hardware = await detectHardware({ docker: null })
})

afterAll(() => {
  killAllWorkers()
  rmSync(dir, { recursive: true, force: true })
})

describe('benchmark of meshwork-tiny through the real worker', () => {
  it('measures prefill, decode, TTFT and GFLOPS from the worker timings, then serves them from the cache', async () => {
    const events: ProgressEvent[] = []
    const options = {
      dataDir: dir,
      endpoint: worker.base,
      runtimeKind: 'process',
      hardware,
      models: [model],
      runs: 5,
      onProgress: (e: ProgressEvent) => events.push(e)
    }
    const result = await ensureBenchmarks(options)
    const b = result['meshwork-tiny']
    expect(b).toBeDefined()
    expect(b.method).toBe('timings')
    expect(b.runs).toBe(5)
    expect(b.decodeTokensPerSecond).toBeGreaterThan(0)
    expect(b.prefillTokensPerSecond).toBeGreaterThan(0)
    expect(b.ttftMs).toBeGreaterThan(0)
    expect(b.gflops).toBeCloseTo((2 * model.params * b.decodeTokensPerSecond) / 1e9, 2)
    expect(events.at(-1)).toMatchObject({ task: 'benchmark:meshwork-tiny', fraction: 1 })
    console.log(`meshwork-tiny (${model.params} params) on this host:\n${formatHardware(hardware, result)}`)

    const started = Date.now()
    const again = await ensureBenchmarks(options)
    expect(again).toEqual(result)
    expect(Date.now() - started).toBeLessThan(500)
  })
})
