import type { HardwareProfile } from '../../../shared/hardware'
import { type EngineInfoSource, engineInfoSource } from '../util/docker-info'
import type { AbortOptions } from '../util/startable'

export type DockerGpuSupport = NonNullable<HardwareProfile['docker']>

/** The part of `docker.info()` we read. */
interface EngineInfo {
  ServerVersion?: unknown
  Runtimes?: unknown
}

const INFO_TIMEOUT_MS = 3_000

/**
 * Whether a Docker engine answers and lists an `nvidia` runtime (nvidia-container-toolkit).
 * No engine is a normal answer (`available: false`), never an error.
 */
export async function detectDockerGpu(
  source?: EngineInfoSource,
  options: AbortOptions = {}
): Promise<DockerGpuSupport> {
  const signals = [AbortSignal.timeout(INFO_TIMEOUT_MS)]
  if (options.signal) signals.push(options.signal)
  try {
    source ??= engineInfoSource()
    const info = (await source.info({ abortSignal: AbortSignal.any(signals) })) as EngineInfo
    const runtimes = info.Runtimes && typeof info.Runtimes === 'object' ? Object.keys(info.Runtimes) : []
    const result: DockerGpuSupport = { available: true, gpuRuntime: runtimes.some((name) => /^nvidia/.test(name)) }
    if (typeof info.ServerVersion === 'string') result.version = info.ServerVersion.slice(0, 64)
    return result
  } catch {
    options.signal?.throwIfAborted()
    return { available: false }
  }
}
