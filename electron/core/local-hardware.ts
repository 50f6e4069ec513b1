import type { HardwareProfile } from '../../shared/hardware'
import { type DetectOptions, detectHardware } from './hardware/detect'
import type { Logger } from './util/logger'
import type { AbortOptions, Startable } from './util/startable'

export interface LocalHardwareComponents {
  logger: Logger
}

export interface LocalHardwareInit {
  /** Detection gives up after this long and the profile lists no GPU (default 15 s). */
  timeoutMs?: number
  /**
   * Detect on first need (`detected()`) instead of at start. A node that serves nothing advertises
   * no hardware and only shows it; detecting runs about 40 tools and costs about a second of CPU,
   * which 30 nodes joining at once on two cores spent before they could dial anyone.
   */
  lazy?: boolean
  /** For tests: the detection to run (default detectHardware). */
  detect?: (options: DetectOptions) => Promise<HardwareProfile>
}

/** This machine's hardware, detected once; a failed detection leaves a CPU-only profile. */
export class LocalHardware implements Startable {
  profile: HardwareProfile = { gpus: [], cpu: { brand: 'unknown', cores: 0 }, memoryMB: 0, os: process.platform }
  private detection: Promise<HardwareProfile> | undefined
  private stopping = new AbortController()

  constructor(
    private readonly components: LocalHardwareComponents,
    private readonly init: LocalHardwareInit = {}
  ) {}

  async start(options: AbortOptions = {}): Promise<void> {
    this.stopping = new AbortController()
    if (this.init.lazy) return
    await this.detected(options)
    options.signal?.throwIfAborted()
  }

  /** The profile, detected first unless that already happened (concurrent callers share one run). */
  detected(options: AbortOptions = {}): Promise<HardwareProfile> {
    this.detection ??= this.detect(options.signal)
    return this.detection
  }

  async stop(): Promise<void> {
    this.stopping.abort()
    await this.detection
  }

  private async detect(startSignal?: AbortSignal): Promise<HardwareProfile> {
    const signals = [this.stopping.signal, AbortSignal.timeout(this.init.timeoutMs ?? 15_000)]
    const signal = AbortSignal.any(startSignal ? [...signals, startSignal] : signals)
    try {
      this.profile = await (this.init.detect ?? detectHardware)({ signal, logger: this.components.logger })
    } catch (err) {
      if (!this.stopping.signal.aborted && !startSignal?.aborted)
        this.components.logger.warn('hardware detection failed; the profile lists no GPU', { err })
    }
    return this.profile
  }
}
