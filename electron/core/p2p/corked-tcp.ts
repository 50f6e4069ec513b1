import { Socket } from 'node:net'
import type { MultiaddrConnection, Transport } from '@libp2p/interface'
import { tcp, type TCPOptions } from '@libp2p/tcp'
import { withConnectionHook } from './connection-hook'

/**
 * libp2p's TCP transport with the writes of one tick joined into one system call. Each noise frame
 * reaches the socket as two buffers (length prefix, ciphertext), and opening a stream sends three
 * yamux frames in a row; written one by one, that is a syscall per buffer. The socket is corked at
 * the first write of a tick and uncorked on the next, so Node sends them together with one writev.
 */
export function corkedTcp(init?: TCPOptions): (components: any) => Transport {
  return withConnectionHook(tcp(init), corkWrites)
}

/** Writes to `maConn` in one tick leave together; anything that is not a TCP connection is left alone. */
export function corkWrites(maConn: MultiaddrConnection): void {
  const conn = maConn as unknown as { socket?: unknown; sendData?: (data: unknown) => unknown }
  const socket = conn.socket
  if (!(socket instanceof Socket) || typeof conn.sendData !== 'function') return
  const sendData = conn.sendData.bind(conn)
  let corked = false
  const uncork = (): void => {
    corked = false
    socket.uncork()
  }
  conn.sendData = (data) => {
    if (!corked && !socket.destroyed) {
      corked = true
      socket.cork()
      process.nextTick(uncork)
    }
    return sendData(data)
  }
}
