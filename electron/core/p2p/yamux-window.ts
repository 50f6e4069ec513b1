import { StreamState, YamuxStream } from '@chainsafe/libp2p-yamux/stream'

type WindowState = { state: StreamState; recvWindow: number; recvWindowCapacity: number }

let installed = false

/**
 * yamux answers every data frame it receives with a window update, so a token stream costs a frame
 * back for each frame forward: one more noise seal, write, read and decrypt at each end per token.
 * Like go-yamux, an established stream now tells its sender about the space it freed only once half
 * of the receive window is used up; the sender never runs short, as half a window is still open
 * then. The frames that open and accept a stream (SYN, ACK) go out as before.
 * Applies to every yamux stream in this process; calling it again does nothing.
 */
export function batchYamuxWindowUpdates(): void {
  if (installed) return
  installed = true
  const send = YamuxStream.prototype.sendWindowUpdate
  YamuxStream.prototype.sendWindowUpdate = function (this: YamuxStream) {
    const stream = this as unknown as WindowState
    const established = stream.state === StreamState.Established || stream.state === StreamState.SYNSent
    if (established && stream.recvWindowCapacity >= stream.recvWindow / 2) return
    send.call(this)
  }
}
