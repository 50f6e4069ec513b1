export interface WaitOptions {
  /** Poll period in ms (default 100). */
  intervalMs?: number
  /** What is awaited, for the timeout message. */
  what?: string
  /** The state that explains a timeout (asked only then). */
  state?: () => string | Promise<string>
}

type Reached<T> = Exclude<T, undefined | null | false>

/**
 * Polls `probe` until it returns something other than undefined, null or false, for at most
 * `timeoutMs`, and resolves with that value. A probe that throws counts as "not yet". Throws on
 * timeout, saying what was awaited and, when given, the state that explains it.
 */
export async function waitFor<T>(
  probe: () => T | Promise<T>,
  timeoutMs: number,
  options: WaitOptions = {}
): Promise<Reached<T>> {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    const value = await Promise.resolve()
      .then(probe)
      .catch(() => undefined)
    if (value !== undefined && value !== null && value !== false) return value as Reached<T>
    if (Date.now() >= deadline) break
    await new Promise((r) => setTimeout(r, options.intervalMs ?? 100))
  }
  const state = options.state
    ? `: ${await Promise.resolve()
        .then(options.state)
        .catch((err: Error) => err.message)}`
    : ''
  throw new Error(`timed out after ${timeoutMs} ms waiting for ${options.what ?? 'the condition'}${state}`)
}
