import { statSync } from 'node:fs'
import type Docker from 'dockerode'
import { CONTAINER_PORT, CONTAINER_USER } from '../image/recipe'
import type { ResolvedModel } from '../models/types'
import { containerModelPath, workerArgs } from '../worker-args'

export interface ContainerSpecInput {
  image: string
  name: string
  labels: Record<string, string>
  models: ResolvedModel[]
  threads: number
  gpu?: { vendor: string }
  parallel?: number
  maxQueue?: number
  memoryBytes?: number
  pidsLimit?: number
  /**
   * How the node reaches the worker. `none`: the container has no network at all; the worker listens on
   * a unix socket in `socketDir` (Linux: the host shares the kernel). `published`: bridge network with
   * the port published on 127.0.0.1 (Docker Desktop, where a socket in a bind mount does not cross the VM).
   */
  network: 'none' | 'published'
  /** Host directory with the launch token file, mounted read-only. */
  tokenDir: string
  /** Host directory the worker creates its socket in (network `none`), mounted read-write. */
  socketDir?: string
}

/** Where the launch secret and the socket are inside the container. */
export const CONTAINER_TOKEN_FILE = '/run/meshwork-secret/token'
export const CONTAINER_SOCKET = '/run/meshwork-sock/worker.sock'

const GiB = 1024 ** 3

function modelBytes(models: ResolvedModel[]): number {
  let total = 0
  for (const model of models) {
    try {
      total += statSync(model.path).size
    } catch {
      /* reported when the container fails to mount it */
    }
  }
  return total
}

/** AMD ROCm needs /dev/kfd and /dev/dri, and the non-root user in the groups that own them. */
function amdDevices(): { devices: Docker.DeviceMapping[]; groups: string[] } {
  const devices: Docker.DeviceMapping[] = []
  const groups = new Set<string>()
  for (const path of ['/dev/kfd', '/dev/dri']) {
    try {
      const info = statSync(path)
      devices.push({ PathOnHost: path, PathInContainer: path, CgroupPermissions: 'rwm' })
      groups.add(String(info.gid))
    } catch {
      /* not on this host */
    }
  }
  return { devices, groups: [...groups] }
}

/**
 * The container: no network (worker on a unix socket) or, where that cannot work, the worker on
 * 0.0.0.0:8080 published on 127.0.0.1 only; a per-launch token in a read-only mount; models read-only;
 * non-root, no capabilities, no privilege gain, read-only root with a small tmpfs, memory and pids
 * capped, no restart policy (the supervisor replaces it), and never the Docker socket.
 */
export function containerSpec(input: ContainerSpecInput): Docker.ContainerCreateOptions {
  const gpu = input.gpu?.vendor === 'nvidia' || input.gpu?.vendor === 'amd'
  const memory = input.memoryBytes ?? Math.max(GiB, modelBytes(input.models) + GiB)
  const amd = input.gpu?.vendor === 'amd' ? amdDevices() : { devices: [], groups: [] }
  const port = `${CONTAINER_PORT}/tcp`
  const isolated = input.network === 'none'
  if (isolated && input.socketDir === undefined) throw new Error('network none needs a socket directory')
  const binds = [
    ...input.models.map((m, i) => `${m.path}:${containerModelPath(i)}:ro`),
    `${input.tokenDir}:${CONTAINER_TOKEN_FILE.replace(/\/token$/, '')}:ro`,
    ...(isolated ? [`${input.socketDir}:${CONTAINER_SOCKET.replace(/\/worker\.sock$/, '')}:rw`] : [])
  ]
  return {
    name: input.name,
    Image: input.image,
    Labels: input.labels,
    User: CONTAINER_USER,
    Cmd: workerArgs({
      models: input.models.map((m, i) => ({ name: m.name, path: containerModelPath(i) })),
      host: '0.0.0.0',
      port: CONTAINER_PORT,
      threads: input.threads,
      gpu,
      parallel: input.parallel,
      maxQueue: input.maxQueue,
      tokenFile: CONTAINER_TOKEN_FILE,
      socket: isolated ? CONTAINER_SOCKET : undefined
    }),
    ...(isolated ? {} : { ExposedPorts: { [port]: {} } }),
    HostConfig: {
      ...(isolated ? {} : { PortBindings: { [port]: [{ HostIp: '127.0.0.1', HostPort: '' }] } }),
      Binds: binds,
      ReadonlyRootfs: true,
      Tmpfs: { '/tmp': 'rw,noexec,nosuid,nodev,size=64m' },
      CapDrop: ['ALL'],
      SecurityOpt: ['no-new-privileges:true'],
      Memory: memory,
      MemorySwap: memory,
      PidsLimit: input.pidsLimit ?? 256,
      RestartPolicy: { Name: 'no' },
      NetworkMode: isolated ? 'none' : 'bridge',
      ...(input.gpu?.vendor === 'nvidia'
        ? { DeviceRequests: [{ Driver: 'nvidia', Count: -1, Capabilities: [['gpu']] }] }
        : {}),
      ...(amd.devices.length > 0 ? { Devices: amd.devices, GroupAdd: amd.groups } : {})
    }
  }
}
