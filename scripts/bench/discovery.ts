// Discovery with real processes and default settings: a bootstrap node and a router (both
// --no-serve), then providers that come and go. Measures the time from a provider's spawn to the
// first request the router sends it, and from its SIGKILL to the router's /api/peers dropping it.
import { startFakeOpenAI } from './fake-openai'
import { type BenchNode, startBenchNode, startExternalProvider, stopBenchNodes } from './routing-nodes'
import { type BenchContext, type Measured, median, round } from './stats'

// the node serves its configured model (meshwork-tiny by default) from the fake endpoint
const MODEL = 'meshwork-tiny'
const DROP_TIMEOUT_MS = 60_000

async function routedTo(router: BenchNode): Promise<string | undefined> {
  const res = await fetch(router.apiUrl + '/v1/completions', {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ model: MODEL, prompt: 'ping', max_tokens: 1 }),
    signal: AbortSignal.timeout(10_000)
  })
  await res.arrayBuffer()
  return res.ok ? (res.headers.get('x-meshwork-provider') ?? undefined) : undefined
}

/** Starts a provider while asking the router all along; resolves when the router first routes to it. */
async function startRoutable(
  router: BenchNode,
  bootstrap: BenchNode,
  endpoint: string
): Promise<{ provider: BenchNode; at: number }> {
  let at = 0
  let provider: BenchNode | undefined
  const starting = startExternalProvider(endpoint, MODEL, [bootstrap.multiaddr], { defaults: true }).then(
    (p) => (provider = p)
  )
  const deadline = performance.now() + 60_000
  while (at === 0 && performance.now() < deadline) {
    const who = await routedTo(router).catch(() => undefined)
    // before its API file is read the new provider is the only one that can answer
    if (who !== undefined && (provider === undefined || who === provider.peerId)) at = performance.now()
    else await new Promise((r) => setTimeout(r, 50))
  }
  await starting
  if (at === 0) throw new Error('the router never routed to the new provider')
  return { provider: provider!, at }
}

/** ms from now until `router`'s /api/peers no longer lists `peerId` (NaN past the timeout). */
async function untilDropped(router: BenchNode, peerId: string): Promise<number> {
  const from = performance.now()
  while (performance.now() - from < DROP_TIMEOUT_MS) {
    const { peers } = await router.get('/api/peers')
    if (!peers.some((p: { peerId: string }) => p.peerId === peerId)) return performance.now() - from
    await new Promise((r) => setTimeout(r, 25))
  }
  return Number.NaN
}

export async function discoveryBench(ctx: BenchContext): Promise<Measured> {
  const runs = ctx.full ? 6 : 3
  const fake = await startFakeOpenAI({ model: MODEL })
  const routable: number[] = []
  const afterUp: number[] = []
  const dropped: number[] = []
  let frozenDropMs: number
  try {
    const bootstrap = await startBenchNode(['--no-serve'], [], { defaults: true })
    const router = await startBenchNode(['--no-serve'], [bootstrap.multiaddr], { defaults: true })
    for (let i = 0; i < runs; i++) {
      const { provider, at } = await startRoutable(router, bootstrap, fake.url)
      routable.push(at - provider.spawnedAt)
      afterUp.push(at - provider.upAt)
      await new Promise((r) => setTimeout(r, 2000))
      const kill = provider.kill('SIGKILL')
      dropped.push(await untilDropped(router, provider.peerId))
      await kill
      ctx.log(
        `run ${i + 1}: routable ${Math.round(routable.at(-1)!)} ms after spawn (${Math.round(afterUp.at(-1)!)} ms ` +
          `after its API was up); dropped ${Math.round(dropped.at(-1)!)} ms after SIGKILL`
      )
    }
    // a frozen provider (SIGSTOP) keeps its TCP connections open: only missed adverts tell
    const { provider } = await startRoutable(router, bootstrap, fake.url)
    await new Promise((r) => setTimeout(r, 2000))
    provider.proc.kill('SIGSTOP')
    frozenDropMs = await untilDropped(router, provider.peerId)
    ctx.log(`a frozen (SIGSTOPped) provider was dropped after ${Math.round(frozenDropMs)} ms`)
  } finally {
    await stopBenchNodes()
    await fake.close()
  }
  const notDropped = dropped.filter((ms) => Number.isNaN(ms)).length
  if (notDropped > 0)
    ctx.note(
      'discovery.deadProviderDroppedMs',
      `${notDropped}/${runs} killed providers still listed after ${DROP_TIMEOUT_MS / 1000} s`
    )
  const seen = dropped.filter((ms) => !Number.isNaN(ms))
  return {
    'discovery.newProviderRoutableMs': round(median(routable), 0),
    'discovery.newProviderRoutableMsMax': round(Math.max(...routable), 0),
    'discovery.newProviderRoutableAfterUpMs': round(median(afterUp), 0),
    'discovery.deadProviderDroppedMs': notDropped > 0 ? Number.NaN : round(median(seen), 0),
    'discovery.deadProviderDroppedMsMax': notDropped > 0 ? Number.NaN : round(Math.max(...seen), 0),
    'discovery.frozenProviderDroppedMs': round(frozenDropMs, 0)
  }
}
