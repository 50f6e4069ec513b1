// Two libp2p nodes over real TCP on 127.0.0.1, the receiver collecting whatever a stream brings: for
// tests of what the wire layers (transport, noise, yamux) do with the bytes of one stream.
import type { ConnectionEncrypter, Stream, Transport } from '@libp2p/interface'
import type { Libp2p } from 'libp2p'
import { startTcpTestNode } from './tcp-test-node'

const SINK = '/meshwork-test/sink/1.0.0'

export interface SinkPair {
  sender: Libp2p
  receiver: Libp2p
  /** A new stream to the receiver, its negotiation settled. */
  open(): Promise<Stream>
  /** Everything the latest stream brought, once the sender has closed it. */
  received(): Promise<Uint8Array>
  /** The same, as text. */
  receivedText(): Promise<string>
  stop(): Promise<void>
}

export interface SinkPairOptions {
  transport?: () => (components: any) => Transport
  encrypter?: () => (components: any) => ConnectionEncrypter
}

export async function startSinkPair(options: SinkPairOptions = {}): Promise<SinkPair> {
  const node = () => startTcpTestNode({ transport: options.transport?.(), encrypter: options.encrypter?.() })
  const [sender, receiver] = await Promise.all([node(), node()])
  let received: Promise<Uint8Array> = Promise.reject(new Error('no stream yet'))
  received.catch(() => {})
  await receiver.handle(SINK, (stream: Stream) => {
    received = (async () => {
      const parts: Uint8Array[] = []
      for await (const piece of stream) parts.push(piece instanceof Uint8Array ? piece : piece.subarray())
      await stream.close()
      return Buffer.concat(parts)
    })()
  })
  await sender.dial(receiver.getMultiaddrs()[0])
  return {
    sender,
    receiver,
    async open() {
      const stream = await sender.dialProtocol(receiver.peerId, SINK)
      await new Promise((resolve) => setTimeout(resolve, 50))
      return stream
    },
    received: () => received,
    receivedText: async () => new TextDecoder().decode(await received),
    stop: async () => {
      await Promise.all([sender.stop(), receiver.stop()])
    }
  }
}
