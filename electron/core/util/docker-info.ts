import { request } from 'node:http'
import { createDockerClient } from './docker-client'

/** An engine's `GET /info` is a few KB; more than this is not an engine talking. */
const MAX_INFO_BYTES = 1024 * 1024

/** Something that answers like dockerode's `info()`: the engine's `GET /info` in production. */
export interface EngineInfoSource {
  info(options?: { abortSignal?: AbortSignal }): Promise<unknown>
}

/** The local engine's socket, when DOCKER_HOST leaves it at that (unset, or a unix:// path). */
export function localEngineSocket(env: NodeJS.ProcessEnv = process.env): string | undefined {
  const host = env.DOCKER_HOST
  if (host === undefined || host === '') return process.platform === 'win32' ? undefined : '/var/run/docker.sock'
  return host.startsWith('unix://') ? host.slice('unix://'.length) : undefined
}

/**
 * Asks the Docker engine for `GET /info`. Every node asks once, to tell whether Docker can give its
 * jobs a GPU, and most nodes of a mesh (routers, process-runtime providers) never use Docker
 * otherwise. dockerode brings ssh2, whose poly1305 WebAssembly reserves a 16 MB heap as it loads,
 * so on the local socket this is one plain HTTP request; any other DOCKER_HOST (tcp, TLS, ssh)
 * still goes through dockerode, which reads it.
 */
export function engineInfoSource(socketPath = localEngineSocket()): EngineInfoSource {
  if (socketPath === undefined)
    return {
      info: async (options) => {
        const docker: EngineInfoSource = await createDockerClient()
        return docker.info(options)
      }
    }
  return { info: (options) => getInfo(socketPath, options?.abortSignal) }
}

function getInfo(socketPath: string, signal: AbortSignal | undefined): Promise<unknown> {
  return new Promise((resolve, reject) => {
    const req = request({ socketPath, path: '/info', method: 'GET', signal }, (res) => {
      const chunks: Buffer[] = []
      let bytes = 0
      res.on('data', (chunk: Buffer) => {
        bytes += chunk.length
        if (bytes > MAX_INFO_BYTES) req.destroy(new Error(`the engine's /info is over ${MAX_INFO_BYTES} bytes`))
        else chunks.push(chunk)
      })
      res.on('end', () => {
        if (res.statusCode !== 200) return reject(new Error(`the engine answered /info with ${res.statusCode}`))
        try {
          resolve(JSON.parse(Buffer.concat(chunks).toString('utf8')))
        } catch (err) {
          reject(err as Error)
        }
      })
      res.on('error', reject)
    })
    req.on('error', reject)
    req.end()
  })
}
