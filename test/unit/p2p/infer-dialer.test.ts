import { peerIdFromString } from '@libp2p/peer-id'
import type { Stream } from '@libp2p/interface'
import { describe, expect, it } from 'vitest'
import { INFER_PROTOCOL } from '../../../shared/infer'
import { InferDialer, WARM_PER_PROVIDER } from '../../../electron/core/p2p/infer-dialer'

const PROVIDER = peerIdFromString('12D3KooWFx8p6k5P9xLbb3HqM6huWisMFJad3HBVSE4svDSC8rg2')

class FakeStream extends EventTarget {
  status = 'open'
  writeStatus = 'writable'
  remoteWriteStatus = 'writable'
  abort(): void {
    this.status = 'aborted'
    this.dispatchEvent(new Event('close'))
  }
}

/** A libp2p that opens fake streams and counts them. */
function fakeLibp2p() {
  const opened: FakeStream[] = []
  return {
    opened,
    getConnections: () => [],
    dialProtocol: async () => {
      const stream = new FakeStream()
      opened.push(stream)
      return stream as unknown as Stream
    }
  }
}

/** A dialer, and the stream of its first request to PROVIDER (nothing warm yet: a fresh one). */
async function firstRequest() {
  const libp2p = fakeLibp2p()
  const dialer = new InferDialer(libp2p as never)
  const first = await dialer.dialProtocol(PROVIDER, INFER_PROTOCOL)
  return { libp2p, dialer, first }
}

const turns = async (n = 3): Promise<void> => {
  for (let i = 0; i < n; i++) await new Promise((resolve) => setImmediate(resolve))
}

describe('InferDialer warm streams', () => {
  it('refills when the provider closes its end, keeping two, so back-to-back requests never negotiate', async () => {
    const { libp2p, dialer, first } = await firstRequest()
    expect(libp2p.opened).toHaveLength(1)
    await turns()
    // still in use: no stream beside the request
    expect(libp2p.opened).toHaveLength(1)

    // the provider sent its final frame and closed its end; our close handshake has not finished
    first.dispatchEvent(new Event('remoteCloseWrite'))
    await turns()
    expect(libp2p.opened).toHaveLength(1 + WARM_PER_PROVIDER)

    // the next request takes a warm stream and opens nothing on its path
    const second = await dialer.dialProtocol(PROVIDER, INFER_PROTOCOL)
    expect(second).toBe(libp2p.opened[1])
    await turns()
    expect(libp2p.opened).toHaveLength(3)
    // the old stream's close, arriving late, opens nothing either
    first.dispatchEvent(new Event('close'))
    await turns()
    expect(libp2p.opened).toHaveLength(3)

    // the request after it comes before the second one's refill: the other warm stream is there
    const third = await dialer.dialProtocol(PROVIDER, INFER_PROTOCOL)
    expect(third).toBe(libp2p.opened[2])
    expect(libp2p.opened).toHaveLength(3)
    second.dispatchEvent(new Event('remoteCloseWrite'))
    third.dispatchEvent(new Event('remoteCloseWrite'))
    await turns(6)
    expect(libp2p.opened).toHaveLength(3 + WARM_PER_PROVIDER)
    dialer.close()
  })

  it('refills after a stream that closed without the provider closing first (reset)', async () => {
    const { libp2p, dialer, first } = await firstRequest()
    ;(first as unknown as FakeStream).abort()
    await turns()
    expect(libp2p.opened).toHaveLength(1 + WARM_PER_PROVIDER)
    dialer.close()
  })

  it('drops a warm stream that closed while waiting and does not hand it out', async () => {
    const { libp2p, dialer, first } = await firstRequest()
    first.dispatchEvent(new Event('remoteCloseWrite'))
    await turns()
    libp2p.opened[1].abort()
    const next = await dialer.dialProtocol(PROVIDER, INFER_PROTOCOL)
    expect(next).toBe(libp2p.opened[2])
    dialer.close()
  })
})
