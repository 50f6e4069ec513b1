// A libp2p node on 127.0.0.1 with the mesh's wire layers (TCP, noise with its frame splitter, yamux
// without keep-alive) and only the services a test names: for tests of one wire layer or one service.
import { yamux } from '@chainsafe/libp2p-yamux'
import type { ConnectionEncrypter, ServiceMap, Transport } from '@libp2p/interface'
import { tcp } from '@libp2p/tcp'
import { createLibp2p, type Libp2p, type ServiceFactoryMap } from 'libp2p'
import { meshNoise } from '../../electron/core/p2p/noise-frames'

export interface TcpTestNodeOptions<T extends ServiceMap> {
  transport?: (components: any) => Transport
  encrypter?: (components: any) => ConnectionEncrypter
  services?: ServiceFactoryMap<T>
}

/** libp2p's connection monitor is off: a test that wants pings starts the pinger itself. */
export function startTcpTestNode<T extends ServiceMap = ServiceMap>(
  options: TcpTestNodeOptions<T> = {}
): Promise<Libp2p<T>> {
  return createLibp2p({
    addresses: { listen: ['/ip4/127.0.0.1/tcp/0'] },
    transports: [options.transport ?? tcp()],
    connectionEncrypters: [options.encrypter ?? meshNoise()],
    streamMuxers: [yamux({ enableKeepAlive: false })],
    connectionMonitor: { enabled: false },
    services: options.services
  })
}
