// Scale in one process: 10 and 30 peers (100 with --full) on libp2p's memory transport, each the real
// p2p stack of a node (libp2p with kad-dht and gossipsub, directory, advertiser, discovery, link
// prober), one in ten a provider. Per size: time until every router lists every provider, a paused
// advert reaching every router by gossip, a new provider reaching every router, a new router listing
// every provider, DHT lookup hops and time, heap per peer, and the idle cost of one node per second
// (wire messages, bytes, CPU).
import { setFlagsFromString } from 'node:v8'
import { runInNewContext } from 'node:vm'
import { modelCid } from '../../electron/core/p2p/model-cid'
import { sleep } from '../../electron/core/util/startable'
import { MESH_MODEL, type MemoryMesh, type MeshPeer, startMemoryMesh } from '../../test/helpers/memory-mesh'
import { IDLE_WINDOW_FULL_MS, IDLE_WINDOW_MS, idleCost } from './mesh-idle'
import { measureLookup } from './mesh-lookup'
import { type BenchContext, type Measured, median, round } from './stats'

// From convergence to the idle window. A router lists a provider once gossip brings its advert, and
// reaches it (advert fetch, first link probe) in the seconds after: 64 and 72 connections opened in a
// window that began 5 s after convergence at 30 peers, none in one that began 20 s after
const SETTLE_MS = 30_000
// The link prober measures one new provider per 20-s tick (256 KB each): its first round is join work.
// Before it counted, the idle window held 0 to 3 of those probes, as it fell, and they were most of
// the idle bytes at 30 and 100 peers.
const PROBE_TICK_MS = 20_000
const LOOKUPS = 5

let gc: (() => void) | undefined

/** Heap in use after a full collection (gc exposed for this process on first use). */
function heapMB(): number {
  if (gc === undefined) {
    setFlagsFromString('--expose-gc')
    gc = runInNewContext('gc') as () => void
  }
  gc()
  gc()
  return process.memoryUsage().heapUsed / 2 ** 20
}

/** Waits until `done` holds for every router; the ms it took, or NaN past the timeout. */
async function until(mesh: MemoryMesh, done: (router: MeshPeer) => boolean, timeoutMs: number): Promise<number> {
  const started = performance.now()
  while (performance.now() - started < timeoutMs) {
    if (mesh.routers.every(done)) return Math.round(performance.now() - started)
    await sleep(50)
  }
  return Number.NaN
}

async function measureSize(n: number, ctx: BenchContext): Promise<Measured> {
  const providers = Math.max(2, Math.round(n / 10))
  const timeoutMs = n >= 100 ? 240_000 : 120_000
  const heapBefore = heapMB()
  const started = performance.now()
  const cpuBefore = process.cpuUsage()
  const mesh = await startMemoryMesh(n, { providers })
  try {
    const upMs = performance.now() - started
    const converged = await mesh.waitConverged({ timeoutMs }).then(
      () => Math.round(performance.now() - started),
      () => Number.NaN
    )
    if (Number.isNaN(converged))
      ctx.note(
        `mesh.convergeMs${n}`,
        `${mesh.unconverged().length}/${mesh.routers.length} routers missed a provider after ${timeoutMs / 1000} s`
      )
    // the share of one core this process used until convergence: near 100 % means CPU-bound here
    const cpuDuring = process.cpuUsage(cpuBefore)
    const convergeCpuShare = (cpuDuring.user + cpuDuring.system) / 1000 / (performance.now() - started)
    const heapPerPeer = (heapMB() - heapBefore) / n
    const convergedAt = performance.now()
    const probed = (r: MeshPeer) => mesh.providers.every((p) => r.directory.get(p.peerId)?.throughputMbps !== undefined)
    const probedMs = await until(mesh, probed, PROBE_TICK_MS * (providers + 2))
    if (Number.isNaN(probedMs))
      ctx.note(`mesh.idleMsgsPerNodeSec${n}`, 'some router had not probed every provider when the idle window began')
    await sleep(Math.max(5_000, SETTLE_MS - (performance.now() - convergedAt)))
    const idle = await idleCost(mesh, ctx.full ? IDLE_WINDOW_FULL_MS : IDLE_WINDOW_MS)

    const routers = mesh.routers
    const lookups = []
    for (let i = 0; i < LOOKUPS; i++) {
      const router = routers[Math.floor((i * routers.length) / LOOKUPS)]
      lookups.push(
        await measureLookup(router.libp2p, await modelCid(MESH_MODEL), { signal: AbortSignal.timeout(10_000) })
      )
    }
    const hit = lookups.filter((l) => l.hops !== undefined)

    // gossip: a provider other than the bootstrap pauses; every router must see the new advert
    const target = mesh.providers[1]
    await target.setPaused(true)
    const gossipMs = await until(mesh, (r) => r.directory.get(target.peerId)?.advert.paused === true, 30_000)
    await target.setPaused(false)
    await until(mesh, (r) => r.directory.get(target.peerId)?.advert.paused === false, 30_000)
    // a provider joins: how long until every router lists it
    const joinStarted = performance.now()
    const newcomer = await mesh.addPeer('provider')
    const joinMs = await until(mesh, (r) => r.directory.get(newcomer.peerId)?.alive === true, 60_000).then((ms) =>
      Number.isNaN(ms) ? ms : Math.round(performance.now() - joinStarted)
    )

    const conns = mesh.peers.map((p) => p.libp2p.getConnections().length)
    const watched = mesh.peers.map((p) => p.discovery.scheduler.size)
    // a router joins: how long until it lists every provider (what a newcomer learns of a settled mesh)
    const routerStarted = performance.now()
    const joiner = await mesh.addPeer('router')
    const everyProvider = mesh.providers.map((p) => p.peerId)
    const listsAll = () => everyProvider.every((id) => joiner.directory.get(id)?.alive === true)
    const routerJoinMs = await until(mesh, listsAll, 120_000).then((ms) =>
      Number.isNaN(ms) ? ms : Math.round(performance.now() - routerStarted)
    )
    const out: Measured = {
      [`mesh.upMs${n}`]: Math.round(upMs),
      [`mesh.convergeMs${n}`]: converged,
      [`mesh.firstProbesAfterConvergeMs${n}`]: probedMs,
      [`mesh.gossipConvergeMs${n}`]: gossipMs,
      [`mesh.joinConvergeMs${n}`]: joinMs,
      [`mesh.routerJoinMs${n}`]: routerJoinMs,
      [`mesh.lookupHops${n}`]: hit.length > 0 ? median(hit.map((l) => l.hops!)) : Number.NaN,
      [`mesh.lookupHopsMax${n}`]: hit.length > 0 ? Math.max(...hit.map((l) => l.hops!)) : Number.NaN,
      [`mesh.lookupRpcsToFirst${n}`]: hit.length > 0 ? median(hit.map((l) => l.rpcsToFirst!)) : Number.NaN,
      [`mesh.lookupMsToFirst${n}`]: hit.length > 0 ? round(median(hit.map((l) => l.msToFirst!)), 1) : Number.NaN,
      [`mesh.lookupRpcs${n}`]: median(lookups.map((l) => l.rpcs)),
      [`mesh.lookupMs${n}`]: round(median(lookups.map((l) => l.ms)), 1),
      [`mesh.lookupFound${n}`]: hit.length,
      [`mesh.heapMBPerPeer${n}`]: round(heapPerPeer, 2),
      [`mesh.idleMsgsPerNodeSec${n}`]: round(idle.msgs, 1),
      [`mesh.idleMsgsPerNodeSecMinuteMin${n}`]: round(Math.min(...idle.sliceMsgs), 1),
      [`mesh.idleMsgsPerNodeSecMinuteMax${n}`]: round(Math.max(...idle.sliceMsgs), 1),
      [`mesh.idleWindowS${n}`]: Math.round((ctx.full ? IDLE_WINDOW_FULL_MS : IDLE_WINDOW_MS) / 1000),
      [`mesh.idleBytesPerNodeSec${n}`]: Math.round(idle.bytes),
      [`mesh.idleCpuMsPerNodeSec${n}`]: round(idle.cpuMs, 2),
      [`mesh.idleNewConnections${n}`]: idle.newConnections,
      [`mesh.connsPerNode${n}`]: median(conns),
      [`mesh.connsPerNodeMax${n}`]: Math.max(...conns),
      [`mesh.watchedPerNode${n}`]: median(watched),
      [`mesh.convergeCpuShare${n}`]: round(convergeCpuShare, 2),
      [`mesh.idleLagP99Ms${n}`]: round(idle.lagP99Ms, 1)
    }
    ctx.log(
      `${n} peers (${providers} providers): up ${out[`mesh.upMs${n}`]} ms, converged ${converged} ms, pause by gossip ${gossipMs} ms, ` +
        `newcomer ${joinMs} ms, a joining router listed all after ${routerJoinMs} ms; lookup ${out[`mesh.lookupHops${n}`]} hops / ${out[`mesh.lookupRpcsToFirst${n}`]} RPCs / ` +
        `${out[`mesh.lookupMsToFirst${n}`]} ms to a provider (${hit.length}/${LOOKUPS} found; whole query ${out[`mesh.lookupRpcs${n}`]} RPCs, ` +
        `${out[`mesh.lookupMs${n}`]} ms); heap ${out[`mesh.heapMBPerPeer${n}`]} MB/peer; idle per node per s: ` +
        `${out[`mesh.idleMsgsPerNodeSec${n}`]} msgs, ${out[`mesh.idleBytesPerNodeSec${n}`]} B, ${out[`mesh.idleCpuMsPerNodeSec${n}`]} ms CPU; ` +
        `connections per node ${out[`mesh.connsPerNode${n}`]} (max ${out[`mesh.connsPerNodeMax${n}`]}), watched ${out[`mesh.watchedPerNode${n}`]}`
    )
    if (idle.lagP99Ms > 1_000)
      ctx.note(
        `mesh.idleMsgsPerNodeSec${n}`,
        `event-loop lag p99 ${Math.round(idle.lagP99Ms)} ms while idle: the process was starved (machine too busy), so the idle rates at ${n} peers are understated`
      )
    ctx.log(
      `  idle msgs per node per s, minute by minute: ${idle.sliceMsgs.map((m) => round(m, 1)).join(', ')}; ` +
        `idle streams per node per s: ${idle.streams.map(([name, rate]) => `${name} ${rate}`).join(', ')}; ` +
        `process CPU until converged ${round(convergeCpuShare * 100, 0)} % of a core, idle event-loop lag p99 ${out[`mesh.idleLagP99Ms${n}`]} ms`
    )
    return out
  } finally {
    await mesh.stop()
  }
}

/** How each idle number grows from the smallest size to the others (the target: ≤ 1.5x). */
function growth(out: Measured, sizes: number[], ctx: BenchContext): void {
  const [base, ...rest] = sizes
  for (const metric of [
    'idleMsgsPerNodeSec',
    'idleBytesPerNodeSec',
    'idleCpuMsPerNodeSec',
    'convergeMs',
    'heapMBPerPeer'
  ]) {
    const from = out[`mesh.${metric}${base}`]
    const steps = rest.map((n) => {
      const ratio = round(out[`mesh.${metric}${n}`] / from, 2)
      out[`mesh.${metric}Growth${base}to${n}`] = ratio
      return `${n}: ${ratio}x`
    })
    ctx.log(`${metric} from ${base} peers → ${steps.join(', ')}`)
  }
}

export async function meshBench(ctx: BenchContext): Promise<Measured> {
  const sizes = ctx.full ? [10, 30, 100] : [10, 30]
  if (!ctx.full) ctx.note('mesh.convergeMs100', 'the 100-peer mesh runs with --full')
  const out: Measured = {}
  for (const n of sizes) Object.assign(out, await measureSize(n, ctx))
  growth(out, sizes, ctx)
  return out
}
