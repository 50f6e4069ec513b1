// Soak: a churn run with real `meshwork start` processes at default settings. One long-lived router
// (also the bootstrap) and one long-lived honest provider stay up; in each cycle two churn providers
// join, one pauses and resumes through its HTTP API, then both die by SIGKILL; a client (the official
// `openai` SDK) keeps a steady trickle of requests through the router all along. The long-lived
// nodes are sampled every few seconds (RSS, fds, libp2p connections, SQLite sizes, labelled
// containers) and the growth after the warm-up is judged against bounds (soak-judge.ts).
// Runs 3 minutes of churn, an hour with --full; MESHWORK_SOAK_SECONDS sets another length, and
// MESHWORK_SOAK_ONLY=churn|requests leaves the other out.
import OpenAI from 'openai'
import { startFakeOpenAI, type FakeOpenAI } from './fake-openai'
import { BOUNDS_NOTE, judgeSoak, type SoakSeries } from './soak-judge'
import { dbTotal, labelledContainers, sampleNode } from './soak-sampler'
import {
  type BenchNode,
  liveProviders,
  startBenchNode,
  startExternalProvider,
  stopBenchNodes,
  until
} from './routing-nodes'
import { type BenchContext, type Measured, round } from './stats'

// the node serves its configured model (meshwork-tiny by default) from the fake endpoint
const MODEL = 'meshwork-tiny'
const WARMUP_S = 60
const SAMPLE_EVERY_MS = 5_000
const REQUEST_EVERY_MS = 500
const CHURN_PEERS = 2
const SERVE_MS = 8_000
const PAUSED_MS = 5_000
const CYCLE_WITHOUT_CHURN_MS = 25_000

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms))

/** POST to a node's control API (mutating calls need a JSON content type). */
async function control(node: BenchNode, path: '/api/pause' | '/api/resume'): Promise<void> {
  const res = await fetch(node.apiUrl + path, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: '{}',
    signal: AbortSignal.timeout(30_000)
  })
  if (!res.ok) throw new Error(`${path} answered ${res.status}: ${await res.text()}`)
}

/** The steady trickle: one request every REQUEST_EVERY_MS, streamed and not in turn, counted. */
function startTrickle(router: BenchNode): { stop(): Promise<void>; done: number; failed: Map<string, number> } {
  const client = new OpenAI({ baseURL: router.apiUrl + '/v1', apiKey: 'unused', maxRetries: 0, timeout: 30_000 })
  const state = { done: 0, failed: new Map<string, number>(), stop: async () => undefined }
  const fail = (why: string): void => void state.failed.set(why, (state.failed.get(why) ?? 0) + 1)
  let n = 0
  const one = async (): Promise<void> => {
    const stream = n++ % 2 === 0
    try {
      const messages = [{ role: 'user' as const, content: `soak ${n}` }]
      if (stream) {
        let text = ''
        const chunks = await client.chat.completions.create({ model: MODEL, messages, max_tokens: 8, stream: true })
        for await (const chunk of chunks) text += chunk.choices[0]?.delta?.content ?? ''
        if ((text.match(/ w\d+/g)?.length ?? 0) !== 8) return fail('stream short')
      } else {
        const reply = await client.chat.completions.create({ model: MODEL, messages, max_tokens: 8 })
        if ((reply.choices[0]?.message?.content?.match(/ w\d+/g)?.length ?? 0) !== 8) return fail('reply short')
      }
      state.done++
    } catch (err) {
      fail(err instanceof OpenAI.APIError ? `http ${err.status ?? '?'} ${err.message.slice(0, 60)}` : String(err))
    }
  }
  const inFlight = new Set<Promise<void>>()
  const timer = setInterval(() => {
    const p = one().finally(() => inFlight.delete(p))
    inFlight.add(p)
  }, REQUEST_EVERY_MS)
  state.stop = async () => {
    clearInterval(timer)
    await Promise.all(inFlight)
  }
  return state
}

/** One churn cycle: peers join, one pauses and resumes, all die by SIGKILL, the router drops them. */
async function churnCycle(router: BenchNode, fake: FakeOpenAI, peerIds: Set<string>, log: BenchContext['log']) {
  const peers = await Promise.all(
    Array.from({ length: CHURN_PEERS }, () =>
      startExternalProvider(fake.url, MODEL, [router.multiaddr], { defaults: true })
    )
  )
  for (const p of peers) peerIds.add(p.peerId)
  try {
    await until(async () => (await liveProviders(router, MODEL)).length >= CHURN_PEERS + 1, 30_000)
  } catch {
    log('churn peers were not all listed by the router within 30 s')
  }
  await sleep(SERVE_MS)
  await control(peers[0], '/api/pause')
  await sleep(PAUSED_MS)
  await control(peers[0], '/api/resume')
  await sleep(PAUSED_MS)
  await Promise.all(peers.map((p) => p.kill('SIGKILL')))
  const ids = new Set(peers.map((p) => p.peerId))
  try {
    await until(async () => !(await liveProviders(router, MODEL)).some((id) => ids.has(id)), 30_000)
  } catch {
    log('the router still listed a dead churn peer after 30 s')
  }
}

/** The router's own account of each stream it gave up (its warning, with every attempt), at most 20. */
function watchGiveUps(router: BenchNode): string[] {
  const lines: string[] = []
  router.onLine((line) => {
    if (line.includes('no provider could continue the stream') && lines.length < 20) lines.push(line.trim())
  })
  return lines
}

/** The long-lived nodes at the quiet points (at most ~20 lines each): what the verdict compares. */
function logTimeline(series: SoakSeries[], log: BenchContext['log']): void {
  for (const { name, samples } of series) {
    const quiet = samples.filter((s, i) => s.quiet || i === 0)
    const stride = Math.max(1, Math.ceil(quiet.length / 20))
    const cells = quiet
      .filter((_, i) => i % stride === 0 || i === quiet.length - 1)
      .map(
        (s) =>
          `${round(s.t, 0)}s ${round(s.node.rssMB, 0)}MB (heap ${round(s.node.heapUsedMB, 0)}/${round(s.node.heapTotalMB, 0)} ` +
          `new ${round(s.node.newSpaceMB, 0)} ` +
          `ext ${round(s.node.externalMB, 0)}) ${s.node.fds}fd ` +
          `${s.node.connections}conn db ${round(dbTotal(s.node.db) / 1024, 0)}KB ${s.node.db.ledgerRows}+${s.node.db.observationRows}rows`
      )
    log(`${name} at quiet points: ${cells.join(' | ')}`)
  }
}

export async function soakBench(ctx: BenchContext): Promise<Measured> {
  const endS = Number(process.env.MESHWORK_SOAK_SECONDS) || (ctx.full ? 3600 : 180)
  const fakes: FakeOpenAI[] = []
  const peerIds = new Set<string>()
  try {
    // one endpoint for all: an external model's identity (sha256) is its endpoint's, and a stream cut
    // mid-way continues only on a provider of the same model, so every provider can take over
    const fake = await startFakeOpenAI({ model: MODEL, tokenGapMs: 5 })
    fakes.push(fake)
    const router = await startBenchNode(['--no-serve'], [], { defaults: true })
    const giveUps = watchGiveUps(router)
    const provider = await startExternalProvider(fake.url, MODEL, [router.multiaddr], { defaults: true })
    await until(async () => (await liveProviders(router, MODEL)).includes(provider.peerId), 60_000)
    peerIds.add(router.peerId).add(provider.peerId)
    const longLived = { router, provider }
    const series: SoakSeries[] = Object.keys(longLived).map((name) => ({ name, samples: [] }))
    // to tell which of the two makes something grow: MESHWORK_SOAK_ONLY=churn (no requests) or =requests
    const only = process.env.MESHWORK_SOAK_ONLY
    const trickle =
      only === 'churn' ? { done: 0, failed: new Map(), stop: async () => undefined } : startTrickle(router)
    const started = performance.now()
    const elapsedS = (): number => (performance.now() - started) / 1000
    let quiet = true
    let containersMax = 0
    let honestUnlisted = 0 // samples at which the router did not list the honest provider as live
    const sample = async (): Promise<void> => {
      const t = elapsedS()
      const nodes = await Promise.all(Object.values(longLived).map(sampleNode))
      nodes.forEach((node, i) => series[i].samples.push({ t, quiet, requests: trickle.done, node }))
      containersMax = Math.max(containersMax, await labelledContainers(peerIds))
      if (!(await liveProviders(router, MODEL)).includes(provider.peerId)) honestUnlisted++
    }
    const sampling = setInterval(
      () => void sample().catch((err: Error) => ctx.log(`sample failed: ${err.message}`)),
      SAMPLE_EVERY_MS
    )
    await sample()
    let cycles = 0
    while (elapsedS() < endS) {
      quiet = false
      if (only === 'requests') await sleep(CYCLE_WITHOUT_CHURN_MS)
      else await churnCycle(router, fake, peerIds, ctx.log)
      quiet = true
      cycles++
      await sample() // a quiet point: only the long-lived nodes are up
      if (cycles % 10 === 0 || !ctx.full)
        ctx.log(`${round(elapsedS(), 0)} s: ${cycles} churn cycles, ${trickle.done} requests`)
    }
    clearInterval(sampling)
    await trickle.stop()
    await sample()
    const containersLeft = await labelledContainers(peerIds)
    const failed = [...trickle.failed.values()].reduce((a, b) => a + b, 0)
    logTimeline(series, ctx.log)
    const verdict = judgeSoak({
      series,
      warmupS: WARMUP_S,
      endS: elapsedS(),
      peersJoined: peerIds.size - 2,
      containersLeft,
      failed
    })
    ctx.note('soak.bounded', BOUNDS_NOTE)
    if (failed > 0) ctx.note('soak.failed', [...trickle.failed].map(([why, k]) => `${why} x${k}`).join('; '))
    if (verdict.unbounded.length > 0) ctx.note('soak.unbounded', verdict.unbounded.join('; '))
    if (giveUps.length > 0) ctx.note('soak.routerGaveUp', giveUps.join(' || '))
    const out: Measured = {
      'soak.durationS': round(elapsedS(), 0),
      'soak.cycles': cycles,
      'soak.peersJoined': peerIds.size - 2,
      'soak.requests': trickle.done + failed,
      'soak.failed': failed,
      'soak.containersMax': containersMax,
      'soak.honestUnlisted': honestUnlisted,
      ...verdict.metrics
    }
    ctx.log(
      `${out['soak.durationS']} s, ${cycles} cycles, ${out['soak.peersJoined']} churn peers, ${out['soak.requests']} requests ` +
        `(${failed} failed); after warm-up RSS +${out['soak.rssGrowthMB']} MB, fds +${out['soak.fdGrowth']}, ` +
        `db +${out['soak.dbGrowthKB']} KB, containers left ${containersLeft}: ${verdict.unbounded.length ? 'NOT bounded' : 'bounded'}`
    )
    return out
  } finally {
    await stopBenchNodes()
    await Promise.all(fakes.map((f) => f.close()))
  }
}
