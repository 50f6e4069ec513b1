import { sleep } from '../util/startable'

/** One GET with a timeout; true when the server answered 2xx. */
export async function probe(
  url: string,
  options: { signal?: AbortSignal; timeoutMs?: number } = {}
): Promise<{ ok: boolean; status?: number; body?: unknown; error?: string }> {
  const signal = AbortSignal.any([
    AbortSignal.timeout(options.timeoutMs ?? 2000),
    ...(options.signal ? [options.signal] : [])
  ])
  try {
    const response = await fetch(url, { signal, headers: { accept: 'application/json' } })
    const text = await response.text()
    let body: unknown
    try {
      body = text.length > 0 && text.length < 1 << 20 ? JSON.parse(text) : undefined
    } catch {
      body = undefined
    }
    return { ok: response.ok, status: response.status, body }
  } catch (err) {
    if (options.signal?.aborted) throw err
    const cause = (err as { cause?: { code?: string } }).cause
    return { ok: false, error: cause?.code ?? (err as Error).message }
  }
}

/** Polls `<base>/health` until it answers `{status:"ok"}`; `gone()` lets the caller stop early when the worker died. */
export async function waitForHealth(
  baseUrl: string,
  options: { signal?: AbortSignal; timeoutMs?: number; gone?: () => string | undefined } = {}
): Promise<void> {
  const deadline = Date.now() + (options.timeoutMs ?? 60_000)
  let last = 'no answer'
  for (let delay = 50; Date.now() < deadline; delay = Math.min(delay * 2, 500)) {
    const reason = options.gone?.()
    if (reason !== undefined) throw new Error(`The worker exited before it was ready: ${reason}`)
    const result = await probe(`${baseUrl}/health`, { signal: options.signal, timeoutMs: 2000 })
    if (result.ok && (result.body as { status?: unknown } | undefined)?.status === 'ok') return
    last = result.error ?? `HTTP ${result.status}`
    await sleep(delay, options)
  }
  throw new Error(`The worker at ${baseUrl} was not healthy within ${options.timeoutMs ?? 60_000} ms (${last})`)
}
