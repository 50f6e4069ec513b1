import { randomBytes, randomInt } from 'node:crypto'
import type { AcceptFrame, DeltaFrame, FinalFrame, QueuedFrame, RequestFrame } from '../../../shared/infer'
import type { ChallengeVerdict } from '../../../shared/reputation'
import type { AttemptOutcome } from '../events'
import type { AbortOptions } from '../util/startable'

/** Opens one request on a provider: a remote peer over the infer protocol, or this node's runtime. */
export type ChallengeTransport = (
  peerId: string,
  frame: RequestFrame,
  options: AbortOptions
) => AsyncIterable<QueuedFrame | AcceptFrame | DeltaFrame | FinalFrame>

/** What one challenge run produced, measured by this node's clock. */
export interface ChallengeRun {
  tokenIds: number[]
  /** False when some delta carried no token ids (then text is compared). */
  idsKnown: boolean
  /** Tokens as the receipt counts them: ids, and one per text delta that carries none. */
  delivered: number
  text: string
  finishReason?: string | null
  completionTokens: number
  ttftMs?: number
  /** Decode speed between the first and the last token. */
  tokensPerSecond?: number
  error?: { code: string; kind?: string }
  /** The provider's final frame (its receipt for the job), when one came. */
  final?: FinalFrame
  /** The prompt as the provider evaluated it (its first delta's prompt ids). */
  promptTokens?: number
  ms?: number
}

const WORDS = [
  'river',
  'lamp',
  'orbit',
  'cedar',
  'violet',
  'harbor',
  'copper',
  'meadow',
  'signal',
  'pepper',
  'glacier',
  'window',
  'falcon',
  'marble',
  'lantern',
  'thunder',
  'saddle',
  'pixel',
  'quartz',
  'walnut',
  'canyon',
  'ember',
  'tulip',
  'anchor'
]
const ASKS = [
  'Write a short story about',
  'Explain in simple words',
  'Describe',
  'List facts about',
  'Tell me about',
  'Compose a poem on'
]

/** A request that looks like any client's: an ordinary chat prompt, greedy, a modest length. */
export function challengeFrame(model: string, maxTokens: number): RequestFrame {
  const topic = Array.from({ length: randomInt(2, 5) }, () => WORDS[randomInt(WORDS.length)]).join(' ')
  return {
    type: 'request',
    id: `chatcmpl-${randomBytes(16).toString('hex')}`,
    call: {
      api: 'chat',
      body: {
        model,
        messages: [{ role: 'user', content: `${ASKS[randomInt(ASKS.length)]} ${topic}.` }],
        temperature: 0,
        max_tokens: maxTokens,
        stream: true
      }
    }
  }
}

/** Runs a challenge and measures it; errors become part of the result, never a throw. */
export async function runChallenge(
  transport: ChallengeTransport,
  peerId: string,
  request: RequestFrame,
  options: AbortOptions = {}
): Promise<ChallengeRun> {
  const run: ChallengeRun = { tokenIds: [], idsKnown: true, delivered: 0, text: '', completionTokens: 0 }
  const started = performance.now()
  let firstAt: number | undefined
  let lastAt = started
  try {
    for await (const frame of transport(peerId, structuredClone(request), options)) {
      if (frame.type === 'accept' || frame.type === 'queued') continue
      if (frame.type === 'final') {
        run.final = frame
        run.finishReason = frame.finishReason
        run.completionTokens = frame.usage?.completion_tokens ?? run.completionTokens
        break
      }
      run.promptTokens ??= frame.promptTokenIds?.length
      const ids = frame.tokenIds ?? []
      if (frame.text === '' && ids.length === 0) continue
      if (frame.tokenIds === undefined) run.idsKnown = false
      run.delivered += frame.tokenIds !== undefined ? frame.tokenIds.length : 1
      const now = performance.now()
      firstAt ??= now
      lastAt = now
      run.tokenIds.push(...ids)
      run.text += frame.text
      run.completionTokens = Math.max(run.completionTokens, run.tokenIds.length)
    }
  } catch (err) {
    const e = err as { code?: string; kind?: string }
    // our own deadline is no proof of a broken stream: a slow answer is judged by the speed rule
    if (options.signal?.aborted) run.error = { code: 'challenge_timeout', kind: 'timeout' }
    else
      run.error = {
        code: typeof e.code === 'string' ? e.code : 'challenge_failed',
        ...(typeof e.kind === 'string' ? { kind: e.kind } : {})
      }
  }
  run.ms = performance.now() - started
  if (firstAt !== undefined) run.ttftMs = firstAt - started
  const decoded = run.idsKnown ? run.tokenIds.length : run.completionTokens
  if (firstAt !== undefined && decoded > 1 && lastAt > firstAt)
    run.tokensPerSecond = ((decoded - 1) * 1000) / (lastAt - firstAt)
  return run
}

export interface OutputComparison {
  agree: boolean
  /** How many leading tokens (or characters) were compared and matched. */
  matched: number
  compared: number
}

/**
 * Honest builds (CUDA, CPU, Metal) can drift late in a long greedy run, so only a prefix is
 * compared: the first `prefix` tokens must match (or all of the shorter answer, if it stopped).
 */
export function compareOutputs(a: ChallengeRun, b: ChallengeRun, prefix = 8): OutputComparison {
  if (a.idsKnown && b.idsKnown && a.tokenIds.length > 0 && b.tokenIds.length > 0) {
    const compared = Math.min(prefix, a.tokenIds.length, b.tokenIds.length)
    let matched = 0
    while (matched < compared && a.tokenIds[matched] === b.tokenIds[matched]) matched++
    return { agree: matched === compared, matched, compared }
  }
  const x = a.text.replace(/\s+/g, ' ').trim()
  const y = b.text.replace(/\s+/g, ' ').trim()
  const compared = Math.min(prefix * 4, x.length, y.length)
  let matched = 0
  while (matched < compared && x[matched] === y[matched]) matched++
  return { agree: compared > 0 ? matched === compared : x.length === y.length, matched, compared }
}

/** Refusals that say the provider is honestly unable right now, not lying. */
const HONEST_REFUSALS = new Set(['provider_paused', 'provider_busy'])

/** The verdict on a run (before the speed rule and the cross-check). */
export function judgeRun(
  run: ChallengeRun,
  maxTokens: number
): { verdict: ChallengeVerdict; detail: string; honestRefusal?: boolean } {
  if (run.error !== undefined) {
    if (run.error.kind === 'refused')
      return { verdict: 'refused', detail: run.error.code, honestRefusal: HONEST_REFUSALS.has(run.error.code) }
    if (run.error.kind !== 'timeout' && (run.tokenIds.length > 0 || run.text !== ''))
      return { verdict: 'truncated', detail: `stream broke after ${run.completionTokens} tokens (${run.error.code})` }
    return { verdict: 'failed', detail: run.error.code }
  }
  // it said it stopped because of the length limit but delivered fewer tokens
  if (run.finishReason === 'length' && run.completionTokens < maxTokens)
    return { verdict: 'truncated', detail: `${run.completionTokens} of ${maxTokens} tokens, finish 'length'` }
  if (run.completionTokens === 0 && run.text === '') return { verdict: 'truncated', detail: 'an empty answer' }
  return { verdict: 'pass', detail: `${run.completionTokens} tokens` }
}

/**
 * A challenge is a real job the provider is paid for: as an attempt outcome it goes to the same
 * accounting as routed jobs, so the provider's receipt is countersigned and the spend recorded.
 */
export function challengeOutcome(request: RequestFrame, peerId: string, run: ChallengeRun): AttemptOutcome {
  return {
    requestId: request.id,
    provider: peerId,
    local: false,
    model: request.call.body.model,
    kind: run.error === undefined ? 'ok' : 'failed',
    code: run.error?.code,
    // counted as routed jobs count them (and as the receipt does), never by the runtime's usage:
    // a runtime without token ids may put many tokens in one delta
    tokens: run.delivered,
    promptTokens: run.promptTokens,
    ms: run.ms ?? 0,
    continuation: false,
    final: run.final
  }
}
