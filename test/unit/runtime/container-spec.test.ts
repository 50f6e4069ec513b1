import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { containerSpec } from '../../../electron/core/runtime/docker/container-spec'
import { imageVariant, workerNetwork } from '../../../electron/core/runtime/docker/docker-launcher'
import { tempDir } from '../../helpers/temp-dir'

const dir = tempDir('meshwork-spec-')
const path = join(dir, 'm.gguf')
writeFileSync(path, Buffer.alloc(1000))
const model = { name: 'meshwork-tiny', path, sha256: 'a'.repeat(64), params: 1, contextLength: 4096 }
const secret = { tokenDir: join(dir, 'secret'), socketDir: join(dir, 'sock') }
const base = {
  image: 'meshwork-worker:x',
  name: 'n',
  labels: { 'meshwork.peer': 'p' },
  models: [model],
  threads: 1,
  network: 'published' as const,
  ...secret
}

describe('container spec', () => {
  it('is hardened and publishes on loopback only', () => {
    const spec = containerSpec(base)
    const host = spec.HostConfig!
    expect(spec.User).toBe('65534:65534')
    expect(host.CapDrop).toEqual(['ALL'])
    expect(host.SecurityOpt).toContain('no-new-privileges:true')
    expect(host.ReadonlyRootfs).toBe(true)
    expect(Object.keys(host.Tmpfs!)).toEqual(['/tmp'])
    expect(host.Memory).toBeGreaterThanOrEqual(1024 ** 3)
    expect(host.PidsLimit).toBe(256)
    expect(host.PortBindings!['8080/tcp']).toEqual([{ HostIp: '127.0.0.1', HostPort: '' }])
    expect(host.Binds).toEqual([`${path}:/models/0.gguf:ro`, `${secret.tokenDir}:/run/meshwork-secret:ro`])
    expect(host.NetworkMode).toBe('bridge')
    expect(JSON.stringify(spec)).not.toContain('docker.sock')
    expect(spec.Cmd).toEqual([
      '--model',
      'meshwork-tiny=/models/0.gguf',
      '--host',
      '0.0.0.0',
      '--port',
      '8080',
      '--threads',
      '1',
      '--gpu',
      'false',
      '--token-file',
      '/run/meshwork-secret/token'
    ])
    expect(host.DeviceRequests).toBeUndefined()
  })

  it('on Linux gives the container no network: the worker serves on a socket in its own mount', () => {
    expect(workerNetwork('linux')).toBe('none')
    expect(workerNetwork('darwin')).toBe('published')
    expect(workerNetwork('win32')).toBe('published')
    const spec = containerSpec({ ...base, network: 'none' })
    const host = spec.HostConfig!
    expect(host.NetworkMode).toBe('none')
    expect(host.PortBindings).toBeUndefined()
    expect(spec.ExposedPorts).toBeUndefined()
    expect(host.Binds).toEqual([
      `${path}:/models/0.gguf:ro`,
      `${secret.tokenDir}:/run/meshwork-secret:ro`,
      `${secret.socketDir}:/run/meshwork-sock:rw`
    ])
    expect(spec.Cmd!.slice(-4)).toEqual([
      '--token-file',
      '/run/meshwork-secret/token',
      '--socket',
      '/run/meshwork-sock/worker.sock'
    ])
    // the token itself is never in the spec (docker inspect shows Cmd and Env)
    expect(spec.Env).toBeUndefined()
    expect(host.CapDrop).toEqual(['ALL'])
    expect(host.ReadonlyRootfs).toBe(true)
  })

  it('asks for NVIDIA GPUs through device requests and the CUDA image', () => {
    const spec = containerSpec({ ...base, gpu: { vendor: 'nvidia' } })
    expect(spec.HostConfig!.DeviceRequests).toEqual([{ Driver: 'nvidia', Count: -1, Capabilities: [['gpu']] }])
    expect(spec.Cmd).toContain('auto')
    expect(imageVariant({ vendor: 'nvidia' })).toBe('cuda')
    expect(imageVariant({ vendor: 'amd' })).toBe('vulkan')
    expect(imageVariant(undefined)).toBe('cpu')
  })
})
