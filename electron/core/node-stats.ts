import type { NodeEvents } from './events'

/** Counters for /api/status and the tray: jobs served for others, requests routed, failovers. */
export class NodeStats {
  private served = 0
  private routed = 0
  private failovers = 0

  constructor(events: NodeEvents) {
    events.on('job:served', (job) => {
      if (job.ok) this.served++
    })
    events.on('request:finished', (request) => {
      this.routed++
      this.failovers += request.failovers
    })
  }

  snapshot(): { served: number; routed: number; failovers: number } {
    return { served: this.served, routed: this.routed, failovers: this.failovers }
  }
}
