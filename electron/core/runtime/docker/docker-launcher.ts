import { accessSync, constants, mkdirSync } from 'node:fs'
import { join } from 'node:path'
import { Writable } from 'node:stream'
import type Docker from 'dockerode'
import type { RuntimeStatus } from '../../../../shared/api'
import { RuntimeUnavailableError } from '../../util/errors'
import type { RuntimeComponents, RuntimeOptions } from '../components'
import { waitForHealth } from '../health'
import type { ImageVariant } from '../image/recipe'
import { CONTAINER_PORT } from '../image/recipe'
import { lineSplitter } from '../lines'
import { resolveWorkerPaths } from '../paths'
import type { WorkerInstance, WorkerLauncher } from '../supervisor'
import { createLaunchSecret, removeLaunchSecrets } from '../launch-secret'
import { containerSpec } from './container-spec'
import { createDockerClient, detectDocker, LABEL_PEER, peerLabels } from './engine'
import { ensureWorkerImage, type WorkerImage } from './image'
import { startSocketProxy, type SocketProxy } from './socket-proxy'

function isNotFound(err: unknown): boolean {
  return (err as { statusCode?: number }).statusCode === 404
}

/** The image flavour for the detected GPU: CUDA prebuilt for NVIDIA, Vulkan for AMD, else CPU. */
export function imageVariant(gpu: RuntimeComponents['gpu']): ImageVariant {
  if (gpu?.vendor === 'nvidia') return 'cuda'
  if (gpu?.vendor === 'amd') return 'vulkan'
  return 'cpu'
}

/**
 * File digests are shared by every node of one install (node_modules/.cache, as other tools do), so a
 * fresh data dir does not re-read 170 MB; the data dir is the fallback where the install is read-only.
 */
function digestCachePath(rootDir: string, dataDir: string): string {
  const shared = join(rootDir, 'node_modules', '.cache', 'meshwork')
  try {
    mkdirSync(shared, { recursive: true })
    accessSync(shared, constants.W_OK)
    return join(shared, 'worker-digests.json')
  } catch {
    return join(dataDir, 'cache', 'worker-digests.json')
  }
}

/** Removes the containers a previous run of this peer left behind; other peers' containers stay. */
export async function removePeerContainers(docker: Docker, peerId: string): Promise<string[]> {
  const found = await docker.listContainers({ all: true, filters: { label: [`${LABEL_PEER}=${peerId}`] } })
  const removed: string[] = []
  for (const info of found) {
    if (info.Labels?.[LABEL_PEER] !== peerId) continue
    try {
      await docker.getContainer(info.Id).remove({ force: true })
      removed.push(info.Id)
    } catch (err) {
      if (!isNotFound(err)) throw err
    }
  }
  return removed
}

/**
 * How the node reaches its container: on Linux the container gets no network at all and serves on a
 * unix socket (an internal Docker network would still let it reach every service the host binds on
 * 0.0.0.0 through the bridge's gateway address); elsewhere (Docker Desktop runs containers in a VM
 * that a socket in a bind mount does not cross) a port published on 127.0.0.1 only.
 */
export function workerNetwork(platform: NodeJS.Platform = process.platform): 'none' | 'published' {
  return platform === 'linux' ? 'none' : 'published'
}

/** The worker in a hardened container managed through dockerode. */
export class DockerLauncher implements WorkerLauncher {
  readonly kind = 'docker' as const
  private image?: WorkerImage

  constructor(
    private readonly components: RuntimeComponents,
    private readonly options: RuntimeOptions = {},
    /** Created by prepare() unless given: dockerode loads only once this node uses Docker. */
    private docker?: Docker
  ) {}

  private client(): Docker {
    if (!this.docker) throw new Error('prepare() must run before the launcher uses Docker')
    return this.docker
  }

  details(instance: WorkerInstance | undefined): Partial<RuntimeStatus> {
    return { ...(this.image ? { image: this.image.tag } : {}), ...(instance ? { containerId: instance.id } : {}) }
  }

  /** The image in use (after start): tag, whether it was built, and how long that took. */
  imageInfo(): WorkerImage | undefined {
    return this.image
  }

  async prepare({ signal, report }: Parameters<WorkerLauncher['prepare']>[0]): Promise<void> {
    const { logger, events, peerId, models } = this.components
    if (models.length === 0) throw new RuntimeUnavailableError('No model to serve')
    this.docker ??= await createDockerClient()
    const engine = await detectDocker(this.docker, { signal })
    logger.info('docker engine found', engine)
    const removed = await removePeerContainers(this.docker, peerId)
    if (removed.length > 0) logger.info('removed containers left by an earlier run', { count: removed.length })
    await removeLaunchSecrets(join(this.components.dataDir, 'run'))
    report('building', 'Preparing the worker image')
    const paths = resolveWorkerPaths(this.options.paths)
    this.image = await ensureWorkerImage({
      docker: this.docker,
      paths,
      variant: imageVariant(this.components.gpu),
      image: this.options.image,
      labels: peerLabels(peerId),
      digestCachePath: digestCachePath(paths.rootDir, this.components.dataDir),
      log: logger,
      signal,
      onProgress: (event) => events.emit('runtime:progress', event)
    })
    logger.info('worker image ready', { tag: this.image.tag, source: this.image.source, ms: this.image.ms })
  }

  async launch({ signal }: { signal: AbortSignal }): Promise<WorkerInstance> {
    const { components } = this
    const docker = this.client()
    if (!this.image) throw new Error('prepare() must run before launch()')
    const name = `meshwork-${components.peerId.slice(-10).replace(/[^a-zA-Z0-9]/g, '')}-${Date.now().toString(36)}`
    const network = workerNetwork()
    const secret = await createLaunchSecret(join(components.dataDir, 'run'))
    let proxy: SocketProxy | undefined
    let container: Docker.Container | undefined
    let logs: NodeJS.ReadableStream | undefined
    const remove = async (): Promise<void> => {
      ;(logs as { destroy?: () => void } | undefined)?.destroy?.()
      await container?.stop({ t: 5 }).catch(() => undefined)
      await container?.remove({ force: true }).catch((err: unknown) => {
        if (!isNotFound(err)) throw err
      })
      await proxy?.close()
      await secret.remove()
    }
    try {
      container = await docker.createContainer(
        containerSpec({
          image: this.image.tag,
          name,
          labels: peerLabels(components.peerId),
          models: components.models,
          threads: components.threads,
          gpu: components.gpu,
          parallel: this.options.parallel,
          maxQueue: this.options.maxQueue,
          memoryBytes: this.options.memoryBytes,
          pidsLimit: this.options.pidsLimit,
          network,
          tokenDir: secret.tokenDir,
          socketDir: secret.socketDir
        })
      )
      const started = container
      await started.start()
      logs = await this.followLogs(started)
      let exitReason: string | undefined
      const exited = started
        .wait()
        .then(async (result: { StatusCode?: number }) => {
          const state = await started.inspect().then(
            (i) => i.State,
            () => undefined
          )
          return state?.OOMKilled ? 'killed: out of memory' : `exit code ${result.StatusCode}`
        })
        .catch((err: unknown) => `lost: ${(err as Error).message}`)
        .then((reason) => (exitReason = reason))
      let endpoint: string
      if (network === 'none') {
        proxy = await startSocketProxy(join(secret.socketDir, 'worker.sock'))
        endpoint = `http://127.0.0.1:${proxy.port}`
      } else {
        const info = await started.inspect()
        const binding = info.NetworkSettings.Ports?.[`${CONTAINER_PORT}/tcp`]?.find((b) => b.HostIp === '127.0.0.1')
        if (!binding) throw new Error('The container has no 127.0.0.1 port binding')
        endpoint = `http://127.0.0.1:${binding.HostPort}`
      }
      await waitForHealth(endpoint, {
        signal,
        timeoutMs: this.options.readyTimeoutMs ?? 60_000,
        gone: () => exitReason
      })
      components.logger.info('worker container ready', { id: started.id.slice(0, 12), endpoint, network })
      return { endpoint, token: secret.token, id: started.id, exited, stop: remove }
    } catch (err) {
      await remove().catch(() => undefined)
      throw err
    }
  }

  private async followLogs(container: Docker.Container): Promise<NodeJS.ReadableStream> {
    const { events } = this.components
    const stream = (await container.logs({
      follow: true,
      stdout: true,
      stderr: true
    })) as unknown as NodeJS.ReadableStream
    const sink = (kind: 'stdout' | 'stderr'): Writable => {
      const lines = lineSplitter((line) => events.emit('runtime:log', { line, stream: kind }))
      return new Writable({
        write(chunk: Buffer, _enc, done) {
          lines.push(chunk)
          done()
        },
        final(done) {
          lines.end()
          done()
        }
      })
    }
    this.client().modem.demuxStream(stream, sink('stdout'), sink('stderr'))
    stream.on('error', () => undefined)
    return stream
  }
}
