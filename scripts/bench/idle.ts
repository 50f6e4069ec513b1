// Idle cost of one node: RSS and CPU of a headless router (`--no-serve`) and of a provider serving
// a model (process runtime, meshwork-tiny) after they have settled, default settings.
import { cpuPercentOver, rssMB } from './proc-stats'
import { startBenchNode, startProviderNode, stopBenchNodes } from './routing-nodes'
import { type BenchContext, type Measured, round } from './stats'

const SETTLE_MS = 20_000

export async function idleBench(ctx: BenchContext): Promise<Measured> {
  try {
    const provider = await startProviderNode('meshwork-tiny', [], { defaults: true })
    const router = await startBenchNode(['--no-serve'], [provider.multiaddr], { defaults: true })
    await new Promise((r) => setTimeout(r, SETTLE_MS))
    const [routerCpu, providerCpu] = await cpuPercentOver([router.proc.pid!, provider.proc.pid!], 10_000)
    const out: Measured = {
      'idle.rssMB': round(rssMB(router.proc.pid!), 1),
      'idle.rssMBServing': round(rssMB(provider.proc.pid!), 1),
      'idle.cpuPercentRouter': round(routerCpu, 2),
      'idle.cpuPercentProvider': round(providerCpu, 2)
    }
    ctx.log(
      `idle after ${SETTLE_MS / 1000} s: --no-serve node ${out['idle.rssMB']} MB RSS, ${out['idle.cpuPercentRouter']} % CPU; ` +
        `serving node (worker process not counted) ${out['idle.rssMBServing']} MB, ${out['idle.cpuPercentProvider']} % CPU`
    )
    return out
  } finally {
    await stopBenchNodes()
  }
}
