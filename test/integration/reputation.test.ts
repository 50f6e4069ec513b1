import { type ChildProcess, spawn } from 'node:child_process'
import { writeFileSync } from 'node:fs'
import { rm } from 'node:fs/promises'
import { createServer } from 'node:net'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { bundleWorker, tinyModel } from '../helpers/runtime'
import { type NodeProcess, killAllNodes, startNode } from '../helpers/node-process'
import { waitFor } from '../helpers/wait'
import { type LieMode, type LyingEndpoint, lyingEndpoint } from './reputation-liars'
import { waitForLiveProviders } from './routing/streams'
import { tempDir } from '../helpers/temp-dir'

// Real `meshwork start` processes: two honest providers and three liars (an advert 10× its real
// speed, garbage text fast, streams dropped halfway), all on external runtime endpoints in front of
// one real worker; a router that finds the liars out, and a router joining later that learns of
// them from gossip alone. Trust then survives the first router's SIGKILL and restart.

const MODEL = 'meshwork-tiny'
const THRESHOLD = 0.25
const dir = tempDir('meshwork-reputation-')
let worker: ChildProcess
const endpoints: LyingEndpoint[] = []
const honest: NodeProcess[] = []
const liars = new Map<LieMode, NodeProcess>()
let router: NodeProcess
const routerDir = tempDir('meshwork-rep-router-')

async function freePort(): Promise<number> {
  const server = createServer()
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as { port: number }
  await new Promise<void>((resolve) => server.close(() => resolve()))
  return port
}

async function startWorker(): Promise<string> {
  const entry = await bundleWorker()
  const model = await tinyModel(join(dir, 'models'))
  const port = await freePort()
  worker = spawn(
    process.execPath,
    [
      entry,
      '--model',
      `${MODEL}=${model.path}`,
      '--host',
      '127.0.0.1',
      '--port',
      String(port),
      '--threads',
      '1',
      '--gpu',
      'false'
    ],
    { stdio: ['ignore', 'pipe', 'inherit'] }
  )
  await new Promise<void>((resolve, reject) => {
    let out = ''
    worker.stdout!.on('data', (c: Buffer) => (out += c.toString()).includes('MESHWORK_WORKER_READY') && resolve())
    worker.once('exit', (code) => reject(new Error(`worker exited (${code})`)))
  })
  return `http://127.0.0.1:${port}`
}

/** A data dir whose config.json makes trust work at test speed. */
function dataDir(name: string, reputation: Record<string, number>): string {
  const d = tempDir(`meshwork-rep-${name}-`)
  writeFileSync(join(d, 'config.json'), JSON.stringify({ reputation }))
  return d
}

const FAST = { gossipIntervalMs: 1_500, challengeIntervalMs: 400, challengeShare: 0.2, probeIntervalMs: 60_000 }

async function provider(endpoint: string, bootstrap: string[]): Promise<NodeProcess> {
  const node = await startNode({
    bootstrap,
    dataDir: dataDir('p', FAST),
    args: ['--runtime', 'external', '--endpoint', endpoint, '--model', MODEL]
  })
  await waitFor(async () => (await node.get('/api/status')).benchmark?.[MODEL] !== undefined, 60_000, {
    what: 'a benchmarked provider'
  })
  return node
}

type Peer = { peerId: string; trust: number; excludedReason?: string; trustEvidence: any }
async function peersOf(node: NodeProcess, all = false): Promise<Map<string, Peer>> {
  const { peers } = await node.get(all ? '/api/peers?all=1' : '/api/peers')
  return new Map((peers as Peer[]).map((p) => [p.peerId, p]))
}

/** Every node's verdicts on `subject` other than a pass: who caught it, and why (for failure messages). */
function verdictsOn(subject: NodeProcess): string {
  const nodes = [router, ...honest, ...liars.values()]
  return nodes
    .flatMap((n) =>
      n
        .logs()
        .split('\n')
        .filter((l) => l.includes('challenge judged') && l.includes(subject.peerId) && !l.includes('"pass"'))
        .map((l) => `${n.peerId.slice(-6)}: ${l}`)
    )
    .join('\n')
}

async function ask(node: NodeProcess, i: number): Promise<string | null> {
  const res = await fetch(node.apiUrl + '/v1/chat/completions', {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({
      model: MODEL,
      messages: [{ role: 'user', content: `Tell me about the number ${i}` }],
      max_tokens: 32,
      temperature: 0
    })
  })
  await res.arrayBuffer()
  return res.headers.get('x-meshwork-provider')
}

beforeAll(async () => {
  const upstream = await startWorker()
  for (const mode of ['honest', 'honest', 'slow', 'garbage', 'drop'] as LieMode[])
    endpoints.push(await lyingEndpoint(upstream, mode))
  const first = await provider(endpoints[0].url, [])
  honest.push(first)
  const rest = await Promise.all(endpoints.slice(1).map((e) => provider(e.url, [first.multiaddr])))
  honest.push(rest[0])
  liars.set('slow', rest[1]).set('garbage', rest[2]).set('drop', rest[3])
  writeFileSync(join(routerDir, 'config.json'), JSON.stringify({ reputation: FAST }))
  router = await startNode({ bootstrap: [first.multiaddr], dataDir: routerDir, args: ['--no-serve'] })
  await waitForLiveProviders(router, MODEL, 5, 60_000)
}, 180_000)

afterAll(async () => {
  await killAllNodes()
  worker?.kill('SIGKILL')
  await Promise.all(endpoints.map((e) => e.close()))
  await rm(dir, { recursive: true, force: true })
})

describe('trust between real processes', () => {
  it(
    'excludes each liar within a bounded number of jobs; then a liar serves at most 1 in 30; honest providers are never excluded',
    { timeout: 300_000 },
    async () => {
      const excludedAt = new Map<LieMode, number>()
      const served = new Map<string, number>()
      let i = 0
      // the slow liar's verdict needs three slow answers at least 20 s apart, so the bound is in time too
      const until = Date.now() + 150_000
      for (; i < 400 && Date.now() < until && excludedAt.size < liars.size; i++) {
        if (i > 0) await new Promise((r) => setTimeout(r, 150))
        const who = await ask(router, i)
        if (who) served.set(who, (served.get(who) ?? 0) + 1)
        const peers = await peersOf(router)
        for (const h of honest)
          expect(peers.get(h.peerId)?.excludedReason, `honest ${h.peerId} excluded\n${verdictsOn(h)}`).toBeUndefined()
        for (const [mode, liar] of liars)
          if (!excludedAt.has(mode) && peers.get(liar.peerId)?.excludedReason) excludedAt.set(mode, i + 1)
      }
      const peers = await peersOf(router)
      const views = [...liars]
        .map(([mode, l]) => `${mode}: ${peers.get(l.peerId)?.trust} ${peers.get(l.peerId)?.trustEvidence.why}`)
        .join('\n')
      const judged = router
        .logs()
        .split('\n')
        .filter((l) => l.includes('challenge judged'))
        .slice(-20)
        .join('\n')
      expect(
        [...excludedAt.keys()].sort(),
        `excluded after ${i} jobs: ${JSON.stringify([...excludedAt])}\n${views}\n${judged}`
      ).toEqual(['drop', 'garbage', 'slow'])
      for (const [mode, liar] of liars) {
        const p = peers.get(liar.peerId)!
        expect(p.trust, `${mode}\n${views}\n${judged}`).toBeLessThan(THRESHOLD)
        // the router's own proof names the lie; a liar that two witnesses' gossip excluded before
        // the router sent it a job of its own is explained by those witnesses
        const own = mode === 'slow' ? 'slow' : mode === 'garbage' ? 'mismatch' : 'truncated|failed'
        expect(p.trustEvidence.why, mode).toMatch(new RegExp(`${own}|[2-9]\\d* caught it lying`))
      }
      let liarJobs = 0
      for (let k = 0; k < 30; k++) {
        const who = await ask(router, 1000 + k)
        if ([...liars.values()].some((l) => l.peerId === who)) liarJobs++
      }
      expect(liarJobs).toBeLessThanOrEqual(1)
      const after = await peersOf(router)
      for (const h of honest) {
        expect(after.get(h.peerId)!.excludedReason).toBeUndefined()
        expect(after.get(h.peerId)!.trust).toBeGreaterThan(0.5)
      }
      console.log(
        `liars excluded after jobs: ${JSON.stringify(Object.fromEntries(excludedAt))}; served: ${JSON.stringify([...served.values()])}`
      )
    }
  )

  it('a router joining later ranks the liars low from gossip before sending them a single job', async () => {
    // this router sends no challenges: what it knows of the liars comes from gossip alone
    const late = await startNode({
      bootstrap: [honest[0].multiaddr],
      dataDir: dataDir('late', { ...FAST, challengeIntervalMs: 3_600_000 }),
      args: ['--no-serve']
    })
    await waitForLiveProviders(late, MODEL, 5, 60_000)
    const ranked = await waitFor(
      async () => {
        const peers = await peersOf(late)
        const low = Math.min(...honest.map((h) => peers.get(h.peerId)?.trust ?? 0))
        const liarsKnown = [...liars.values()].every(
          (l) => (peers.get(l.peerId)?.trustEvidence.gossip?.reporters ?? 0) >= 1 && peers.get(l.peerId)!.trust < low
        )
        return liarsKnown ? peers : undefined
      },
      45_000,
      {
        what: 'the late router to rank every liar below every honest provider',
        state: async () =>
          [...(await peersOf(late)).values()]
            .map((p) => `${p.peerId.slice(-6)} ${p.trust} reporters=${p.trustEvidence.gossip?.reporters}`)
            .join('; ')
      }
    )
    for (const liar of liars.values()) {
      const e = ranked.get(liar.peerId)!.trustEvidence
      expect(
        e.direct.successes + Object.values(e.direct.failures as Record<string, number>).reduce((a, b) => a + b, 0)
      ).toBe(0)
      expect(e.challenges.sent).toBe(0)
    }
  })

  it('keeps trust across a SIGKILL and restart of the router', async () => {
    await router.kill('SIGKILL')
    router = await startNode({ bootstrap: [honest[0].multiaddr], dataDir: routerDir, args: ['--no-serve'] })
    await waitForLiveProviders(router, MODEL, 5, 60_000)
    // the verdicts were kept; whether a liar's link is up right now is another matter (all=1 lists it anyway)
    const peers = await waitFor(
      async () => {
        const seen = await peersOf(router, true)
        return [...honest, ...liars.values()].every((n) => seen.has(n.peerId)) ? seen : undefined
      },
      30_000,
      { what: 'the restarted router to list all five providers' }
    )
    for (const liar of liars.values()) expect(peers.get(liar.peerId)!.excludedReason).toBeDefined()
    for (const h of honest) expect(peers.get(h.peerId)!.excludedReason).toBeUndefined()
  })
})
