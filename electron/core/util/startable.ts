/** A service with a lifecycle; createNode starts services in order and stops them in reverse. */
export interface Startable {
  start(): Promise<void>
  stop(): Promise<void>
}

export interface AbortOptions {
  signal?: AbortSignal
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
