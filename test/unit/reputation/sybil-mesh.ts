// Providers that answer by script (honest ones the same token ids for the same request, liars
// garbage, as fast), colluding reporters that gossip signed lies with their own keys, and honest routers
// whose trust is the real ReputationService (direct evidence, challenges, gossip) over a memory mesh.
import { mkdtempSync, rmSync } from 'node:fs'
import { join } from 'node:path'
import type { RequestFrame } from '../../../shared/infer'
import { REPUTATION_TOPIC, type ReportedSubject, type ReputationReport } from '../../../shared/reputation'
import type { ChallengeTransport } from '../../../electron/core/reputation/challenge'
import { type ReputationInit, ReputationService } from '../../../electron/core/reputation/reputation-service'
import type { TrustParams } from '../../../electron/core/reputation/trust-math'
import { Router } from '../../../electron/core/router/router'
import type { AttemptEvent, ProviderTransport } from '../../../electron/core/router/transport'
import type { Startable } from '../../../electron/core/util/startable'
import { MESH_MODEL, type MeshPeer } from '../../helpers/memory-mesh'

export type Behaviour = 'honest' | 'liar'
const MODEL_SHA = 'ab'.repeat(32)

/** Greedy output is a function of the request: every honest provider answers the same ids. */
function honestIds(frame: RequestFrame, n: number): number[] {
  let h = 7
  for (const ch of JSON.stringify(frame.call.body)) h = (h * 31 + ch.charCodeAt(0)) % 9973
  return Array.from({ length: n }, (_, i) => (h + i * 13) % 380)
}

/**
 * One provider's answer: honest ones the ids every honest one gives, liars random ids, all as fast
 * (no timers: one process carries the whole mesh, and a loaded event loop must not make an honest
 * provider look slow next to a liar).
 */
export async function* answer(behaviour: Behaviour, frame: RequestFrame): AsyncGenerator<AttemptEvent> {
  const n = frame.call.body.max_tokens ?? 16
  yield { type: 'accept', sha256: MODEL_SHA, supportsTokenContinuation: true }
  yield { type: 'delta', text: '', promptTokenIds: [1, 2, 3] }
  const ids = behaviour === 'honest' ? honestIds(frame, n) : Array.from({ length: n }, () => (Math.random() * 380) | 0)
  for (const id of ids) yield { type: 'delta', text: `t${id} `, tokenIds: [id] }
  yield { type: 'final', finishReason: 'length', usage: { prompt_tokens: 3, completion_tokens: n } }
}

export function scriptedTransports(behaviours: ReadonlyMap<string, Behaviour>): {
  router: ProviderTransport
  challenges: ChallengeTransport
} {
  const of = (peerId: string): Behaviour => {
    const b = behaviours.get(peerId)
    if (b === undefined) throw new Error(`no provider ${peerId}`)
    return b
  }
  return {
    router: { open: (candidate, frame) => answer(of(candidate.peerId), frame), connected: () => true },
    challenges: (peerId, frame) => answer(of(peerId), frame)
  }
}

/** A mesh peer's real ReputationService: signed gossip every second, challenges answered by script. */
function meshReputation(
  peer: MeshPeer,
  dataDir: string,
  challenges: ChallengeTransport,
  init: Partial<ReputationInit>
): ReputationService {
  return new ReputationService(
    { libp2p: peer.libp2p, peers: peer.directory, events: peer.events, logger: peer.logger },
    { self: peer.peerId, dataDir, gossipIntervalMs: 1_000, transport: challenges, ...init }
  )
}

/** An honest router: the real Router, its trust the real ReputationService over the peer's gossipsub. */
export class HonestRouter implements Startable {
  readonly reputation: ReputationService
  readonly router: Router
  private readonly dataDir: string

  constructor(
    readonly peer: MeshPeer,
    behaviours: ReadonlyMap<string, Behaviour>,
    /** Its SQLite goes to a fresh folder under this one (the test removes it, pass or fail). */
    dataRoot: string,
    params?: Partial<TrustParams>
  ) {
    this.dataDir = mkdtempSync(join(dataRoot, 'router-'))
    const transports = scriptedTransports(behaviours)
    this.reputation = meshReputation(peer, this.dataDir, transports.challenges, {
      challengeIntervalMs: 250,
      challengeShare: 0.05,
      probeIntervalMs: 60_000,
      params
    })
    this.router = new Router({
      peers: peer.directory,
      transport: transports.router,
      trust: this.reputation,
      events: peer.events,
      logger: peer.logger
    })
  }

  async start(): Promise<void> {
    await this.reputation.start()
  }

  async stop(): Promise<void> {
    this.router.stop()
    await this.reputation.stop()
    rmSync(this.dataDir, { recursive: true, force: true })
  }

  /** Routes one request; resolves with the provider whose answer was returned, or undefined when none served. */
  async ask(i: number): Promise<string | undefined> {
    const call = {
      api: 'completions' as const,
      body: { model: MESH_MODEL, prompt: `question ${i}`, max_tokens: 16, temperature: 0, stream: true }
    }
    try {
      for await (const e of this.router.route({ id: `q${i}`, call }, { signal: AbortSignal.timeout(10_000) }))
        if (e.type === 'done') return e.meshwork.providers.at(-1)
    } catch {
      return undefined
    }
    return undefined
  }
}

/**
 * A provider's own ReputationService, as every real node runs one: without it providers would not
 * relay the topic, and peer 0, everyone's bootstrap, is a provider. It challenges rarely (once a minute).
 */
export class ProviderReputation implements Startable {
  private readonly reputation: ReputationService
  private readonly dataDir: string

  constructor(peer: MeshPeer, behaviours: ReadonlyMap<string, Behaviour>, dataRoot: string) {
    this.dataDir = mkdtempSync(join(dataRoot, 'provider-'))
    this.reputation = meshReputation(peer, this.dataDir, scriptedTransports(behaviours).challenges, {
      challengeIntervalMs: 60_000
    })
  }

  async start(): Promise<void> {
    await this.reputation.start()
  }

  async stop(): Promise<void> {
    await this.reputation.stop()
    rmSync(this.dataDir, { recursive: true, force: true })
  }
}

/**
 * A colluder: signs summaries with its own valid key, within the receivers' rate limit, praising the
 * liars and saying it caught every honest provider lying, each with the most evidence a summary may claim.
 */
export class SybilReporter implements Startable {
  published = 0
  private timer?: ReturnType<typeof setInterval>

  constructor(
    private readonly peer: MeshPeer,
    private readonly lie: () => { praise: string[]; smear: string[] },
    private readonly everyMs = 750
  ) {}

  async start(): Promise<void> {
    this.peer.libp2p.services.pubsub.subscribe(REPUTATION_TOPIC)
    this.timer = setInterval(() => void this.publish(), this.everyMs)
  }

  async stop(): Promise<void> {
    clearInterval(this.timer)
  }

  private async publish(): Promise<void> {
    const { praise, smear } = this.lie()
    const subjects: ReportedSubject[] = [
      ...praise.map((peer) => ({ peer, positive: 1_000, negative: 0 })),
      ...smear.map((peer) => ({ peer, positive: 0, negative: 1_000, caught: true }))
    ]
    const now = Date.now()
    const report: ReputationReport = { v: 1, reporter: this.peer.peerId, seq: now, at: now, subjects }
    await this.peer.libp2p.services.pubsub
      .publish(REPUTATION_TOPIC, new TextEncoder().encode(JSON.stringify(report)))
      .then(() => this.published++)
      .catch(() => undefined)
  }
}
