// Routers over scripted providers: each named peer answers every request with a list of steps.
import type { Advert } from '../../../shared/advert'
import type { MaxPrice } from '../../../shared/price'
import type { DeltaFrame, InferBody, RequestFrame } from '../../../shared/infer'
import { InferError } from '../../../shared/infer-error'
import { createEvents } from '../../../electron/core/events'
import type { PeerEntry, PeerTable } from '../../../electron/core/p2p/peer-table'
import type { AttemptOutcome } from '../../../electron/core/router/attempt'
import type { Candidate } from '../../../electron/core/router/candidates'
import type { RetryBudget } from '../../../electron/core/router/retry-budget'
import type { AttemptTimeouts } from '../../../electron/core/router/timeouts'
import type { PromptPolicy } from '../../../electron/core/router/route-limits'
import { Router, type RouteEvent } from '../../../electron/core/router/router'
import type { AttemptEvent, ProviderTransport } from '../../../electron/core/router/transport'
import { createLogger } from '../../../electron/core/util/logger'

export const SHA = 'a'.repeat(64)
export const queued: AttemptEvent = { type: 'queued' }
export type Step = AttemptEvent | { wait: number } | { fail: InferError } | { hang: true }
export type Script = (frame: RequestFrame, signal: AbortSignal) => Step[]

export interface MeshOptions {
  budget?: RetryBudget
  promptPolicy?: PromptPolicy
  maxPrice?: MaxPrice
  /** Changes a peer's advert (its price, its measured speed). */
  advert?: (peerId: string, advert: Advert) => Advert
  /** What the transport reports of each peer's connection (direct or relayed, the relay's budget). */
  links?: Pick<ProviderTransport, 'connectionKind' | 'relayBudget'>
  /** Reaches the providers another way than by their scripts (a real infer stream). */
  transport?: ProviderTransport
  timeouts?: Partial<AttemptTimeouts>
  /** Collects the router's warnings and errors. */
  logLines?: string[]
}

/** A provider table of named peers, each answering with a script. */
export function mesh(scripts: Record<string, Script>, options: MeshOptions = {}) {
  const dead: string[] = []
  const baseAdvert = (peerId: string): Advert => ({
    peerId,
    version: '1',
    seq: 1,
    timestamp: Date.now(),
    paused: false,
    models: [{ name: 'm', sha256: SHA, params: 1 }],
    benchmark: { m: { decodeTokensPerSecond: 100, prefillTokensPerSecond: 100, ttftMs: 10, gflops: 1 } },
    price: { perMillionTokens: 0, currency: 'credits' },
    load: { inflight: 0, queued: 0, capacity: 4 }
  })
  const advert = (peerId: string): Advert => options.advert?.(peerId, baseAdvert(peerId)) ?? baseAdvert(peerId)
  const entries = (): PeerEntry[] =>
    Object.keys(scripts).map((peerId) => ({
      peerId,
      advert: advert(peerId),
      alive: !dead.includes(peerId),
      lastSeen: Date.now()
    }))
  const peers: PeerTable = {
    get: (id) => entries().find((e) => e.peerId === id),
    list: () => entries(),
    candidates: () => entries().filter((e) => e.alive),
    knownModels: () => new Set(['m']),
    markDead: (id) => void dead.push(id)
  }
  const opened: Array<{ peer: string; frame: RequestFrame }> = []
  const transport: ProviderTransport = options.transport ?? {
    async *open(candidate: Candidate, frame: RequestFrame, { signal }) {
      opened.push({ peer: candidate.peerId, frame })
      for (const step of scripts[candidate.peerId](frame, signal!)) {
        if ('wait' in step) await new Promise((r) => setTimeout(r, step.wait))
        else if ('fail' in step) throw step.fail
        else if ('hang' in step)
          await new Promise((_, reject) => signal!.addEventListener('abort', () => reject(signal!.reason)))
        else yield step
        if (signal?.aborted) throw signal.reason
      }
    },
    connected: () => true,
    ...options.links
  }
  const events = createEvents()
  const outcomes: AttemptOutcome[] = []
  events.on('attempt:settled', (o) => outcomes.push(o))
  const router = new Router({
    peers,
    transport,
    events,
    logger: options.logLines
      ? createLogger('test', { level: 'warn', write: (line) => options.logLines?.push(line) })
      : createLogger('test', { level: 'error' }),
    policy: 'best',
    retryBudget: options.budget,
    promptPolicy: options.promptPolicy,
    maxPrice: options.maxPrice,
    timeouts: { firstTokenMs: 400, minStallMs: 150, maxStallMs: 300, ...options.timeouts }
  })
  return { router, opened, outcomes, dead, events }
}

export const call = (max = 6, stream = true): InferBody => ({
  api: 'completions',
  body: { model: 'm', prompt: 'hi', max_tokens: max, stream }
})
export const accept: AttemptEvent = { type: 'accept', sha256: SHA, supportsTokenContinuation: true }
export const tok = (id: number, text = `t${id} `): DeltaFrame => ({ type: 'delta', text, tokenIds: [id] })
export const prompt: DeltaFrame = { type: 'delta', text: '', promptTokenIds: [1, 2] }
export const final: AttemptEvent = {
  type: 'final',
  finishReason: 'length',
  usage: { prompt_tokens: 2, completion_tokens: 6 }
}
/** A chat request, streamed or answered whole. */
export const chat = (max = 6, stream = true): InferBody => ({
  api: 'chat',
  body: { model: 'm', messages: [{ role: 'user', content: 'hi' }], max_tokens: max, stream }
})

/** A well-behaved provider: prompt ids, then tokens from where the request says, then final. */
export const honest: Script = (frame) => {
  const from = frame.call.body.replay_tokens ?? 0
  const n = (frame.call.body.max_tokens ?? 6) as number
  return [accept, prompt, ...Array.from({ length: n }, (_, i) => tok(from + i)), final]
}

export async function collect(
  router: Router,
  body = call(),
  signal?: AbortSignal
): Promise<{ text: string; done?: Extract<RouteEvent, { type: 'done' }>; error?: Error }> {
  let text = ''
  try {
    for await (const e of router.route({ id: 'r1', call: body }, { signal })) {
      if (e.type === 'text') text += e.text
      if (e.type === 'restart') text = '' // as the API does for an answer it sends whole
      if (e.type === 'done') return { text, done: e }
    }
  } catch (error) {
    return { text, error: error as Error }
  }
  return { text }
}
