import si from 'systeminformation'
import { type HardwareProfile, HardwareProfileSchema } from '../../../shared/hardware'
import type { Logger } from '../util/logger'
import type { AbortOptions } from '../util/startable'
import { detectDockerGpu } from './docker-gpu'
import type { EngineInfoSource } from '../util/docker-info'
import { normaliseGpus } from './gpus'
import { normaliseVendor } from './vendor'
import { nvidiaSummary, rocmSmi, rocmVersion } from './vendor-tools'

export interface DetectOptions extends AbortOptions {
  /** how long a vendor tool may take (default 5 s) */
  toolTimeoutMs?: number
  logger?: Logger
  /** Where to ask about Docker GPU support; the engine DOCKER_HOST names (or the local socket) when absent, skipped when null. */
  docker?: EngineInfoSource | null
}

async function race<T>(promise: Promise<T>, signal: AbortSignal | undefined): Promise<T> {
  if (!signal) return promise
  signal.throwIfAborted()
  return new Promise<T>((resolve, reject) => {
    const onAbort = (): void => reject(signal.reason)
    signal.addEventListener('abort', onAbort, { once: true })
    promise.then(resolve, reject).finally(() => signal.removeEventListener('abort', onAbort))
  })
}

function osName(os: Awaited<ReturnType<typeof si.osInfo>>): string {
  const distro = [os.distro, os.release].filter(Boolean).join(' ')
  const kernel = [os.platform, os.kernel, os.arch].filter(Boolean).join(' ')
  return (distro ? `${distro} (${kernel})` : kernel).slice(0, 128)
}

function cpuProfile(cpu: Awaited<ReturnType<typeof si.cpu>>): HardwareProfile['cpu'] {
  const brand = [cpu.manufacturer, cpu.brand].filter(Boolean).join(' ').replace(/\s+/g, ' ').trim()
  const profile: HardwareProfile['cpu'] = { brand: (brand || 'Unknown CPU').slice(0, 128), cores: cpu.cores }
  if (cpu.physicalCores > 0) profile.physicalCores = cpu.physicalCores
  if (cpu.speed > 0) profile.speedGHz = cpu.speed
  return profile
}

/**
 * What this machine has: every GPU (NVIDIA, AMD, Intel, Apple; none on a CPU-only host), CPU, RAM,
 * OS and whether Docker can hand a GPU to a container. Missing tools mean missing details, not errors.
 */
export async function detectHardware(options: DetectOptions = {}): Promise<HardwareProfile> {
  const { signal } = options
  const tool = { signal, timeoutMs: options.toolTimeoutMs }
  const docker = options.docker === null ? undefined : detectDockerGpu(options.docker, { signal })
  docker?.catch(() => {}) // awaited below; rejects only on abort, which surfaces there
  // systeminformation runs nvidia-smi synchronously, so a hung driver would freeze the whole
  // process: ask it ourselves first, with a timeout, and leave GPU detection out if it hangs.
  const [nvidia, cpu, mem, os] = await race(Promise.all([nvidiaSummary(tool), si.cpu(), si.mem(), si.osInfo()]), signal)
  let controllers: Awaited<ReturnType<typeof si.graphics>>['controllers'] = []
  if (nvidia?.hung) {
    options.logger?.warn('nvidia-smi did not answer in time; GPUs are left out of the hardware profile')
  } else {
    controllers = (await race(si.graphics(), signal))?.controllers ?? []
  }
  const memoryMB = Math.round(mem.total / 1024 / 1024)
  const hasAmd = controllers.some((c) => normaliseVendor(c.vendor, c.vendorId) === 'AMD')
  const [rocm, rocmRelease, dockerSupport] = await Promise.all([
    hasAmd ? rocmSmi(tool) : undefined,
    hasAmd ? rocmVersion() : undefined,
    docker
  ])
  signal?.throwIfAborted()

  const profile: HardwareProfile = {
    gpus: normaliseGpus(controllers, {
      nvidia: nvidia?.hung ? undefined : nvidia,
      rocm,
      rocmVersion: rocmRelease,
      memoryMB
    }),
    cpu: cpuProfile(cpu),
    memoryMB,
    os: osName(os)
  }
  if (dockerSupport) profile.docker = dockerSupport
  return HardwareProfileSchema.parse(profile)
}
