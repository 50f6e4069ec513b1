export interface AbortOptions {
  signal?: AbortSignal
}

/**
 * A service with a lifecycle (the js-libp2p shape). The node keeps its services in one ordered list:
 * started in order, stopped in reverse (see util/lifecycle.ts). On stop, every `beforeStop` runs first
 * (stop taking new work), then every `stop` (drain, bounded by the signal, then release), then every
 * `afterStop`. The signal of a stop is the deadline for graceful work: a service that waits for work
 * to finish stops waiting when it aborts, and still releases what it holds.
 */
export interface Startable {
  start(options?: AbortOptions): Promise<void>
  stop(options?: AbortOptions): Promise<void>
  beforeStop?(options?: AbortOptions): Promise<void>
  afterStop?(options?: AbortOptions): Promise<void>
}

/** Resolves after `ms`, or rejects early when `signal` aborts. */
export async function sleep(ms: number, options: AbortOptions = {}): Promise<void> {
  const { signal } = options
  signal?.throwIfAborted()
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(done, ms)
    function done(): void {
      signal?.removeEventListener('abort', onAbort)
      resolve()
    }
    function onAbort(): void {
      clearTimeout(timer)
      reject(signal?.reason)
    }
    signal?.addEventListener('abort', onAbort, { once: true })
  })
}
