// Load: hundreds of concurrent streams through one router to several providers, each provider's
// runtime the bench's fake server (so two cores carry it). The same streams straight to the fake
// servers are the baseline. Counts streams lost (not complete), and the router's added time and memory.
import { FAKE_MODEL as MODEL, withFakeMesh } from './fake-mesh'
import { cpuSeconds, rssMB } from './proc-stats'
import { type BenchContext, type Measured, median, quantile, round } from './stats'

const TOKENS = 16
const TOKEN_GAP_MS = 20
const PROVIDER_CONFIG = { maxConcurrentJobs: 64, maxQueuedJobs: 1024 }
const SETTLE_AFTER_MS = 5_000

interface StreamResult {
  ok: boolean
  /** Why a stream counts as lost: `http <status>`, `error event`, `short`, or the thrown error's name. */
  lostWhy?: string
  ttftMs: number
  totalMs: number
}

/** One streamed completion: complete means HTTP 200, every token, and [DONE]. */
async function stream(url: string): Promise<StreamResult> {
  const sent = performance.now()
  let ttftMs = Number.NaN
  try {
    const res = await fetch(url + '/v1/completions', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ model: MODEL, prompt: 'load', max_tokens: TOKENS, stream: true }),
      signal: AbortSignal.timeout(120_000)
    })
    if (!res.ok || !res.body) {
      await res.arrayBuffer().catch(() => undefined)
      return { ok: false, lostWhy: `http ${res.status}`, ttftMs, totalMs: performance.now() - sent }
    }
    let text = ''
    for await (const bytes of res.body) {
      text += Buffer.from(bytes).toString()
      if (Number.isNaN(ttftMs) && text.includes('"text":" w')) ttftMs = performance.now() - sent
    }
    const words = text.match(/ w\d+/g)?.length ?? 0
    return {
      ok: words === TOKENS && text.includes('data: [DONE]') && !text.includes('"error"'),
      ttftMs,
      totalMs: performance.now() - sent
    }
  } catch {
    return { ok: false, ttftMs, totalMs: performance.now() - sent }
  }
}

async function burst(urls: string[], count: number): Promise<StreamResult[]> {
  return Promise.all(Array.from({ length: count }, (_, i) => stream(urls[i % urls.length])))
}

export async function loadBench(ctx: BenchContext): Promise<Measured> {
  const streams = ctx.full ? 1000 : 500
  const providers = ctx.full ? 16 : 8
  const setup = { providers, fake: { tokenGapMs: TOKEN_GAP_MS }, provider: { config: PROVIDER_CONFIG } }
  return withFakeMesh(setup, async ({ fakes, router }) => {
    await burst([router.apiUrl], 20)
    const direct = await burst(
      fakes.map((f) => f.url),
      streams
    )
    const rssBefore = rssMB(router.proc.pid!)
    let rssPeak = rssBefore
    const sampler = setInterval(() => (rssPeak = Math.max(rssPeak, rssMB(router.proc.pid!))), 100)
    const cpuBefore = cpuSeconds(router.proc.pid!)
    const started = performance.now()
    const mesh = await burst([router.apiUrl], streams)
    const wallMs = performance.now() - started
    const routerCpuSeconds = cpuSeconds(router.proc.pid!) - cpuBefore
    // memory bounded: what the router still holds once the streams are done (nothing should stay per stream)
    await new Promise((r) => setTimeout(r, SETTLE_AFTER_MS))
    clearInterval(sampler)
    const rssAfter = rssMB(router.proc.pid!)
    const lost = mesh.filter((r) => !r.ok).length
    const why = new Map<string, number>()
    for (const r of mesh) if (!r.ok) why.set(r.lostWhy || 'unknown', (why.get(r.lostWhy || 'unknown') ?? 0) + 1)
    if (lost > 0) ctx.note('load.lost', `lost streams by cause: ${[...why].map(([k, n]) => `${k} ×${n}`).join(', ')}`)
    const ttft = (rs: StreamResult[]): number[] => rs.filter((r) => r.ok).map((r) => r.ttftMs)
    const out: Measured = {
      'load.streams': streams,
      'load.providers': providers,
      'load.lost': lost,
      'load.directLost': direct.filter((r) => !r.ok).length,
      'load.ttftP50Ms': round(median(ttft(mesh)), 1),
      'load.ttftP99Ms': round(quantile(ttft(mesh), 0.99), 1),
      'load.directTtftP99Ms': round(quantile(ttft(direct), 0.99), 1),
      'load.directTtftP50Ms': round(median(ttft(direct)), 1),
      'load.overheadP50Ms': round(median(ttft(mesh)) - median(ttft(direct)), 1),
      'load.overheadP99Ms': round(quantile(ttft(mesh), 0.99) - quantile(ttft(direct), 0.99), 1),
      'load.wallMs': Math.round(wallMs),
      // CPU the router used for the burst: near wallMs/1000 means it was the bottleneck
      'load.routerCpuSeconds': round(routerCpuSeconds, 1),
      'load.routerRssMBBefore': round(rssBefore, 1),
      'load.routerRssMBPeak': round(rssPeak, 1),
      'load.routerRssMBAfter': round(rssAfter, 1),
      'load.routerRssKBPerStream': round(((rssPeak - rssBefore) * 1024) / streams, 1)
    }
    ctx.log(
      `${streams} concurrent streams of ${TOKENS} tokens via 1 router to ${providers} providers: lost ${lost}, ` +
        `ttft p50 ${out['load.ttftP50Ms']} ms p99 ${out['load.ttftP99Ms']} ms (direct p99 ${out['load.directTtftP99Ms']} ms), ` +
        `router RSS ${out['load.routerRssMBBefore']} → peak ${out['load.routerRssMBPeak']} → ${out['load.routerRssMBAfter']} MB ` +
        `${SETTLE_AFTER_MS / 1000} s after, router CPU ${out['load.routerCpuSeconds']} s, all done in ${out['load.wallMs']} ms`
    )
    return out
  })
}
