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
}

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
 * The container: worker on 0.0.0.0:8080 inside, published on 127.0.0.1 only; models read-only;
 * non-root, no capabilities, no privilege gain, read-only root with a small tmpfs, memory and pids
 * capped, no restart policy (the supervisor replaces it), and never the Docker socket.
 */
export function containerSpec(input: ContainerSpecInput): Docker.ContainerCreateOptions {
  const gpu = input.gpu?.vendor === 'nvidia' || input.gpu?.vendor === 'amd'
  const memory = input.memoryBytes ?? Math.max(GiB, modelBytes(input.models) + GiB)
  const amd = input.gpu?.vendor === 'amd' ? amdDevices() : { devices: [], groups: [] }
  const port = `${CONTAINER_PORT}/tcp`
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
      maxQueue: input.maxQueue
    }),
    ExposedPorts: { [port]: {} },
    HostConfig: {
      PortBindings: { [port]: [{ HostIp: '127.0.0.1', HostPort: '' }] },
      Binds: input.models.map((m, i) => `${m.path}:${containerModelPath(i)}:ro`),
      ReadonlyRootfs: true,
      Tmpfs: { '/tmp': 'rw,noexec,nosuid,nodev,size=64m' },
      CapDrop: ['ALL'],
      SecurityOpt: ['no-new-privileges:true'],
      Memory: memory,
      MemorySwap: memory,
      PidsLimit: input.pidsLimit ?? 256,
      RestartPolicy: { Name: 'no' },
      NetworkMode: 'bridge',
      ...(input.gpu?.vendor === 'nvidia'
        ? { DeviceRequests: [{ Driver: 'nvidia', Count: -1, Capabilities: [['gpu']] }] }
        : {}),
      ...(amd.devices.length > 0 ? { Devices: amd.devices, GroupAdd: amd.groups } : {})
    }
  }
}
