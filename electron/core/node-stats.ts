import type { NodeEventMap, NodeEvents } from './events'
import type { Startable } from './util/startable'

export interface NodeStatsComponents {
  events: NodeEvents
}

/** Counters for /api/status and the tray: jobs served for others, requests routed, failovers. */
export class NodeStats implements Startable {
  private served = 0
  private routed = 0
  private failovers = 0

  constructor(private readonly components: NodeStatsComponents) {}

  async start(): Promise<void> {
    this.components.events.on('job:served', this.onServed)
    this.components.events.on('request:finished', this.onRouted)
  }

  async stop(): Promise<void> {
    this.components.events.off('job:served', this.onServed)
    this.components.events.off('request:finished', this.onRouted)
  }

  snapshot(): { served: number; routed: number; failovers: number } {
    return { served: this.served, routed: this.routed, failovers: this.failovers }
  }

  private readonly onServed = (job: NodeEventMap['job:served'][0]): void => {
    if (job.ok) this.served++
  }

  private readonly onRouted = (request: NodeEventMap['request:finished'][0]): void => {
    this.routed++
    this.failovers += request.failovers
  }
}
