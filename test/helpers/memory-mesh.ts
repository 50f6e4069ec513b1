// A mesh of N real Meshwork p2p stacks in one process on libp2p's memory transport: each peer is the
// project's own libp2p node (createMeshLibp2p: noise, yamux, identify, ping, kad-dht, gossipsub,
// reachability) with the real PeerDirectory, Advertiser, advert and bench protocols, link prober and
// Discovery. Providers sign real adverts for one model (no model runs: nothing here serves inference).
// Peer 0 is a provider and everyone's bootstrap, like `meshwork start --bootstrap` in the field.
import { MESH_MODEL, type MemoryMeshOptions, type MeshPeer, type Running, startPeer, stopAll } from './memory-mesh-peer'

export { MESH_MODEL, type MemoryMeshOptions, type MeshPeer } from './memory-mesh-peer'

export interface MemoryMesh {
  peers: MeshPeer[]
  providers: MeshPeer[]
  routers: MeshPeer[]
  /** Routers that do not yet list every live, unpaused provider. */
  unconverged(): MeshPeer[]
  /** Resolves with the ms it took until every router lists every provider; throws after `timeoutMs`. */
  waitConverged(options?: { timeoutMs?: number; signal?: AbortSignal }): Promise<number>
  /** Starts one more peer, bootstrapped like the others. */
  addPeer(role: MeshPeer['role']): Promise<MeshPeer>
  stop(): Promise<void>
}

/** Starts `n` peers: peer 0 (a provider, the bootstrap) first, then the rest in batches. */
export async function startMemoryMesh(n: number, options: MemoryMeshOptions = {}): Promise<MemoryMesh> {
  const providerCount = Math.min(n, Math.max(1, options.providers ?? 2))
  const running: Running[] = []
  const roleOf = (i: number): MeshPeer['role'] => (i < providerCount ? 'provider' : 'router')
  let bootstrap: string[] = []
  const add = async (role: MeshPeer['role']): Promise<MeshPeer> => {
    const entry = await startPeer(running.length, role, bootstrap, options)
    running.push(entry)
    return entry.peer
  }
  const peersOf = (role?: MeshPeer['role']) =>
    running.map((r) => r.peer).filter((p) => role === undefined || p.role === role)

  const mesh: MemoryMesh = {
    get peers() {
      return peersOf()
    },
    get providers() {
      return peersOf('provider')
    },
    get routers() {
      return peersOf('router')
    },
    unconverged() {
      const wanted = peersOf('provider').map((p) => p.peerId)
      return peersOf('router').filter((router) => {
        const listed = new Set(router.directory.candidates(MESH_MODEL).map((c) => c.peerId))
        return wanted.some((id) => !listed.has(id))
      })
    },
    async waitConverged({ timeoutMs = 60_000, signal } = {}) {
      const started = performance.now()
      while (mesh.unconverged().length > 0) {
        signal?.throwIfAborted()
        if (performance.now() - started > timeoutMs)
          throw new Error(
            `${mesh.unconverged().length}/${peersOf('router').length} routers unconverged after ${timeoutMs} ms`
          )
        await new Promise((resolve) => setTimeout(resolve, 50))
      }
      return performance.now() - started
    },
    addPeer: add,
    async stop() {
      // all at once: a peer stopping one by one would make the others re-dial and re-probe it
      await Promise.all(running.splice(0).map((r) => stopAll(r.services)))
    }
  }

  try {
    const first = await add(roleOf(0))
    bootstrap = [first.multiaddr]
    const batch = Math.max(1, options.startBatch ?? 10)
    for (let i = 1; i < n; i += batch) {
      const size = Math.min(batch, n - i)
      const results = await Promise.allSettled(
        Array.from({ length: size }, (_, k) => startPeer(i + k, roleOf(i + k), bootstrap, options))
      )
      for (const result of results) if (result.status === 'fulfilled') running.push(result.value)
      const failed = results.find((r) => r.status === 'rejected')
      if (failed !== undefined) throw failed.reason
    }
  } catch (err) {
    await mesh.stop()
    throw err
  }
  return mesh
}
