// Routing bench: what the mesh costs compared with calling a worker directly, and how long a
// client waits when its provider is SIGKILLed mid-stream. Real `meshwork start` processes on
// loopback: providers with the process runtime, a router with --no-serve, this process the client.
import { metricsOf, sampleValue } from './node-metrics'
import { cpuSeconds } from './proc-stats'
import { type BenchNode, startProviderNode, startRouterNode, stopBenchNodes, waitProviders } from './routing-nodes'
import { type BenchContext, type Log, type Measured, quantile, round } from './stats'

const LATENCY_RUNS = Number(process.env.MESHWORK_BENCH_LATENCY_RUNS ?? 300)
const THROUGHPUT_RUNS = 5
const THROUGHPUT_TOKENS = 1024

type Provider = BenchNode & { endpoint: string; endpointHeaders: Record<string, string> }

async function post(url: string, body: unknown, headers: Record<string, string> = {}): Promise<Response> {
  return fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: JSON.stringify(body)
  })
}

/** One non-streamed completion, read to the end; a failed one must not be timed as if it were fast. */
async function complete(url: string, body: unknown, headers: Record<string, string> = {}): Promise<void> {
  const res = await post(url, body, headers)
  const text = await res.text()
  if (!res.ok) throw new Error(`completion failed: ${res.status} ${text.slice(0, 300)}`)
}

/**
 * Streams a completion; returns who served it, the arrival time (ms) and length of every chunk with
 * text, and the completion's token count (a chunk may carry several tokens: the mesh joins tokens
 * that arrive together). `onChunk` gets the characters received so far.
 */
async function streamTimes(
  url: string,
  body: Record<string, unknown>,
  onChunk?: (chars: number, provider: string) => void,
  headers: Record<string, string> = {}
): Promise<{ provider: string; times: number[]; chars: number[]; tokens?: number }> {
  const res = await post(url, { ...body, stream: true, stream_options: { include_usage: true } }, headers)
  if (!res.ok || !res.body) throw new Error(`stream failed: ${res.status} ${await res.text()}`)
  const provider = res.headers.get('x-meshwork-provider') ?? ''
  const times: number[] = []
  const chars: number[] = []
  let received = 0
  let tokens: number | undefined
  const decoder = new TextDecoder()
  let buffer = ''
  for await (const bytes of res.body) {
    buffer += decoder.decode(bytes, { stream: true })
    let at: number
    while ((at = buffer.indexOf('\n\n')) >= 0) {
      const event = buffer.slice(0, at)
      buffer = buffer.slice(at + 2)
      if (!event.startsWith('data: ') || event === 'data: [DONE]') continue
      const chunk = JSON.parse(event.slice(6)) as {
        choices?: Array<{ text?: string }>
        usage?: { completion_tokens?: number }
        error?: { message: string }
      }
      if (chunk.error) throw new Error(`stream error: ${chunk.error.message}`)
      if (chunk.usage?.completion_tokens !== undefined) tokens = chunk.usage.completion_tokens
      const text = chunk.choices?.[0]?.text
      if (text) {
        times.push(performance.now())
        chars.push(text.length)
        received += text.length
        onChunk?.(received, provider)
      }
    }
  }
  return { provider, times, chars, tokens }
}

/** Tokens per second after the first chunk (tokens from usage, shared out by characters). */
function tokenRate(r: Awaited<ReturnType<typeof streamTimes>>): number {
  const total = r.chars.reduce((a, b) => a + b, 0)
  const after = total - (r.chars[0] ?? 0)
  const tokensAfter = r.tokens === undefined ? r.times.length - 1 : (r.tokens * after) / total
  return (tokensAfter * 1000) / (r.times.at(-1)! - r.times[0])
}

async function mesh(model: string, providers: number): Promise<{ router: BenchNode; list: Provider[] }> {
  const first = await startProviderNode(model)
  const list = [first]
  for (let i = 1; i < providers; i++) list.push(await startProviderNode(model, [first.multiaddr]))
  const router = await startRouterNode([first.multiaddr], model, providers)
  return { router, list }
}

async function addedLatency(router: BenchNode, list: Provider[], log: Log, out: Measured): Promise<void> {
  {
    const body = { model: 'meshwork-tiny', prompt: 'ping', max_tokens: 1, temperature: 0 }
    const direct: number[] = []
    const routed: number[] = []
    for (let i = 0; i < 20; i++) {
      await complete(list[0].endpoint + '/v1/completions', body, list[0].endpointHeaders)
      await complete(router.apiUrl + '/v1/completions', body)
    }
    // the direct calls reach the runtime's worker alone: the two nodes' CPU is the routed calls'
    const cpuBefore = [cpuSeconds(router.proc.pid!), cpuSeconds(list[0].proc.pid!)]
    for (let i = 0; i < LATENCY_RUNS; i++) {
      let t = performance.now()
      await complete(list[0].endpoint + '/v1/completions', body, list[0].endpointHeaders)
      direct.push(performance.now() - t)
      t = performance.now()
      await complete(router.apiUrl + '/v1/completions', body)
      routed.push(performance.now() - t)
    }
    const [routerCpu, providerCpu] = [router, list[0]].map(
      (node, k) => ((cpuSeconds(node.proc.pid!) - cpuBefore[k]) * 1000) / LATENCY_RUNS
    )
    out['routing.routerCpuMsPerRequest'] = round(routerCpu)
    out['routing.providerCpuMsPerRequest'] = round(providerCpu)
    out['routing.direct_ms_p50'] = round(quantile(direct, 0.5))
    out['routing.mesh_ms_p50'] = round(quantile(routed, 0.5))
    out['routing.added_latency_ms_p50'] = round(quantile(routed, 0.5) - quantile(direct, 0.5))
    out['routing.added_latency_ms_p99'] = round(quantile(routed, 0.99) - quantile(direct, 0.99))
    out['routing.overheadP50Ms'] = out['routing.added_latency_ms_p50']
    out['routing.overheadP99Ms'] = out['routing.added_latency_ms_p99']
    log(
      `added latency: p50 ${out['routing.added_latency_ms_p50']} ms, p99 ${out['routing.added_latency_ms_p99']} ms (direct p50 ${out['routing.direct_ms_p50']} ms); ` +
        `CPU per routed request: router ${out['routing.routerCpuMsPerRequest']} ms, provider ${out['routing.providerCpuMsPerRequest']} ms`
    )
  }
}

/** Streaming meshwork-tiny, the fastest stream: mesh tokens/s over direct tokens/s, alternated. */
async function throughput(router: BenchNode, list: Provider[], log: Log, out: Measured): Promise<void> {
  {
    const body = { model: 'meshwork-tiny', prompt: 'The history of', max_tokens: THROUGHPUT_TOKENS, temperature: 0 }
    const direct: number[] = []
    const routed: number[] = []
    await streamTimes(
      list[0].endpoint + '/v1/completions',
      { ...body, max_tokens: 16 },
      undefined,
      list[0].endpointHeaders
    )
    for (let i = 0; i < THROUGHPUT_RUNS; i++) {
      direct.push(
        tokenRate(await streamTimes(list[0].endpoint + '/v1/completions', body, undefined, list[0].endpointHeaders))
      )
      routed.push(tokenRate(await streamTimes(router.apiUrl + '/v1/completions', body)))
    }
    const d = quantile(direct, 0.5)
    const m = quantile(routed, 0.5)
    out['routing.stream_tokens_per_s_direct'] = round(d, 1)
    out['routing.stream_tokens_per_s_mesh'] = round(m, 1)
    out['routing.throughputRatio'] = round(m / d, 3)
    log(`streaming meshwork-tiny: direct ${round(d, 1)} tok/s, mesh ${round(m, 1)} tok/s, ratio ${round(m / d, 3)}`)
  }
}

async function failoverGap(runs: number, log: Log, out: Measured): Promise<void> {
  const { router, list } = await mesh('meshwork-tiny', 2)
  const clientGaps: number[] = []
  try {
    for (let i = 0; i < runs; i++) {
      const body = { model: 'meshwork-tiny', prompt: `Story number ${i}:`, max_tokens: 1500, temperature: 0 }
      let killedAt = 0
      let victim: BenchNode | undefined
      // about 100 tokens in (chunks may carry several tokens)
      const { times } = await streamTimes(router.apiUrl + '/v1/completions', body, (chars, provider) => {
        if (victim !== undefined || chars < 400) return
        victim = list.find((p) => p.peerId === provider)
        killedAt = performance.now()
        void victim?.kill('SIGKILL')
      })
      if (victim === undefined) throw new Error('the stream ended before the kill')
      // chunks already in flight arrive right after the kill: the gap is the longest silence after it
      let gap = 0
      for (let k = 1; k < times.length; k++) if (times[k] > killedAt) gap = Math.max(gap, times[k] - times[k - 1])
      clientGaps.push(gap)
      list.splice(list.indexOf(victim as (typeof list)[number]), 1)
      list.push(await startProviderNode('meshwork-tiny', [list[0].multiaddr]))
      await waitProviders(router, 'meshwork-tiny', 2)
    }
    out['routing.failover_gap_ms_p50'] = round(quantile(clientGaps, 0.5), 1)
    out['routing.failover_gap_ms_p95'] = round(quantile(clientGaps, 0.95), 1)
    out['failover.midStreamGapP95Ms'] = out['routing.failover_gap_ms_p95']
    const metrics = await metricsOf(router)
    const failovers = [...metrics.matchAll(/meshwork_failovers_total\{[^}]*phase="mid_stream"\} (\d+)/g)].reduce(
      (n, m) => n + Number(m[1]),
      0
    )
    out['routing.failovers_mid_stream'] = failovers
    const sum = sampleValue(metrics, 'meshwork_failover_gap_seconds_sum')
    const count = sampleValue(metrics, 'meshwork_failover_gap_seconds_count')
    if (count > 0 && !Number.isNaN(sum)) out['routing.failover_gap_router_ms_mean'] = round((sum * 1000) / count, 1)
    log(
      `mid-stream failover after SIGKILL (${clientGaps.length} runs): client-seen gap p50 ${out['routing.failover_gap_ms_p50']} ms, p95 ${out['routing.failover_gap_ms_p95']} ms`
    )
  } finally {
    await stopBenchNodes()
  }
}

export async function routingBench(ctx: BenchContext): Promise<Measured> {
  const out: Measured = {}
  const { router, list } = await mesh('meshwork-tiny', 1)
  try {
    await addedLatency(router, list, ctx.log, out)
    await throughput(router, list, ctx.log, out)
  } finally {
    await stopBenchNodes()
  }
  await failoverGap(ctx.full ? 30 : 10, ctx.log, out)
  return out
}
