import { afterAll, describe, expect, it } from 'vitest'
import { killAllNodes, startNode, waitFor, type NodeProcess } from '../helpers/node-process'

const PROVIDERS = 6

/** Peers a node currently lists as alive with a verified advert for meshwork-tiny. */
async function livePeers(node: NodeProcess): Promise<string[]> {
  const { peers } = await node.get('/api/peers')
  return peers.filter((p: any) => p.alive && p.advert.models.some((m: any) => m.name === 'meshwork-tiny')).map((p: any) => p.peerId)
}

describe('a mesh of real processes bootstrapped in a chain', () => {
  const nodes: NodeProcess[] = []
  afterAll(killAllNodes)

  it(`finds all ${PROVIDERS} providers through the DHT`, async () => {
    for (let i = 0; i < PROVIDERS; i++) {
      // each node knows only the one before it: finding the rest takes the DHT
      const bootstrap = i === 0 ? [] : [nodes[i - 1].multiaddr]
      nodes.push(await startNode({ bootstrap, args: ['--runtime', 'process'] }))
    }
    const started = Date.now()
    await waitFor(async () => {
      for (const node of nodes) {
        const others = nodes.filter((n) => n !== node).map((n) => n.peerId)
        const live = await livePeers(node)
        if (!others.every((id) => live.includes(id))) return false
      }
      return true
    }, 60_000, 500)
    console.log(`all ${PROVIDERS} nodes saw every other provider after ${Date.now() - started} ms`)
    // the first node never had a direct bootstrap link to the last one: show the adverts are verified and complete
    const { peers } = await nodes[0].get('/api/peers')
    const last = peers.find((p: any) => p.peerId === nodes[PROVIDERS - 1].peerId)
    expect(last.advert.models[0]).toMatchObject({ name: 'meshwork-tiny', sha256: expect.stringMatching(/^[0-9a-f]{64}$/) })
    expect(last.advert.peerId).toBe(nodes[PROVIDERS - 1].peerId)
  })

  it('drops a SIGKILLed provider from every other list within 10 s', async () => {
    const victim = nodes[2]
    await victim.kill('SIGKILL')
    const killedAt = Date.now()
    const survivors = nodes.filter((n) => n !== victim)
    await waitFor(async () => {
      for (const node of survivors) if ((await livePeers(node)).includes(victim.peerId)) return false
      return true
    }, 10_000, 100)
    const elapsed = Date.now() - killedAt
    console.log(`killed provider dropped by all ${survivors.length} peers after ${elapsed} ms`)
    expect(elapsed).toBeLessThan(10_000)
    const { peers } = await survivors[0].get('/api/peers?all=1')
    expect(peers.find((p: any) => p.peerId === victim.peerId)).toMatchObject({ alive: false, excludedReason: expect.any(String) })
  })

  it('shows a pause to the other peers within 10 s, and a resume', async () => {
    const provider = nodes[0]
    const observer = nodes[nodes.length - 1]
    const pausedView = async (paused: boolean) => {
      const { peers } = await observer.get('/api/peers')
      return peers.some((p: any) => p.peerId === provider.peerId && p.paused === paused)
    }
    await provider.post('/api/pause')
    const pauseSeen = await waitFor(() => pausedView(true), 10_000, 100)
    await provider.post('/api/resume')
    const resumeSeen = await waitFor(() => pausedView(false), 10_000, 100)
    console.log(`pause seen after ${pauseSeen} ms, resume after ${resumeSeen} ms`)
  })
})
