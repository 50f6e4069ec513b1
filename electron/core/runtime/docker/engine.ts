import type Docker from 'dockerode'
import { MeshworkError } from '../../util/errors'

export { createDockerClient } from '../../util/docker-client'

export class DockerUnavailableError extends MeshworkError {
  constructor(message: string, options?: ErrorOptions) {
    super(message, 'docker_unavailable', 503, options)
    this.name = 'DockerUnavailableError'
  }
}

/** Labels on everything Meshwork creates in the engine; several nodes may share one engine. */
export const LABEL_MANAGED = 'meshwork.managed'
export const LABEL_PEER = 'meshwork.peer'

export function peerLabels(peerId: string): Record<string, string> {
  return { [LABEL_MANAGED]: 'true', [LABEL_PEER]: peerId }
}

export const INSTALL_HINT =
  'Install Docker Engine (Linux: `apt-get install docker.io`, or Docker Desktop on macOS/Windows), start it, and let this user use it (group `docker`); or run with --runtime process (less isolated)'

function describeEndpoint(): string {
  return (
    process.env.DOCKER_HOST ??
    (process.platform === 'win32' ? 'npipe:////./pipe/docker_engine' : 'unix:///var/run/docker.sock')
  )
}

/** Pings the engine; rejects with a message that says what to install when nothing answers. */
export async function detectDocker(
  docker: Docker,
  options: { signal?: AbortSignal; timeoutMs?: number } = {}
): Promise<{ version: string; apiVersion: string }> {
  const signal = AbortSignal.any([
    AbortSignal.timeout(options.timeoutMs ?? 3000),
    ...(options.signal ? [options.signal] : [])
  ])
  try {
    // dockerode accepts abortSignal here; its typings only list the callback forms
    const withSignal = { abortSignal: signal } as object
    await (docker.ping as (opts: object) => Promise<unknown>).call(docker, withSignal)
    const version = await (docker.version as (opts: object) => Promise<Docker.DockerVersion>).call(docker, withSignal)
    return { version: version.Version, apiVersion: version.ApiVersion }
  } catch (err) {
    if (options.signal?.aborted) throw err
    const reason =
      (err as Error).name === 'TimeoutError' || signal.aborted ? 'no answer within the timeout' : (err as Error).message
    throw new DockerUnavailableError(
      `Docker engine not reachable at ${describeEndpoint()} (${reason}). ${INSTALL_HINT}`,
      { cause: err }
    )
  }
}
