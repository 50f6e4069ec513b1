import { connect, createServer, type Socket } from 'node:net'

export interface SocketProxy {
  /** The loopback port that leads to the socket. */
  readonly port: number
  close(): Promise<void>
}

/**
 * A loopback TCP port that leads to a worker's unix socket, so every HTTP client of the node
 * (runtime client, health probe, benchmark) keeps using a plain http://127.0.0.1:port URL while the
 * container itself has no network at all. Bytes are piped as they are; the worker checks the token.
 */
export async function startSocketProxy(socketPath: string): Promise<SocketProxy> {
  const open = new Set<Socket>()
  const server = createServer((client) => {
    const upstream = connect(socketPath)
    for (const socket of [client, upstream]) {
      open.add(socket)
      socket.on('close', () => open.delete(socket))
    }
    const cut = (): void => {
      client.destroy()
      upstream.destroy()
    }
    client.on('error', cut)
    upstream.on('error', cut)
    client.on('close', cut)
    upstream.on('close', cut)
    client.pipe(upstream)
    upstream.pipe(client)
  })
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(0, '127.0.0.1', () => {
      server.off('error', reject)
      resolve()
    })
  })
  const address = server.address()
  const port = typeof address === 'object' && address !== null ? address.port : 0
  return {
    port,
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of open) socket.destroy()
        server.close(() => resolve())
      })
  }
}
