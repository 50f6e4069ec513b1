import { createServer, type Server } from 'node:http'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { detectDockerGpu } from '../../../electron/core/hardware/docker-gpu'
import { engineInfoSource, localEngineSocket } from '../../../electron/core/util/docker-info'

let servers: Server[] = []
let dirs: string[] = []

afterEach(async () => {
  await Promise.all(servers.map((s) => new Promise((r) => s.close(r))))
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true })
  servers = []
  dirs = []
})

/** An engine on a unix socket that answers every request with `handler`. */
async function engine(handler: Parameters<typeof createServer>[1]): Promise<string> {
  const dir = mkdtempSync(join(tmpdir(), 'meshwork-engine-'))
  dirs.push(dir)
  const socket = join(dir, 'docker.sock')
  const server = createServer(handler)
  servers.push(server)
  await new Promise<void>((r) => server.listen(socket, r))
  return socket
}

describe("the engine's /info over its socket", () => {
  it('tells whether Docker can give jobs a GPU, and the engine version', async () => {
    const socket = await engine((req, res) => {
      expect(req.url).toBe('/info')
      res.end(JSON.stringify({ ServerVersion: '27.1.0', Runtimes: { runc: {}, nvidia: {} } }))
    })
    expect(await detectDockerGpu(engineInfoSource(socket))).toEqual({
      available: true,
      gpuRuntime: true,
      version: '27.1.0'
    })
  })

  it('an endless answer is cut off at its size limit and read as no engine', async () => {
    let sent = 0
    let closed = false
    const socket = await engine((_req, res) => {
      const chunk = Buffer.alloc(64 * 1024, 'x')
      res.on('close', () => (closed = true))
      const more = (): void => {
        let room = true
        while (!closed && room) {
          room = res.write(chunk)
          sent += chunk.length
        }
        if (!closed) res.once('drain', more)
      }
      more()
    })
    expect(await detectDockerGpu(engineInfoSource(socket))).toEqual({ available: false })
    // without the limit the reader takes all it gets until the 3-s timeout: gigabytes on a socket
    expect(sent).toBeLessThan(16 * 1024 * 1024)
  })

  it('an error status or a reply that is not JSON is no engine, not a crash', async () => {
    const refusing = await engine((_req, res) => {
      res.statusCode = 500
      res.end('{}')
    })
    expect(await detectDockerGpu(engineInfoSource(refusing))).toEqual({ available: false })
    const garbled = await engine((_req, res) => res.end('not json'))
    expect(await detectDockerGpu(engineInfoSource(garbled))).toEqual({ available: false })
  })

  it('uses the socket DOCKER_HOST names, and leaves other hosts to dockerode', () => {
    expect(localEngineSocket({})).toBe(process.platform === 'win32' ? undefined : '/var/run/docker.sock')
    expect(localEngineSocket({ DOCKER_HOST: 'unix:///run/user/1000/docker.sock' })).toBe('/run/user/1000/docker.sock')
    expect(localEngineSocket({ DOCKER_HOST: 'tcp://10.0.0.2:2376' })).toBeUndefined()
    expect(localEngineSocket({ DOCKER_HOST: 'ssh://me@host' })).toBeUndefined()
  })
})
