// The idle cost of a node of the in-process mesh: wire messages, bytes and CPU per node per second over
// a window, minute by minute.
import { monitorEventLoopDelay } from 'node:perf_hooks'
import { trafficDelta, emptyTraffic, type Traffic } from '../../test/helpers/counted-transport'
import type { MemoryMesh, MeshPeer } from '../../test/helpers/memory-mesh'
import { sleep } from '../../electron/core/util/startable'
import { round } from './stats'

// The idle window. The longest idle timers are kad-dht's own, every 5 min per node (a lookup of its own
// id, and a refresh of each routing-table bucket), beside this project's DHT rounds backing off to
// 640 s. A 60-s window caught a different share of them each run (at 10 peers, 5.3 to 9.8 msgs per
// node per s from one minute to the next), so --full counts 5 min, one whole period of those timers.
// The default run keeps 60 s (one connection-ping period, three link-probe ticks) to stay within its
// 10 minutes, and its idle numbers move with the window's place.
export const IDLE_WINDOW_MS = 60_000
export const IDLE_WINDOW_FULL_MS = 300_000
const IDLE_SLICE_MS = 60_000

function totalStreams(peers: MeshPeer[]): Record<string, number> {
  const total: Record<string, number> = {}
  for (const peer of peers)
    for (const [name, count] of Object.entries(peer.streams)) total[name] = (total[name] ?? 0) + count
  return total
}

function totalTraffic(peers: MeshPeer[]): Traffic {
  const total = emptyTraffic()
  for (const peer of peers)
    for (const key of Object.keys(total) as Array<keyof Traffic>) total[key] += peer.traffic[key]
  return total
}

/**
 * Idle cost per node per second over a window, as the mean over all peers, with the messages of
 * each minute of it (how much the window's place moves the number).
 */
export async function idleCost(mesh: MemoryMesh, windowMs: number) {
  const before = totalTraffic(mesh.peers)
  const streamsBefore = totalStreams(mesh.peers)
  const cpuBefore = process.cpuUsage()
  const lag = monitorEventLoopDelay({ resolution: 10 })
  lag.enable()
  const started = performance.now()
  const perNodeSec = (v: number, seconds: number) => v / mesh.peers.length / seconds
  const sliceMsgs: number[] = []
  for (let left = windowMs; left > 0; left -= IDLE_SLICE_MS) {
    const sliceBefore = totalTraffic(mesh.peers)
    const sliceStarted = performance.now()
    await sleep(Math.min(left, IDLE_SLICE_MS))
    const slice = trafficDelta(totalTraffic(mesh.peers), sliceBefore)
    sliceMsgs.push(perNodeSec(slice.msgsSent + slice.msgsReceived, (performance.now() - sliceStarted) / 1000))
  }
  const seconds = (performance.now() - started) / 1000
  const cpu = process.cpuUsage(cpuBefore)
  lag.disable()
  const streams = Object.entries(totalStreams(mesh.peers))
    .map(
      ([name, count]) => [name, round((count - (streamsBefore[name] ?? 0)) / mesh.peers.length / seconds, 3)] as const
    )
    .filter(([, rate]) => rate > 0)
    .sort((a, b) => b[1] - a[1])
  const delta = trafficDelta(totalTraffic(mesh.peers), before)
  return {
    msgs: perNodeSec(delta.msgsSent + delta.msgsReceived, seconds),
    /** messages per node per s in each minute of the window */
    sliceMsgs,
    bytes: perNodeSec(delta.bytesSent + delta.bytesReceived, seconds),
    cpuMs: perNodeSec((cpu.user + cpu.system) / 1000, seconds),
    newConnections: delta.connectionsOpened,
    /** outbound streams per node per second, by protocol */
    streams,
    lagP99Ms: lag.percentile(99) / 1e6
  }
}
