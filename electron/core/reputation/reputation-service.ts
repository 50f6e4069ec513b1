import type { AttemptOutcome } from '../events'
import { join } from 'node:path'
import type { Libp2p } from '@libp2p/interface'
import { peerIdFromString } from '@libp2p/peer-id'
import type { DeltaFrame, FinalFrame, InferBody } from '../../../shared/infer'
import type { TrustEvidence } from '../../../shared/reputation'
import { openInfer } from '../p2p/infer-consumer'
import type { NodeEvents } from '../events'
import type { PeerTable } from '../p2p/peer-table'
import type { Logger } from '../util/logger'
import type { AbortOptions, Startable } from '../util/startable'
import type { ChallengeTransport } from './challenge'
import { type ChallengeTarget, Challenger } from './challenger'
import { type GossipCounters, ReputationGossip, type ReputationPubsub } from './gossip'
import { ObservationStore, type StoreLimits } from './observation-store'
import { type AttemptFacts, TrustEngine } from './trust-engine'
import type { TrustParams } from './trust-math'

export interface ReputationComponents {
  libp2p: Pick<Libp2p, 'dialProtocol'> & { services: { pubsub: ReputationPubsub } }
  peers: PeerTable
  /** The router's 'attempt:settled' events are this node's direct evidence. */
  events?: Pick<NodeEvents, 'on' | 'off'>
  logger: Logger
}

export interface ReputationInit {
  self: string
  dataDir: string
  /** Peers the owner trusts (their reports count fully). */
  trustedPeers?: readonly string[]
  gossipIntervalMs?: number
  /** Share of routed jobs followed by a challenge of the same provider. */
  challengeShare?: number
  challengeIntervalMs?: number
  probeIntervalMs?: number
  halfLifeMs?: number
  params?: Partial<TrustParams>
  limits?: Partial<StoreLimits>
  /** This node's runtime as a reference (same GGUF): its sha256 per model and a way to run a call. */
  local?: {
    sha256: (model: string) => string | undefined
    stream: (call: InferBody, options: AbortOptions) => AsyncIterable<DeltaFrame | FinalFrame>
  }
  /** Replaces the default transport (infer protocol for peers, `local.stream` for this node). */
  transport?: ChallengeTransport
  /** Each challenge job as an attempt outcome: challenges are paid jobs (receipts, spend). */
  onChallengeSettled?: (outcome: AttemptOutcome) => void
}

/**
 * Trust as a node service: durable observations, verification challenges and signed gossip.
 * `trust`, `excludedReason` and `evidence` make it the router's TrustSource.
 */
export class ReputationService implements Startable {
  readonly engine: TrustEngine
  private readonly store: ObservationStore
  private readonly gossip: ReputationGossip
  private readonly challenger: Challenger
  private readonly events: ReputationComponents['events']
  /**
   * Attempts settled in this turn of the event loop, noted in the next: a router settles an attempt
   * before its client's answer leaves, and noting one writes to SQLite. A read of trust notes them first.
   */
  private settledAttempts: AttemptFacts[] = []
  private noting: NodeJS.Immediate | undefined
  private readonly onAttempt = (outcome: AttemptFacts): void => {
    this.settledAttempts.push(outcome)
    this.noting ??= setImmediate(() => this.noteSettled())
  }

  constructor(components: ReputationComponents, init: ReputationInit) {
    this.events = components.events
    const { peers, libp2p } = components
    const logger = components.logger.child('reputation')
    this.store = new ObservationStore(join(init.dataDir, 'reputation.sqlite'), init.limits)
    this.engine = new TrustEngine({
      self: init.self,
      store: this.store,
      trustedPeers: init.trustedPeers,
      params: init.params,
      halfLifeMs: init.halfLifeMs,
      advertSpeed: (peerId) => advertSpeed(peers, peerId),
      onCaught: () => this.gossip.publishSoon()
    })
    this.gossip = new ReputationGossip(libp2p.services.pubsub, {
      self: init.self,
      sink: this.engine,
      logger,
      intervalMs: init.gossipIntervalMs ?? 30_000
    })
    const transport: ChallengeTransport =
      init.transport ??
      ((peerId, frame, options) => {
        if (peerId === init.self) {
          if (init.local === undefined) throw new Error('this node has no runtime to compare with')
          return init.local.stream(frame.call, options)
        }
        return openInfer(libp2p, peerIdFromString(peerId), frame, options)
      })
    this.challenger = new Challenger({
      self: init.self,
      engine: this.engine,
      transport,
      logger,
      targets: () => challengeTargets(peers),
      localSha256: init.local?.sha256,
      share: init.challengeShare,
      tickMs: init.challengeIntervalMs,
      probeBaseMs: init.probeIntervalMs,
      onSettled: init.onChallengeSettled
    })
  }

  async start(): Promise<void> {
    await this.gossip.start()
    this.challenger.start()
    this.events?.on('attempt:settled', this.onAttempt)
  }

  async stop(): Promise<void> {
    this.events?.off('attempt:settled', this.onAttempt)
    this.noteSettled()
    await this.challenger.stop()
    await this.gossip.stop()
    this.store.close()
  }

  trust(peerId: string): number {
    this.noteSettled()
    return this.engine.trust(peerId)
  }

  excludedReason(peerId: string): string | undefined {
    this.noteSettled()
    return this.engine.excludedReason(peerId)
  }

  evidence(peerId: string): TrustEvidence {
    this.noteSettled()
    const e = this.engine.evidence(peerId)
    const nextProbeAt = this.challenger.nextProbeAt(peerId)
    const gossip = { ...e.gossip, droppedFromIt: this.gossip.droppedFromPeer(peerId) }
    return { ...e, gossip, ...(nextProbeAt === undefined ? {} : { challenges: { ...e.challenges, nextProbeAt } }) }
  }

  /** Direct evidence from the router's attempts ('attempt:settled'). */
  attemptSettled(outcome: AttemptFacts): void {
    this.engine.noteAttempt(outcome)
    if (outcome.kind === 'ok' && !outcome.local) this.challenger.noteTraffic(outcome.provider)
  }

  private noteSettled(): void {
    if (this.noting === undefined) return
    clearImmediate(this.noting)
    this.noting = undefined
    const settled = this.settledAttempts
    this.settledAttempts = []
    for (const outcome of settled) this.attemptSettled(outcome)
  }

  /** Gossip counters (published, accepted, dropped by reason) for /metrics and tests. */
  gossipCounters(): GossipCounters {
    return this.gossip.counters
  }

  /** Runs one due challenge now (tests and the CLI use it; the timer does the same). */
  async challengeNow(): Promise<string | undefined> {
    return this.challenger.tick()
  }

  async publishNow(): Promise<boolean> {
    return this.gossip.publish()
  }
}

/** The slowest decode speed the provider's advert claims for any model (a lie must hold for all). */
function advertSpeed(peers: PeerTable, peerId: string): number | undefined {
  const speeds = Object.values(peers.get(peerId)?.advert.benchmark ?? {})
    .map((b) => b.decodeTokensPerSecond)
    .filter((x): x is number => typeof x === 'number' && x > 0)
  return speeds.length > 0 ? Math.min(...speeds) : undefined
}

function challengeTargets(peers: PeerTable): ChallengeTarget[] {
  return peers
    .list()
    .filter((p) => p.alive && !p.advert.paused && p.advert.models.length > 0)
    .map((p) => ({ peerId: p.peerId, model: p.advert.models[0].name, sha256: p.advert.models[0].sha256 }))
}
