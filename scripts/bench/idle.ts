// Idle cost of one node: RSS and CPU of a headless router (`--no-serve`) and of a provider serving
// a model (process runtime, meshwork-tiny) after they have settled, default settings.
import { memoryMB, metricsOf } from './node-metrics'
import { cpuPercentOver, rssMB } from './proc-stats'
import { type BenchNode, startBenchNode, startProviderNode, stopBenchNodes } from './routing-nodes'
import { type BenchContext, type Measured, round } from './stats'

const SETTLE_MS = 20_000

/** Where a node's memory goes, from its own /metrics (prom-client's process metrics), in MB. */
async function heapOf(node: BenchNode): Promise<{ heapUsed: number; heapTotal: number; external: number }> {
  const { heapUsed, heapTotal, external } = memoryMB(await metricsOf(node))
  return { heapUsed: round(heapUsed, 1), heapTotal: round(heapTotal, 1), external: round(external, 1) }
}

export async function idleBench(ctx: BenchContext): Promise<Measured> {
  try {
    const provider = await startProviderNode('meshwork-tiny', [], { defaults: true })
    const router = await startBenchNode(['--no-serve'], [provider.multiaddr], { defaults: true })
    await new Promise((r) => setTimeout(r, SETTLE_MS))
    const [routerCpu, providerCpu] = await cpuPercentOver([router.proc.pid!, provider.proc.pid!], 10_000)
    const heap = await heapOf(router)
    const out: Measured = {
      'idle.heapUsedMB': heap.heapUsed,
      'idle.heapTotalMB': heap.heapTotal,
      'idle.externalMB': heap.external,
      'idle.rssMB': round(rssMB(router.proc.pid!), 1),
      'idle.rssMBServing': round(rssMB(provider.proc.pid!), 1),
      'idle.cpuPercentRouter': round(routerCpu, 2),
      'idle.cpuPercentProvider': round(providerCpu, 2)
    }
    ctx.log(
      `idle after ${SETTLE_MS / 1000} s: --no-serve node ${out['idle.rssMB']} MB RSS, ${out['idle.cpuPercentRouter']} % CPU; ` +
        `serving node (worker process not counted) ${out['idle.rssMBServing']} MB, ${out['idle.cpuPercentProvider']} % CPU; ` +
        `--no-serve heap ${heap.heapUsed} MB used of ${heap.heapTotal} MB, external ${heap.external} MB`
    )
    return out
  } finally {
    await stopBenchNodes()
  }
}
