import { describe, expect, it } from 'vitest'
import { formatHardware } from '../../electron/core/hardware/format'
import type { HardwareProfile } from '../../shared/hardware'

describe('formatHardware', () => {
  it('prints GPUs, CPU, memory, Docker and the measured speed per model', () => {
    const profile: HardwareProfile = {
      gpus: [
        {
          vendor: 'NVIDIA',
          model: 'NVIDIA GeForce RTX 4090',
          vramMB: 24564,
          vramFreeMB: 22923,
          driver: '550.54.15',
          cudaVersion: '12.4',
          utilizationPercent: 4,
          temperatureC: 38,
          bus: '01:00.0'
        },
        { vendor: 'Intel', model: 'Intel UHD Graphics 770', vramMB: 0, integrated: true, sharedMemoryMB: 32768 }
      ],
      cpu: { brand: 'Intel Core™ i9-13900K', cores: 32, physicalCores: 24, speedGHz: 3 },
      memoryMB: 65536,
      os: 'Ubuntu 22.04 (linux 6.5.0 x64)',
      docker: { available: true, gpuRuntime: true, version: '26.1.4' }
    }
    const text = formatHardware(profile, {
      'meshwork-tiny': {
        decodeTokensPerSecond: 812.4,
        prefillTokensPerSecond: 5120.33,
        ttftMs: 41.2,
        gflops: 0.31,
        runs: 5,
        spread: 0.04
      }
    })
    expect(text.split('\n')).toEqual([
      'GPU:       NVIDIA GeForce RTX 4090, 24 GB VRAM (22.4 GB free), driver 550.54.15, CUDA 12.4, 4% busy, 38°C',
      '           Intel UHD Graphics 770, shared memory up to 32 GB',
      'CPU:       Intel Core™ i9-13900K, 24 cores / 32 threads @ 3 GHz',
      'Memory:    64 GB',
      'OS:        Ubuntu 22.04 (linux 6.5.0 x64)',
      'Docker:    engine 26.1.4, nvidia runtime',
      'Benchmark:',
      '  meshwork-tiny  decode 812.4 tok/s (±2% over 5 runs), prefill 5,120.3 tok/s, first token 41 ms, 0.31 GFLOPS'
    ])
  })

  it('says so when there is no GPU and nothing is measured', () => {
    const text = formatHardware({
      gpus: [],
      cpu: { brand: 'AMD EPYC', cores: 2 },
      memoryMB: 24105,
      os: 'Debian GNU/Linux 12 (linux x64)',
      docker: { available: false }
    })
    expect(text).toContain('GPU:       none (CPU only)')
    expect(text).toContain('CPU:       AMD EPYC, 2 cores')
    expect(text).toContain('Memory:    23.5 GB')
    expect(text).toContain('Docker:    not available')
    expect(text).toContain('Benchmark: not measured yet')
  })
})
