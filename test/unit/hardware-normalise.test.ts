import type { Systeminformation } from 'systeminformation'
import { describe, expect, it } from 'vitest'
import { normaliseGpus } from '../../electron/core/hardware/gpus'
import { normaliseModel, normaliseVendor } from '../../electron/core/hardware/vendor'
import { parseNvidiaSmiTable, parseRocmSmi } from '../../electron/core/hardware/vendor-tools'

type Controller = Systeminformation.GraphicsControllerData

// Controllers shaped as systeminformation's macOS and Windows parsers return them (those parsers
// need system_profiler / PowerShell, which do not exist here; the Linux path is tested end to end).
const base = { bus: '', vram: null, vramDynamic: false } as const

describe('GPU normalisation', () => {
  it('Apple Silicon: integrated, unified memory shared', () => {
    const apple: Controller = {
      ...base,
      vendor: 'Apple',
      model: 'Apple M2 Max',
      bus: 'Built-In',
      vramDynamic: true,
      vendorId: 'sppci_vendor_Apple',
      cores: 38
    }
    expect(normaliseGpus([apple], { memoryMB: 32768 })).toEqual([
      { vendor: 'Apple', model: 'Apple M2 Max', vramMB: 0, integrated: true, sharedMemoryMB: 24576 }
    ])
  })

  it('Intel Mac with a Radeon: discrete first, then the iGPU', () => {
    const igpu: Controller = {
      ...base,
      vendor: 'Intel',
      model: 'Intel UHD Graphics 630',
      bus: 'Built-In',
      vramDynamic: true,
      vram: 1536
    }
    const radeon: Controller = { ...base, vendor: 'AMD', model: 'AMD Radeon Pro 5500M', bus: 'PCIe', vram: 8192 }
    const gpus = normaliseGpus([igpu, radeon], { memoryMB: 16384 })
    expect(gpus.map((g) => [g.model, g.vramMB, g.integrated ?? false])).toEqual([
      ['AMD Radeon Pro 5500M', 8192, false],
      ['Intel UHD Graphics 630', 0, true]
    ])
  })

  it('Windows NVIDIA (merged by sub-device id, no lspci bus address)', () => {
    const win: Controller = {
      ...base,
      vendor: 'NVIDIA',
      model: 'NVIDIA GeForce RTX 4090',
      vram: 24564,
      pciBus: '00000000:01:00.0',
      driverVersion: '551.86',
      memoryTotal: 24564,
      memoryFree: 22000,
      utilizationGpu: 7,
      temperatureGpu: 45
    }
    expect(normaliseGpus([win], { memoryMB: 65536, nvidia: { cudaVersion: '12.4', gpus: [] } })).toEqual([
      {
        vendor: 'NVIDIA',
        model: 'NVIDIA GeForce RTX 4090',
        vramMB: 24564,
        vramFreeMB: 22000,
        driver: '551.86',
        cudaVersion: '12.4',
        utilizationPercent: 7,
        temperatureC: 45,
        bus: '00000000:01:00.0'
      }
    ])
  })

  it('drops hypervisor and BMC adapters', () => {
    const adapters: Controller[] = [
      { ...base, vendor: 'VMware', model: 'SVGA II Adapter', busAddress: '00:0f.0' },
      { ...base, vendor: 'Microsoft Corporation', model: 'Hyper-V virtual VGA', busAddress: '00:08.0' },
      {
        ...base,
        vendor: 'Matrox Electronics Systems Ltd.',
        model: 'Integrated Matrox G200eW3 Graphics Controller',
        busAddress: '03:00.0'
      },
      { ...base, vendor: 'Red Hat, Inc.', model: 'Virtio 1.0 GPU', busAddress: '00:01.0' }
    ]
    expect(normaliseGpus(adapters, { memoryMB: 4096 })).toEqual([])
  })

  it('vendor and model names', () => {
    expect(normaliseVendor('Advanced Micro Devices, Inc. [AMD/ATI]')).toBe('AMD')
    expect(normaliseVendor('NVIDIA Corporation')).toBe('NVIDIA')
    expect(normaliseVendor('Intel Corporation')).toBe('Intel')
    expect(normaliseVendor('', '0x10de')).toBe('NVIDIA')
    expect(normaliseVendor('Moore Threads Technology Co.,Ltd')).toBe('Moore Threads Technology Co.,Ltd')
    expect(normaliseModel('NVIDIA', 'AD102 [GeForce RTX 4090]')).toBe('NVIDIA GeForce RTX 4090')
    expect(normaliseModel('Intel', 'DG2 [Arc A770]')).toBe('Intel Arc A770')
    expect(normaliseModel('NVIDIA', 'NVIDIA H100 80GB HBM3')).toBe('NVIDIA H100 80GB HBM3')
  })
})

describe('vendor tool output', () => {
  it('rocm-smi JSON with the capitalisation of older releases', () => {
    const info = parseRocmSmi(
      JSON.stringify({
        card0: {
          'Card series': 'Vega 20 [Radeon VII]',
          'PCI Bus': '0000:0A:00.0',
          'VRAM Total Memory (B)': '17163091968',
          'VRAM Total Used Memory (B)': '11587584',
          'GPU use (%)': '0',
          'Temperature (Sensor junction) (C)': '36.0'
        },
        system: { 'Driver version': '5.15.0-91-generic' }
      })
    )
    expect(info).toEqual({
      driver: '5.15.0-91-generic',
      cards: [
        {
          bus: '0000:0a:00.0',
          model: 'Vega 20 [Radeon VII]',
          vramMB: 16368,
          vramUsedMB: 11,
          utilizationPercent: 0,
          temperatureC: 36
        }
      ]
    })
    expect(parseRocmSmi('WARNING: AMD GPU device(s) is/are in a low-power state')).toBeUndefined()
  })

  it('nvidia-smi table of an older driver (narrower columns, N/A utilisation)', () => {
    const table = [
      '| NVIDIA-SMI 470.223.02   Driver Version: 470.223.02   CUDA Version: 11.4     |',
      '|-------------------------------+----------------------+----------------------+',
      '|   0  Tesla T4            On   | 00000000:00:1E.0 Off |                    0 |',
      '| N/A   31C    P8    10W /  70W |      0MiB / 15109MiB |    N/A       Default |'
    ].join('\n')
    expect(parseNvidiaSmiTable(table)).toEqual({
      cudaVersion: '11.4',
      gpus: [{ bus: '00000000:00:1e.0', temperatureC: 31, utilizationPercent: undefined }]
    })
  })
})
