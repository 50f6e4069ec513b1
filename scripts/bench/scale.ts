// Idle cost and convergence with N real processes on 127.0.0.1, default settings, laid out as the
// scale target states them: one `--no-serve` bootstrap node, two providers, and N - 3 `--no-serve`
// nodes started together. Measures the time until every node (the bootstrap too) lists both
// providers (from the spawn, and the longest from a node's own start to it listing both: 30 processes
// starting at once on 2 cores take a while to be up) and the CPU every process used until then; then
// each process's CPU over 20 s twice: right after convergence, while nodes still finish joining
// (first checks of each provider spread over 30 s, first challenges and link probes, DHT lookups
// backing off), and idle, once that is done a minute later; and the nodes' RSS. The CPU the bootstrap
// took to start alone is the run's yardstick: the same join costs twice as much on a slow day.
import { availableParallelism } from 'node:os'
import { startFakeOpenAI } from './fake-openai'
import { cpuPercentOver, cpuSeconds, rssMB } from './proc-stats'
import { type BenchNode, liveProviders, startBenchNode, startExternalProvider, stopBenchNodes } from './routing-nodes'
import { type BenchContext, type Measured, median, round } from './stats'

// the node serves its configured model (meshwork-tiny by default) from the fake endpoint
const MODEL = 'meshwork-tiny'
const CPU_WINDOW_MS = 20_000
/** From convergence to the idle window: the join work above ends within about a minute. */
const SETTLE_MS = 60_000

export async function scaleBench(ctx: BenchContext): Promise<Measured> {
  const n = ctx.full ? 30 : 10
  const timeoutMs = ctx.full ? 300_000 : 120_000
  const fake = await startFakeOpenAI({ model: MODEL })
  try {
    // a bootstrap node that serves nothing: a provider as everyone's bootstrap also takes every
    // node's first challenges and advert fetches while it answers their handshakes and DHT queries
    const bootstrap = await startBenchNode(['--no-serve'], [], { defaults: true })
    // this run's yardstick for the machine's speed: what one node alone spends to start
    const soloStartCpu = cpuSeconds(bootstrap.proc.pid!)
    const first = await startExternalProvider(fake.url, MODEL, [bootstrap.multiaddr], { defaults: true })
    const second = await startExternalProvider(fake.url, MODEL, [bootstrap.multiaddr], { defaults: true })
    const started = performance.now()
    const earlyCpu = new Map([bootstrap, first, second].map((node) => [node, cpuSeconds(node.proc.pid!)]))
    const benchCpu = process.cpuUsage()
    const joiners: BenchNode[] = await Promise.all(
      Array.from({ length: n - 3 }, () =>
        startBenchNode(['--no-serve'], [bootstrap.multiaddr], { defaults: true, startTimeoutMs: timeoutMs })
      )
    )
    const upMs = performance.now() - started
    const nodes = [bootstrap, ...joiners]
    const pending = new Set(nodes)
    let afterUpMs = 0
    // when each node first listed a provider (it had joined) and then the other one: the two halves
    // of convergence, which need different fixes
    const joinedMs = new Map<BenchNode, number>()
    const heardMs: number[] = []
    while (pending.size > 0 && performance.now() - started < timeoutMs) {
      for (const node of [...pending]) {
        const live = await liveProviders(node, MODEL).catch((): string[] => [])
        const listed = [first.peerId, second.peerId].filter((id) => live.includes(id)).length
        if (listed > 0 && !joinedMs.has(node)) joinedMs.set(node, performance.now() - started)
        if (listed < 2) continue
        pending.delete(node)
        // the bootstrap was up before the spawn: its own start says nothing about the join
        if (node !== bootstrap) afterUpMs = Math.max(afterUpMs, performance.now() - node.upAt)
        heardMs.push(performance.now() - started - (joinedMs.get(node) ?? 0))
      }
      if (pending.size > 0) await new Promise((r) => setTimeout(r, 250))
    }
    const convergeMs = performance.now() - started
    // CPU each process used from the spawn to convergence, against what the machine had in that time
    const joinCpu = [...nodes, first, second].map((node) => cpuSeconds(node.proc.pid!) - (earlyCpu.get(node) ?? 0))
    const joinCpuSum = joinCpu.reduce((a, b) => a + b, 0)
    const benchUsage = process.cpuUsage(benchCpu)
    const benchCpuS = (benchUsage.user + benchUsage.system) / 1e6
    const pids = [...nodes, first, second].map((node) => node.proc.pid!)
    const joining = await cpuPercentOver(pids, CPU_WINDOW_MS)
    await new Promise((r) => setTimeout(r, SETTLE_MS - CPU_WINDOW_MS))
    const cpu = await cpuPercentOver(pids, CPU_WINDOW_MS)
    const rss = nodes.map((node) => rssMB(node.proc.pid!))
    // how many peers each node holds a connection to once idle: the mesh's n² is here. Last, after the
    // CPU windows: a `--no-serve` node detects its hardware when its status is first asked for
    const connections = await Promise.all(
      nodes.map(async (node) => (await node.get('/api/status').catch(() => ({}))).connections ?? Number.NaN)
    )
    const out: Measured = {
      [`scale.nodesUpMs${n}`]: Math.round(upMs),
      [`scale.convergeMs${n}`]: pending.size === 0 ? Math.round(convergeMs) : Number.NaN,
      [`scale.convergeAfterUpMs${n}`]: pending.size === 0 ? Math.round(afterUpMs) : Number.NaN,
      [`scale.unconverged${n}`]: pending.size,
      [`scale.joinedMsMedian${n}`]: Math.round(median([...joinedMs.values()])),
      [`scale.joinedMsMax${n}`]: Math.round(Math.max(...joinedMs.values())),
      [`scale.secondProviderAfterJoinMsMax${n}`]: Math.round(Math.max(...heardMs)),
      [`scale.joinCpuSecondsMedian${n}`]: round(median(joinCpu), 2),
      [`scale.joinCpuSecondsSum${n}`]: round(joinCpuSum, 1),
      'scale.soloStartCpuSeconds': round(soloStartCpu, 2),
      [`scale.joinCpuPerSoloStart${n}`]: round(median(joinCpu) / soloStartCpu, 2),
      [`scale.joinMachineShare${n}`]: round(
        (joinCpuSum + benchCpuS) / ((convergeMs / 1000) * availableParallelism()),
        2
      ),
      [`scale.joinBenchCpuSeconds${n}`]: round(benchCpuS, 1),
      [`idle.cpuPercentPerNode${n}`]: round(median(cpu), 2),
      [`idle.cpuPercentPerNodeMax${n}`]: round(Math.max(...cpu), 2),
      [`idle.cpuPercentPerNodeJoining${n}`]: round(median(joining), 2),
      [`idle.rssMBMedian${n}`]: round(median(rss), 1),
      [`idle.connectionsMedian${n}`]: median(connections),
      [`idle.connectionsMax${n}`]: Math.max(...connections)
    }
    if (pending.size > 0)
      ctx.note(
        `scale.convergeMs${n}`,
        `${pending.size}/${nodes.length} nodes still missed a provider after ${timeoutMs / 1000} s`
      )
    if (n !== 30) {
      ctx.note('scale.convergeMs30', `default run uses ${n} nodes (scale.convergeMs${n}); 30 with --full`)
      ctx.note('idle.cpuPercentPerNode30', `default run uses ${n} nodes (idle.cpuPercentPerNode${n}); 30 with --full`)
    }
    ctx.log(
      `${n} processes (a --no-serve bootstrap, 2 providers, ${n - 3} --no-serve nodes): all up in ${out[`scale.nodesUpMs${n}`]} ms, every node lists both providers after ` +
        `${pending.size === 0 ? out[`scale.convergeMs${n}`] + ' ms' : `(${pending.size} never did)`} ` +
        `(at most ${Math.round(afterUpMs)} ms after its own start; joined, listing a provider, after ` +
        `${out[`scale.joinedMsMedian${n}`]} ms median, ${out[`scale.joinedMsMax${n}`]} ms at most; the other provider ` +
        `at most ${out[`scale.secondProviderAfterJoinMsMax${n}`]} ms after that); until then each process used ` +
        `${out[`scale.joinCpuSecondsMedian${n}`]} CPU-s (median; ${out[`scale.joinCpuPerSoloStart${n}`]}x the ` +
        `${out['scale.soloStartCpuSeconds']} CPU-s the bootstrap took to start alone), all ${out[`scale.joinCpuSecondsSum${n}`]} and this ` +
        `bench's polling ${out[`scale.joinBenchCpuSeconds${n}`]}, ${round(out[`scale.joinMachineShare${n}`] * 100, 0)} % of ` +
        `the machine's cores; CPU per node median ` +
        `${out[`idle.cpuPercentPerNodeJoining${n}`]} % right after, ${out[`idle.cpuPercentPerNode${n}`]} % idle a minute later ` +
        `(max ${out[`idle.cpuPercentPerNodeMax${n}`]} %), RSS median ${out[`idle.rssMBMedian${n}`]} MB, ` +
        `${out[`idle.connectionsMedian${n}`]} connections median (max ${out[`idle.connectionsMax${n}`]})`
    )
    return out
  } finally {
    await stopBenchNodes()
    await fake.close()
  }
}
