// Reputation: how long until every honest node knows that a provider lies. Three providers on the
// bench's fake runtime (default node settings), one of which, the fastest, starts answering random
// words once benchmarked; a router that sends traffic (and so challenges) and observers that only
// hear gossip. A node knows when its trust in the liar is below its routing threshold (it will not
// route to it); every node but the liar counts, the honest providers too. The mesh is at least 10
// processes. The lie starts once every node has checked every provider: the news reaches the others
// by gossip ("caught"), and each of them then checks the liar itself.
import { startFakeOpenAI, type FakeOpenAI } from './fake-openai'
import { metricsOf } from './node-metrics'
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
/** After the first checks, repeats of unreferenced ones (a challenge tick is 5 s) are over too. */
const SETTLE_MS = 20_000

interface PeerView {
  peerId: string
  trust: number
  excludedReason?: string
  trustEvidence?: { threshold?: number; challenges?: { sent?: number }; gossip?: { reporters?: number } }
}

/** Whether `node` ranks the liar below its threshold, and (weaker) below every honest provider. */
async function viewOfLiar(
  node: BenchNode,
  liar: string,
  honest: string[]
): Promise<{ excluded: boolean; rankedLow: boolean }> {
  const { peers } = (await node.get('/api/peers?all=1')) as { peers: PeerView[] }
  const view = new Map(peers.map((p) => [p.peerId, p]))
  const lying = view.get(liar)
  if (lying === undefined) return { excluded: false, rankedLow: false }
  const threshold = lying.trustEvidence?.threshold
  const excluded = threshold !== undefined && lying.trust < threshold
  const others = honest.filter((h) => h !== node.peerId).map((h) => view.get(h)?.trust ?? 0)
  const rankedLow = excluded || (others.length > 0 && lying.trust < Math.min(...others))
  return { excluded, rankedLow }
}

/** First checks are done: `node` has challenged every provider (but itself) at least once. */
async function checkedEveryProvider(node: BenchNode, providers: BenchNode[]): Promise<boolean> {
  const { peers } = (await node.get('/api/peers?all=1')) as { peers: PeerView[] }
  const sent = new Map(peers.map((p) => [p.peerId, p.trustEvidence?.challenges?.sent ?? 0]))
  return providers.every((p) => p.peerId === node.peerId || (sent.get(p.peerId) ?? 0) > 0)
}

/** A node's reputation-gossip counters from its /metrics, to tell a lost summary from an unsent one. */
async function gossipCounters(node: BenchNode): Promise<string> {
  const counts = (await metricsOf(node))
    .split('\n')
    .filter((l) => l.startsWith('meshwork_reputation_gossip') && !l.endsWith(' 0'))
    .map((l) => l.replace('meshwork_reputation_gossip_', ''))
  return `gossip counters of ${node.peerId}: ${counts.join(', ')}`
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
  // 3 providers + 1 router + observers: 11 processes by default, 16 with --full
  const observers = ctx.full ? 12 : 7
  const timeoutMs = ctx.full ? 300_000 : 180_000
  const fakes: FakeOpenAI[] = []
  let stopTraffic = false
  let traffic: Promise<void> | undefined
  try {
    // the liar is the fastest (as a garbage answer can be), so the router sends it traffic
    for (const tokenGapMs of [4, 4, 0]) fakes.push(await startFakeOpenAI({ model: MODEL, tokenGapMs }))
    const first = await startExternalProvider(fakes[0].url, MODEL, [], { defaults: true })
    const others = await Promise.all(
      fakes.slice(1).map((f) => startExternalProvider(f.url, MODEL, [first.multiaddr], { defaults: true }))
    )
    const [honest, liar] = [[first, others[0]], others[1]]
    const router = await startBenchNode(['--no-serve'], [first.multiaddr], { defaults: true })
    const watchers = await Promise.all(
      Array.from({ length: observers }, () => startBenchNode(['--no-serve'], [first.multiaddr], { defaults: true }))
    )
    // every node but the liar: the router, the gossip-only observers and the honest providers
    const everyone = [router, ...watchers, ...honest]
    const processes = everyone.length + 1
    for (const node of everyone) await until(async () => (await liveProviders(node, MODEL)).length >= 2, 60_000)
    for (const node of [router, ...watchers])
      await until(async () => (await liveProviders(node, MODEL)).length === 3, 60_000)
    // the lie starts once the first checks are over: a node still checking a newcomer would catch it
    // itself, and this measures how the news spreads to nodes that are no longer looking
    for (const node of everyone) await until(() => checkedEveryProvider(node, [...honest, liar]), 90_000)
    await new Promise((r) => setTimeout(r, SETTLE_MS))

    fakes[2].lie = true
    const started = performance.now()
    traffic = (async () => {
      for (let i = 0; !stopTraffic; i++) await ask(router, i).catch(() => undefined)
    })()
    const excludedAt = new Map<BenchNode, number>()
    const rankedLowAt = new Map<BenchNode, number>()
    const honestIds = honest.map((h) => h.peerId)
    while (excludedAt.size < everyone.length && performance.now() - started < timeoutMs) {
      for (const node of everyone) {
        if (excludedAt.has(node)) continue
        const view = await viewOfLiar(node, liar.peerId, honestIds).catch(() => undefined)
        const at = performance.now() - started
        if (view?.rankedLow && !rankedLowAt.has(node)) rankedLowAt.set(node, at)
        if (view?.excluded) excludedAt.set(node, at)
      }
      await new Promise((r) => setTimeout(r, 250))
    }
    const allOf = (m: Map<BenchNode, number>): number =>
      m.size === everyone.length ? Math.max(...m.values()) : Number.NaN
    const routerMs = excludedAt.get(router) ?? Number.NaN
    const allMs = allOf(excludedAt)
    if (Number.isNaN(allMs)) {
      const { peers } = (await router.get('/api/peers?all=1')) as {
        peers: Array<PeerView & { trustEvidence?: unknown }>
      }
      ctx.log(`the router's view of the liar: ${JSON.stringify(peers.find((p) => p.peerId === liar.peerId))}`)
      for (const node of [router, ...watchers.slice(0, 2)]) ctx.log(await gossipCounters(node))
    }
    if (Number.isNaN(allMs))
      ctx.note(
        'reputation.lieKnownByAllMs',
        `${everyone.length - excludedAt.size}/${everyone.length} honest nodes still trusted the liar above ` +
          `the threshold after ${timeoutMs / 1000} s`
      )
    ctx.log(
      `${processes} processes; a provider starts answering random words: its router excludes it after ` +
        `${Math.round(routerMs)} ms, all ${everyone.length} honest nodes (router, ${observers} gossip-only, ` +
        `${honest.length} honest providers) rank it below the threshold after ${Math.round(allMs)} ms ` +
        `(below every honest provider after ${Math.round(allOf(rankedLowAt))} ms)`
    )
    return {
      'reputation.lieKnownByRouterMs': Math.round(routerMs),
      'reputation.lieKnownByAllMs': Math.round(allMs),
      'reputation.lieRankedLowByAllMs': Math.round(allOf(rankedLowAt)),
      'reputation.processes': processes
    }
  } finally {
    stopTraffic = true
    await traffic
    await stopBenchNodes()
    await Promise.all(fakes.map((f) => f.close()))
  }
}
