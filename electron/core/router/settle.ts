import type { AttemptOutcome, NodeEvents } from '../events'
import type { PeerTable } from '../p2p/peer-table'
import type { Logger } from '../util/logger'
import type { Candidate } from './candidates'
import type { ProviderRecords } from './provider-records'
import type { ProviderTransport } from './transport'

export interface SettleDeps {
  records: ProviderRecords
  peers: PeerTable
  events: NodeEvents
  transport: ProviderTransport
  log: Logger
}

/** The one place where an attempt's outcome updates the records, the peer table and the events. */
export function settleOutcome(outcome: AttemptOutcome, candidate: Candidate, deps: SettleDeps): void {
  const { records } = deps
  const peerId = candidate.peerId
  if (outcome.ttftMs !== undefined || outcome.tokensPerSecond !== undefined) records.observe(peerId, outcome)
  if (outcome.kind === 'ok') records.success(peerId)
  else if (outcome.kind === 'refused') {
    records.refused(peerId, outcome.code ?? 'refused', outcome.code === 'provider_paused' ? 10_000 : 1_000)
  } else if (outcome.kind === 'failed' && outcome.failure !== undefined) {
    const ejectMs = records.failure(peerId, outcome.failure, outcome.code ?? 'failed')
    deps.log.info('attempt failed, failing over', {
      id: outcome.requestId,
      provider: peerId,
      code: outcome.code,
      message: outcome.error?.message.slice(0, 200),
      emittedTokens: outcome.tokens,
      ejectMs
    })
    const gone =
      outcome.failure === 'connect' || (outcome.failure === 'closed' && deps.transport.connected?.(peerId) === false)
    if (gone && !candidate.local) deps.peers.markDead(peerId, `infer: ${outcome.code}`)
  }
  deps.events.emit('attempt:settled', outcome)
}

/** An attempt the client walked away from (the request's generator was closed mid-attempt). */
export function abandonedOutcome(
  requestId: string,
  model: string,
  candidate: Candidate,
  started: number,
  continuation: boolean
): AttemptOutcome {
  return {
    requestId,
    provider: candidate.peerId,
    local: candidate.local,
    model,
    kind: 'cancelled',
    code: 'cancelled',
    tokens: 0,
    ms: performance.now() - started,
    continuation
  }
}
