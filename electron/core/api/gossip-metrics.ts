import { Counter, type Registry } from 'prom-client'
import { GOSSIP_DROP_REASONS } from '../../../shared/reputation'
import type { GossipCounters } from '../reputation/gossip'

/**
 * Reputation gossip as Prometheus counters, read from the gossip layer's own counts at scrape time.
 * The `reason` label takes only the fixed drop reasons (shared/reputation.ts), so no sender can add a
 * label value: forged, replay, stale and future (out of the time window), self (about the sender
 * itself), oversized, malformed, unsigned, rate (over the per-sender rate limit).
 */
export function registerGossipMetrics(registry: Registry, counters: () => GossipCounters): void {
  const registers = [registry]
  new Counter({
    name: 'meshwork_reputation_gossip_dropped_total',
    help: 'Reputation summaries dropped by the topic validator (meshwork/reputation/1), by reason',
    labelNames: ['reason'],
    registers,
    collect() {
      const { dropped } = counters()
      this.reset()
      for (const reason of GOSSIP_DROP_REASONS) this.inc({ reason }, dropped[reason])
    }
  })
  new Counter({
    name: 'meshwork_reputation_gossip_accepted_total',
    help: 'Reputation summaries from other peers accepted by the topic validator',
    registers,
    collect() {
      this.reset()
      this.inc(counters().accepted)
    }
  })
  new Counter({
    name: 'meshwork_reputation_gossip_published_total',
    help: 'Reputation summaries this node published',
    registers,
    collect() {
      this.reset()
      this.inc(counters().published)
    }
  })
}
