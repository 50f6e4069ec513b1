import { connect } from 'node:net'
import { PassThrough } from 'node:stream'
import { afterEach, describe, expect, it } from 'vitest'
import { ApiServer } from '../../electron/core/api/server'
import { createLogger } from '../../electron/core/util/logger'

const logger = createLogger('api-stop-test', { level: 'error' })

/** A server with one streamed route whose end the test controls, like a routed SSE stream. */
async function streamingServer(): Promise<{ server: ApiServer; body: PassThrough }> {
  const body = new PassThrough()
  const server = new ApiServer(
    { logger },
    {
      host: '127.0.0.1',
      port: 0,
      maxBodyBytes: 1024,
      routes: [
        (app) =>
          void app.get('/stream', async (_request, reply) =>
            reply.header('content-type', 'text/event-stream').send(body)
          )
      ]
    }
  )
  await server.start()
  return { server, body }
}

async function connectable(url: string): Promise<boolean> {
  const { hostname, port } = new URL(url)
  return new Promise((resolve) => {
    const socket = connect(Number(port), hostname)
    socket.once('connect', () => (socket.destroy(), resolve(true)))
    socket.once('error', () => resolve(false))
  })
}

let running: ApiServer | undefined
afterEach(async () => {
  await running?.stop()
  running = undefined
})

describe('ApiServer stop', () => {
  it('stops taking connections but lets a stream in flight finish before it closes', async () => {
    const { server, body } = await streamingServer()
    running = server
    body.write('data: one\n\n') // headers go out with the first chunk
    const response = await fetch(`${server.url}/stream`)
    const reader = response.body!.getReader()
    expect(new TextDecoder().decode((await reader.read()).value)).toBe('data: one\n\n')

    await server.beforeStop()
    expect(await connectable(server.url)).toBe(false)
    let stopped = false
    const stopping = server.stop({ signal: AbortSignal.timeout(10_000) }).then(() => (stopped = true))
    await new Promise((resolve) => setTimeout(resolve, 100))
    expect(stopped).toBe(false)

    body.end('data: two\n\n')
    let rest = ''
    for (let chunk = await reader.read(); !chunk.done; chunk = await reader.read())
      rest += new TextDecoder().decode(chunk.value)
    expect(rest).toBe('data: two\n\n')
    const begun = performance.now()
    await stopping
    // the keep-alive connection the stream used does not hold the stop up
    expect(performance.now() - begun).toBeLessThan(1_000)
  })

  it('cuts a stream still running when the stop deadline passes', async () => {
    const { server, body } = await streamingServer()
    running = server
    body.write('data: one\n\n') // headers go out with the first chunk
    const response = await fetch(`${server.url}/stream`)
    const reader = response.body!.getReader()
    await reader.read()
    const begun = performance.now()
    await server.beforeStop()
    await server.stop({ signal: AbortSignal.timeout(200) })
    const ms = performance.now() - begun
    expect(ms).toBeGreaterThanOrEqual(190)
    expect(ms).toBeLessThan(2_000)
    await expect(reader.read()).rejects.toThrow()
  })
})
