import type { ModelBenchmark } from '../../../../shared/hardware'
import type { ProgressEvent } from '../types'
import type { AbortOptions } from '../../util/startable'
import { BenchmarkError, readCompletionStream } from './completion-stream'

/** Fixed text, so that runs and machines compare; a short run number in front defeats prompt caches. */
export const BENCH_PROMPT =
  'The lighthouse keeper wrote in her log every evening. She noted the wind, the height of the waves, ' +
  'the ships that passed and the birds that rested on the rail. On calm nights she added a few lines ' +
  'about the stars, the smell of salt and the sound of the bell buoy far out in the bay. Years later ' +
  'her grandson found the books in a trunk and read them aloud, one evening at a time, and this is how'

/** Runs are sized from the warm-up to last about this long (short runs are all scheduler noise)… */
export const BENCH_TARGET_RUN_MS = 1_000
/** …within these bounds on generated tokens. */
export const BENCH_MIN_TOKENS = 32
export const BENCH_MAX_TOKENS = 512
const WARMUP_TOKENS = 64

export interface BenchmarkModelInput {
  name: string
  /** parameter count, for GFLOPS = 2 · params · tokens/s */
  params: number
}

export interface BenchmarkOptions extends AbortOptions {
  /** measured runs after one warm-up; the median is reported */
  runs?: number
  /** tokens per run; by default sized from the warm-up to last about a second */
  maxTokens?: number
  /** per request */
  timeoutMs?: number
  /** Sent as `Authorization: Bearer` (the worker's per-launch token). */
  token?: string
  onProgress?: (event: ProgressEvent) => void
}

export interface RunResult {
  ttftMs: number
  prefillTokensPerSecond: number
  decodeTokensPerSecond: number
  completionTokens: number
  method: 'timings' | 'wallclock'
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b)
  const mid = Math.floor(sorted.length / 2)
  return sorted.length % 2 === 1 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2
}

const round = (n: number, digits = 2): number => Math.round(n * 10 ** digits) / 10 ** digits

/** One streamed completion at temperature 0, timed from the request to each chunk. */
export async function measureRun(
  endpoint: string,
  model: string,
  prompt: string,
  maxTokens: number,
  options: AbortOptions & { timeoutMs?: number; token?: string } = {}
): Promise<RunResult> {
  const signals = [AbortSignal.timeout(options.timeoutMs ?? 120_000)]
  if (options.signal) signals.push(options.signal)
  const signal = AbortSignal.any(signals)
  const body = {
    model,
    prompt,
    max_tokens: maxTokens,
    temperature: 0,
    stream: true,
    stream_options: { include_usage: true },
    // llama.cpp server extensions, ignored elsewhere: measure a full prefill and all max_tokens
    cache_prompt: false,
    ignore_eos: true
  }
  const started = performance.now()
  let response: Response
  try {
    response = await fetch(`${endpoint.replace(/\/+$/, '')}/v1/completions`, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        accept: 'text/event-stream',
        ...(options.token !== undefined ? { authorization: `Bearer ${options.token}` } : {})
      },
      body: JSON.stringify(body),
      signal
    })
  } catch (err) {
    options.signal?.throwIfAborted()
    throw new BenchmarkError(`Cannot reach ${endpoint}: ${(err as Error).message}`, { cause: err })
  }
  if (!response.ok || !response.body) {
    const text = await response.text().catch(() => '')
    throw new BenchmarkError(`${endpoint} answered ${response.status}: ${text.slice(0, 200)}`)
  }

  let firstAt: number | undefined
  let lastAt = started
  let textChunks = 0
  let usage: { prompt_tokens: number; completion_tokens: number } | undefined
  let timings: { prompt_n: number; prompt_ms: number; predicted_n: number; predicted_ms: number } | undefined
  try {
    await readCompletionStream(response.body, (chunk) => {
      const now = performance.now()
      if (chunk.choices?.some((c) => (c.text ?? '') !== '')) {
        firstAt ??= now
        lastAt = now
        textChunks++
      }
      if (chunk.usage) usage = chunk.usage
      if (chunk.timings) timings = chunk.timings
    })
  } catch (err) {
    options.signal?.throwIfAborted()
    if (err instanceof BenchmarkError) throw err
    throw new BenchmarkError(`The stream from ${endpoint} broke: ${(err as Error).message}`, { cause: err })
  }
  if (firstAt === undefined) throw new BenchmarkError(`${endpoint} streamed no text for model ${model}`)

  const ttftMs = firstAt - started
  const completionTokens = timings?.predicted_n ?? usage?.completion_tokens ?? textChunks
  if (timings && timings.prompt_ms > 0 && timings.predicted_ms > 0 && timings.predicted_n > 0) {
    return {
      ttftMs,
      prefillTokensPerSecond: (timings.prompt_n * 1000) / timings.prompt_ms,
      decodeTokensPerSecond: (timings.predicted_n * 1000) / timings.predicted_ms,
      completionTokens,
      method: 'timings'
    }
  }
  // Without server timings: the first token ends the prefill; the rest arrive at the decode rate.
  const decodeMs = lastAt - firstAt
  return {
    ttftMs,
    prefillTokensPerSecond: usage && ttftMs > 0 ? (usage.prompt_tokens * 1000) / ttftMs : 0,
    decodeTokensPerSecond: completionTokens > 1 && decodeMs > 0 ? ((completionTokens - 1) * 1000) / decodeMs : 0,
    completionTokens,
    method: 'wallclock'
  }
}

/**
 * Measures a model through any OpenAI-compatible endpoint (our worker, llama.cpp server, vLLM,
 * Ollama): one warm-up, then `runs` streamed completions of a fixed prompt at temperature 0.
 * Reports the median of each figure and, as `spread`, (max − min) / median of decode tokens/s.
 */
export async function benchmarkModel(
  endpoint: string,
  model: BenchmarkModelInput,
  options: BenchmarkOptions = {}
): Promise<ModelBenchmark> {
  const runs = Math.max(1, Math.min(options.runs ?? 3, 50))
  const task = `benchmark:${model.name}`
  const progress = (done: number, message: string): void =>
    options.onProgress?.({ task, fraction: done / (runs + 1), message })
  const runOptions = { signal: options.signal, timeoutMs: options.timeoutMs, token: options.token }

  progress(0, `warming up ${model.name}`)
  const warmup = await measureRun(endpoint, model.name, `Warm-up. ${BENCH_PROMPT}`, WARMUP_TOKENS, runOptions)
  const sized = Math.round((warmup.decodeTokensPerSecond * BENCH_TARGET_RUN_MS) / 1000)
  const maxTokens = options.maxTokens ?? Math.min(BENCH_MAX_TOKENS, Math.max(BENCH_MIN_TOKENS, sized))
  const results: RunResult[] = []
  for (let i = 1; i <= runs; i++) {
    progress(i, `run ${i} of ${runs}`)
    results.push(await measureRun(endpoint, model.name, `Run ${i}. ${BENCH_PROMPT}`, maxTokens, runOptions))
  }
  const decode = results.map((r) => r.decodeTokensPerSecond)
  const decodeMedian = median(decode)
  const benchmark: ModelBenchmark = {
    decodeTokensPerSecond: round(decodeMedian),
    prefillTokensPerSecond: round(median(results.map((r) => r.prefillTokensPerSecond))),
    ttftMs: round(median(results.map((r) => r.ttftMs))),
    gflops: round((2 * model.params * decodeMedian) / 1e9, 3),
    runs,
    spread: decodeMedian > 0 ? round((Math.max(...decode) - Math.min(...decode)) / decodeMedian, 4) : 0,
    measuredAt: Date.now(),
    method: results.every((r) => r.method === 'timings') ? 'timings' : 'wallclock'
  }
  options.onProgress?.({ task, fraction: 1, message: `${benchmark.decodeTokensPerSecond} tok/s decode` })
  return benchmark
}
