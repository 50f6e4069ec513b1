import { afterAll, describe, expect, it } from 'vitest'
import { killAllNodes, startNode, type NodeProcess } from '../helpers/node-process'
import { waitFor } from '../helpers/wait'

const PROVIDERS = 6
/** The promise made to users: a dead or paused provider is out of every other list within this. */
const BOUND_MS = 10_000
/** Waits run longer than the bound, so a late change is measured (and fails), not cut off. */
const WAIT_MS = 3 * BOUND_MS

/** Peers a node currently lists as alive with a verified advert for meshwork-tiny. */
async function livePeers(node: NodeProcess): Promise<string[]> {
  const { peers } = await node.get('/api/peers')
  return peers
    .filter((p: any) => p.alive && p.advert.models.some((m: any) => m.name === 'meshwork-tiny'))
    .map((p: any) => p.peerId)
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
    await waitFor(
      async () => {
        for (const node of nodes) {
          const others = nodes.filter((n) => n !== node).map((n) => n.peerId)
          const live = await livePeers(node)
          if (!others.every((id) => live.includes(id))) return false
        }
        return true
      },
      60_000,
      {
        intervalMs: 500,
        what: 'every node to list every other provider',
        state: async () => {
          const seen = await Promise.all(
            nodes.map(async (n) => `${n.peerId.slice(-6)} sees ${(await livePeers(n)).length}`)
          )
          return `${seen.join(', ')}; node 0 log tail: ${nodes[0].logs().split('\n').slice(-8).join(' | ')}`
        }
      }
    )
    console.log(`all ${PROVIDERS} nodes saw every other provider after ${Date.now() - started} ms`)
    // the first node never had a direct bootstrap link to the last one: show the adverts are verified and complete
    const { peers } = await nodes[0].get('/api/peers')
    const last = peers.find((p: any) => p.peerId === nodes[PROVIDERS - 1].peerId)
    expect(last.advert.models[0]).toMatchObject({
      name: 'meshwork-tiny',
      sha256: expect.stringMatching(/^[0-9a-f]{64}$/)
    })
    expect(last.advert.peerId).toBe(nodes[PROVIDERS - 1].peerId)
  })

  it(`drops a SIGKILLed provider from every other list within ${BOUND_MS / 1000} s`, async () => {
    const victim = nodes[2]
    const survivors = nodes.filter((n) => n !== victim)
    const killedAt = Date.now()
    await victim.kill('SIGKILL')
    // when each survivor stopped listing the victim, by the test's clock
    const droppedAfter = new Map<NodeProcess, number>()
    await waitFor(
      async () => {
        for (const node of survivors) {
          if (!droppedAfter.has(node) && !(await livePeers(node)).includes(victim.peerId))
            droppedAfter.set(node, Date.now() - killedAt)
        }
        return droppedAfter.size === survivors.length
      },
      WAIT_MS,
      { intervalMs: 100, what: 'every survivor to drop the victim' }
    )
    const slowest = Math.max(...droppedAfter.values())
    console.log(
      `killed provider dropped by the ${survivors.length} peers after ${[...droppedAfter.values()].sort((a, b) => a - b).join(', ')} ms`
    )
    expect(slowest).toBeLessThan(BOUND_MS)
    const { peers } = await survivors[0].get('/api/peers?all=1')
    expect(peers.find((p: any) => p.peerId === victim.peerId)).toMatchObject({
      alive: false,
      excludedReason: expect.any(String)
    })
  })

  it(`shows a pause to the other peers within ${BOUND_MS / 1000} s, and a resume`, async () => {
    const provider = nodes[0]
    const observer = nodes[nodes.length - 1]
    const pausedView = async (paused: boolean) => {
      const { peers } = await observer.get('/api/peers')
      return peers.some((p: any) => p.peerId === provider.peerId && p.paused === paused)
    }
    const seenAfter = async (paused: boolean): Promise<number> => {
      // from when the provider itself reports the change (a resume first restarts its runtime)
      expect((await provider.post(paused ? '/api/pause' : '/api/resume')).status).toBe(200)
      const asked = Date.now()
      await waitFor(() => pausedView(paused), WAIT_MS, { what: paused ? 'the pause to show' : 'the resume to show' })
      return Date.now() - asked
    }
    const pauseSeen = await seenAfter(true)
    const resumeSeen = await seenAfter(false)
    console.log(`pause seen after ${pauseSeen} ms, resume after ${resumeSeen} ms`)
    expect(pauseSeen).toBeLessThan(BOUND_MS)
    expect(resumeSeen).toBeLessThan(BOUND_MS)
  })
})
