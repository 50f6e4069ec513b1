import type { HardwareProfile } from '../../shared/hardware'
import { detectHardware } from './hardware/detect'
import type { Logger } from './util/logger'
import type { AbortOptions, Startable } from './util/startable'

export interface LocalHardwareComponents {
  logger: Logger
}

export interface LocalHardwareInit {
  /** Detection gives up after this long and the node advertises a CPU-only profile (default 15 s). */
  timeoutMs?: number
}

/** This machine's hardware, detected once at start; a failed detection leaves a CPU-only profile. */
export class LocalHardware implements Startable {
  profile: HardwareProfile = { gpus: [], cpu: { brand: 'unknown', cores: 0 }, memoryMB: 0, os: process.platform }

  constructor(
    private readonly components: LocalHardwareComponents,
    private readonly init: LocalHardwareInit = {}
  ) {}

  async start(options: AbortOptions = {}): Promise<void> {
    const timeout = AbortSignal.timeout(this.init.timeoutMs ?? 15_000)
    const signal = options.signal ? AbortSignal.any([options.signal, timeout]) : timeout
    try {
      this.profile = await detectHardware({ signal, logger: this.components.logger })
    } catch (err) {
      options.signal?.throwIfAborted()
      this.components.logger.warn('hardware detection failed; advertising a CPU-only profile', { err })
    }
  }

  async stop(): Promise<void> {}
}
