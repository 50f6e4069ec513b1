// Reputation: how long until every node knows that a provider lies. Three providers on the bench's
// fake runtime (default settings), one of which starts answering random words once benchmarked; a
// router that sends traffic (and so challenges) and observers that only hear gossip. A node knows
// when it excludes the liar, or ranks it below every honest provider on gossip it received.
import { startFakeOpenAI, type FakeOpenAI } from './fake-openai'
import {
  type BenchNode,
  liveProviders,
  startBenchNode,
  startExternalProvider,
  stopBenchNodes,
  until
} from './routing-nodes'
import type { BenchContext, Measured } from './stats'

const MODEL = 'meshwork-tiny'

interface PeerView {
  peerId: string
  trust: number
  excludedReason?: string
  trustEvidence?: { gossip?: { reporters?: number } }
}

async function knowsLiar(node: BenchNode, liar: string, honest: string[]): Promise<boolean> {
  const { peers } = (await node.get('/api/peers?all=1')) as { peers: PeerView[] }
  const view = new Map(peers.map((p) => [p.peerId, p]))
  const lying = view.get(liar)
  if (lying === undefined) return false
  if (lying.excludedReason !== undefined) return true
  const lowestHonest = Math.min(...honest.map((h) => view.get(h)?.trust ?? 0))
  return (lying.trustEvidence?.gossip?.reporters ?? 0) >= 1 && lying.trust < lowestHonest
}

async function ask(router: BenchNode, i: number): Promise<void> {
  const res = await fetch(router.apiUrl + '/v1/completions', {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ model: MODEL, prompt: `Tell me about ${i}`, max_tokens: 16, temperature: 0 }),
    signal: AbortSignal.timeout(30_000)
  })
  await res.arrayBuffer()
}

export async function reputationBench(ctx: BenchContext): Promise<Measured> {
  const observers = ctx.full ? 10 : 4
  const timeoutMs = ctx.full ? 300_000 : 120_000
  const fakes: FakeOpenAI[] = []
  let stopTraffic = false
  let traffic: Promise<void> | undefined
  try {
    for (let i = 0; i < 3; i++) fakes.push(await startFakeOpenAI({ model: MODEL }))
    const first = await startExternalProvider(fakes[0].url, MODEL, [], { defaults: true })
    const others = await Promise.all(
      fakes.slice(1).map((f) => startExternalProvider(f.url, MODEL, [first.multiaddr], { defaults: true }))
    )
    const [honest, liar] = [[first, others[0]], others[1]]
    const router = await startBenchNode(['--no-serve'], [first.multiaddr], { defaults: true })
    const watchers = await Promise.all(
      Array.from({ length: observers }, () => startBenchNode(['--no-serve'], [first.multiaddr], { defaults: true }))
    )
    const everyone = [router, ...watchers]
    for (const node of everyone) await until(async () => (await liveProviders(node, MODEL)).length === 3, 60_000)

    fakes[2].lie = true
    const started = performance.now()
    traffic = (async () => {
      for (let i = 0; !stopTraffic; i++) await ask(router, i).catch(() => undefined)
    })()
    const knownAt = new Map<BenchNode, number>()
    while (knownAt.size < everyone.length && performance.now() - started < timeoutMs) {
      for (const node of everyone) {
        if (knownAt.has(node)) continue
        const knows = await knowsLiar(
          node,
          liar.peerId,
          honest.map((h) => h.peerId)
        ).catch(() => false)
        if (knows) knownAt.set(node, performance.now() - started)
      }
      await new Promise((r) => setTimeout(r, 250))
    }
    const routerMs = knownAt.get(router) ?? Number.NaN
    const allMs = knownAt.size === everyone.length ? Math.max(...knownAt.values()) : Number.NaN
    if (Number.isNaN(allMs))
      ctx.note(
        'reputation.lieKnownByAllMs',
        `${everyone.length - knownAt.size}/${everyone.length} nodes did not know the liar after ${timeoutMs / 1000} s`
      )
    ctx.log(
      `a provider starts answering random words: its router knows after ${Math.round(routerMs)} ms, ` +
        `all ${everyone.length} nodes (router + ${observers} gossip-only) after ${Math.round(allMs)} ms`
    )
    return {
      'reputation.lieKnownByRouterMs': Math.round(routerMs),
      'reputation.lieKnownByAllMs': Math.round(allMs),
      'reputation.nodes': everyone.length
    }
  } finally {
    stopTraffic = true
    await traffic
    await stopBenchNodes()
    await Promise.all(fakes.map((f) => f.close()))
  }
}
