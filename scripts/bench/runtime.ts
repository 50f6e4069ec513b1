// Runtime bench: the worker in a container against the same worker as a child process (tokens/s and
// their ratio), a cold worker-image build, and container / process start-to-ready. Real Docker engine.
import { randomBytes } from 'node:crypto'
import { execFileSync } from 'node:child_process'
import { mkdtempSync } from 'node:fs'
import { rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createEvents } from '../../electron/core/events'
import { createDockerRuntime, createProcessRuntime } from '../../electron/core/runtime/create'
import { removePeerContainers } from '../../electron/core/runtime/docker/docker-launcher'
import { createDockerClient, detectDocker, peerLabels } from '../../electron/core/runtime/docker/engine'
import { ensureWorkerImage } from '../../electron/core/runtime/docker/image'
import { ensureBuiltinModel } from '../../electron/core/runtime/models'
import type { ResolvedModel } from '../../electron/core/runtime/models/types'
import { resolveWorkerPaths } from '../../electron/core/runtime/paths'
import type { SupervisedRuntime } from '../../electron/core/runtime/supervisor'
import { createLogger } from '../../electron/core/util/logger'

type Log = (line: string) => void

const MODEL = 'meshwork-small'
const TOKENS = 256
const RUNS = 3

const round = (n: number, digits = 2): number => Math.round(n * 10 ** digits) / 10 ** digits
const median = (values: number[]): number => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]

/** One greedy completion; tokens per second of decoding as the client sees it (wall clock). */
async function tokensPerSecond(endpoint: string, prompt: string): Promise<number> {
  const started = performance.now()
  const response = await fetch(`${endpoint}/v1/completions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ model: MODEL, prompt, max_tokens: TOKENS, temperature: 0 }),
    signal: AbortSignal.timeout(120_000)
  })
  if (!response.ok) throw new Error(`completion failed: ${response.status} ${await response.text()}`)
  const body = (await response.json()) as { usage?: { completion_tokens?: number } }
  const seconds = (performance.now() - started) / 1000
  return (body.usage?.completion_tokens ?? 0) / seconds
}

/** Starts a runtime; returns the ms from launching the worker (after image/preparation) to healthy. */
async function startTimed(runtime: SupervisedRuntime, events: ReturnType<typeof createEvents>): Promise<number> {
  let launchedAt = 0
  let readyAt = 0
  events.on('runtime:status', (s) => {
    if (s.state === 'starting') launchedAt = performance.now()
    if (s.state === 'ready' && readyAt === 0) readyAt = performance.now()
  })
  await runtime.start()
  if (runtime.status().state !== 'ready')
    throw new Error(`${runtime.kind} runtime did not start: ${runtime.status().message}`)
  return readyAt - launchedAt
}

export async function runtimeBench(log: Log): Promise<Record<string, number>> {
  const docker = await createDockerClient()
  await detectDocker(docker)
  const peerId = `bench-runtime-${randomBytes(4).toString('hex')}`
  const dir = mkdtempSync(join(tmpdir(), 'meshwork-bench-runtime-'))
  const logger = createLogger('bench', { level: 'warn' })
  const paths = resolveWorkerPaths()
  let dockerRuntime: SupervisedRuntime | undefined
  let processRuntime: SupervisedRuntime | undefined
  try {
    const model: ResolvedModel = await ensureBuiltinModel(MODEL, join(dir, 'models'))
    log(`runtime: model ${MODEL} (${model.params} params), ${TOKENS} tokens x ${RUNS} runs each, greedy`)

    const image = await ensureWorkerImage({ docker, paths, labels: peerLabels(peerId), noCache: true })
    const sizeMB = (image.sizeBytes ?? 0) / 1e6
    log(`runtime: cold image build ${(image.ms / 1000).toFixed(1)} s, image ${sizeMB.toFixed(0)} MB (${image.tag})`)

    const dockerEvents = createEvents()
    const components = (events: typeof dockerEvents) => ({
      logger,
      events,
      peerId,
      dataDir: dir,
      models: [model],
      threads: 1
    })
    dockerRuntime = createDockerRuntime(components(dockerEvents), { paths })
    const containerReadyMs = await startTimed(dockerRuntime, dockerEvents)
    const processEvents = createEvents()
    processRuntime = createProcessRuntime(components(processEvents), { paths })
    const processReadyMs = await startTimed(processRuntime, processEvents)
    log(`runtime: start-to-ready container ${containerReadyMs.toFixed(0)} ms, process ${processReadyMs.toFixed(0)} ms`)

    // warm both, then alternate so that load on the machine hits both alike
    await tokensPerSecond(dockerRuntime.endpoint()!, 'warm up')
    await tokensPerSecond(processRuntime.endpoint()!, 'warm up')
    const inContainer: number[] = []
    const inProcess: number[] = []
    for (let i = 0; i < RUNS; i++) {
      const prompt = `Benchmark run ${i}: the mesh`
      inContainer.push(await tokensPerSecond(dockerRuntime.endpoint()!, prompt))
      inProcess.push(await tokensPerSecond(processRuntime.endpoint()!, prompt))
    }
    const container = median(inContainer)
    const processTps = median(inProcess)
    log(
      `runtime: tokens/s container ${container.toFixed(0)}, process ${processTps.toFixed(0)}, ratio ${(container / processTps).toFixed(3)}`
    )
    const sizeFromCli = Number(
      execFileSync('docker', ['image', 'inspect', '-f', '{{.Size}}', image.tag], { encoding: 'utf8' }).trim()
    )
    return {
      runtime_image_build_cold_s: round(image.ms / 1000),
      runtime_image_size_mb: round((sizeFromCli || image.sizeBytes || 0) / 1e6, 1),
      runtime_container_start_to_ready_ms: Math.round(containerReadyMs),
      runtime_process_start_to_ready_ms: Math.round(processReadyMs),
      runtime_container_tokens_per_s: round(container, 1),
      runtime_process_tokens_per_s: round(processTps, 1),
      runtime_container_vs_process_ratio: round(container / processTps, 3)
    }
  } finally {
    await dockerRuntime?.stop().catch(() => undefined)
    await processRuntime?.stop().catch(() => undefined)
    await removePeerContainers(docker, peerId).catch(() => undefined)
    await rm(dir, { recursive: true, force: true })
  }
}
