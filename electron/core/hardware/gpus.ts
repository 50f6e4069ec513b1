import type { Systeminformation } from 'systeminformation'
import type { Gpu } from '../../../shared/hardware'
import type { NvidiaSummary, RocmInfo } from './vendor-tools'
import { isIntegrated, isVirtualAdapter, normaliseModel, normaliseVendor } from './vendor'

export interface GpuExtras {
  nvidia?: NvidiaSummary
  rocm?: RocmInfo
  rocmVersion?: string
  /** Total system memory, for what integrated GPUs may borrow. */
  memoryMB: number
}

type Controller = Systeminformation.GraphicsControllerData

function finite(n: number | null | undefined): number | undefined {
  return typeof n === 'number' && Number.isFinite(n) ? n : undefined
}

function clampPercent(n: number | undefined): number | undefined {
  return n === undefined ? undefined : Math.min(100, Math.max(0, n))
}

/** "00000000:2D:00.0" and "2d:00.0" name the same device. */
function sameBus(a: string | undefined, b: string | undefined): boolean {
  if (!a || !b) return false
  const x = a.toLowerCase()
  const y = b.toLowerCase()
  return x.endsWith(y) || y.endsWith(x)
}

/** Memory an integrated GPU can use: Metal allows ~75% of unified memory, i915/amdgpu half of RAM. */
function sharedMemory(vendor: string, memoryMB: number): number {
  return Math.round(memoryMB * (vendor === 'Apple' ? 0.75 : 0.5))
}

function toGpu(c: Controller, extras: GpuExtras): Gpu | undefined {
  const vendor = normaliseVendor(c.vendor, c.vendorId)
  const rawModel = c.name && c.name !== '' ? c.name : c.model
  if (vendor === '' && (rawModel ?? '') === '') return undefined
  if (isVirtualAdapter(`${c.vendor} ${vendor}`, `${rawModel} ${c.deviceId ?? ''}`)) return undefined

  const bus = c.busAddress || c.pciBus || undefined
  const rocm = vendor === 'AMD' ? extras.rocm?.cards.find((card) => sameBus(card.bus, bus)) : undefined
  const smi = vendor === 'NVIDIA' ? extras.nvidia?.gpus.find((g) => sameBus(g.bus, bus)) : undefined
  const model = normaliseModel(vendor, rocm?.model ?? rawModel)
  const integrated = isIntegrated(vendor, model, c.busAddress, c.vramDynamic === true)

  // nvidia-smi/rocm-smi report the real memory; lspci only a PCI BAR, which is no VRAM size
  let vramMB = finite(c.memoryTotal) ?? rocm?.vramMB ?? finite(c.vram) ?? 0
  if (integrated && c.memoryTotal === undefined && rocm?.vramMB === undefined) vramMB = 0
  const used = rocm?.vramUsedMB
  const vramFree =
    finite(c.memoryFree) ?? (rocm?.vramMB !== undefined && used !== undefined ? rocm.vramMB - used : undefined)

  const gpu: Gpu = { vendor: vendor.slice(0, 64), model, vramMB: Math.max(0, Math.round(vramMB)) }
  if (vramFree !== undefined) gpu.vramFreeMB = Math.max(0, Math.round(vramFree))
  const driver = c.driverVersion || (vendor === 'AMD' ? extras.rocm?.driver : undefined)
  if (driver) gpu.driver = driver.slice(0, 64)
  if (vendor === 'NVIDIA' && extras.nvidia?.cudaVersion && c.driverVersion) gpu.cudaVersion = extras.nvidia.cudaVersion
  if (vendor === 'AMD' && extras.rocmVersion && rocm) gpu.rocmVersion = extras.rocmVersion
  const util = clampPercent(finite(c.utilizationGpu) ?? smi?.utilizationPercent ?? rocm?.utilizationPercent)
  if (util !== undefined) gpu.utilizationPercent = util
  const temp = finite(c.temperatureGpu) ?? smi?.temperatureC ?? rocm?.temperatureC
  if (temp !== undefined && temp >= -50 && temp <= 200) gpu.temperatureC = temp
  if (bus) gpu.bus = bus.toLowerCase().slice(0, 64)
  if (integrated) {
    gpu.integrated = true
    gpu.sharedMemoryMB = sharedMemory(vendor, extras.memoryMB)
  }
  return gpu
}

/**
 * systeminformation's controllers → our Gpu list: vendors and models normalised, VRAM in MB from
 * the vendor tool where there is one, emulated/BMC adapters dropped, discrete GPUs first.
 */
export function normaliseGpus(controllers: Controller[], extras: GpuExtras): Gpu[] {
  const gpus = controllers.map((c) => toGpu(c, extras)).filter((g): g is Gpu => g !== undefined)
  return gpus
    .map((gpu, index) => ({ gpu, index }))
    .sort(
      (a, b) =>
        Number(a.gpu.integrated ?? false) - Number(b.gpu.integrated ?? false) ||
        b.gpu.vramMB - a.gpu.vramMB ||
        a.index - b.index
    )
    .map(({ gpu }) => gpu)
}
