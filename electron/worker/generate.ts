import type { LlamaContext, Token } from 'node-llama-cpp'
import type { LoadedModel } from './engine'
import { badRequest } from './errors'
import { evaluateOptions, type Sampling } from './sampling'
import { TokenTextStream, type TextChunk } from './text-stream'

/** Past this many replayed tokens the continuation is prefilled in one batch (faster, approximate). */
export const REPLAY_LIMIT = 512

export interface GenerateRequest {
  promptTokens: number[]
  /** the last n prompt tokens were generated before: evaluate them one decode step each */
  replayTokens: number
  maxTokens: number
  sampling: Sampling
  stop: string[]
  signal: AbortSignal
}

export interface Timings {
  prompt_n: number
  prompt_ms: number
  predicted_n: number
  predicted_ms: number
  prompt_per_second: number
  predicted_per_second: number
}

export interface GenerateResult {
  finishReason: 'stop' | 'length'
  promptTokens: number
  completionTokens: number
  approximate: boolean
  timings: Timings
}

/** Rejects prompts that llama.cpp would crash on or that cannot fit the context. */
export function checkPrompt(model: LoadedModel, tokens: number[], maxTokens: number): void {
  if (tokens.length === 0) throw badRequest('The prompt is empty')
  const bad = model.vocabularySize > 0 ? tokens.find((t) => t >= model.vocabularySize) : undefined
  if (bad !== undefined) throw badRequest(`Token id ${bad} is outside the vocabulary (size ${model.vocabularySize})`)
  if (tokens.length >= model.contextSize) {
    throw badRequest(
      `The prompt has ${tokens.length} tokens; this model's context holds ${model.contextSize}`,
      'context_length_exceeded'
    )
  }
  if (maxTokens < 0) throw badRequest('max_tokens must be >= 0')
}

const rate = (n: number, ms: number): number => (ms > 0 ? (n * 1000) / ms : 0)

/**
 * Evaluates the prompt and generates, calling `onChunk` (awaited, for back-pressure) with text
 * that is safe to emit. The prompt is one batch and every later token one decode step, also for
 * the replayed tail of a continuation, so greedy output is the same as an uninterrupted run.
 */
export async function generate(
  model: LoadedModel,
  context: LlamaContext,
  req: GenerateRequest,
  onChunk: (chunk: TextChunk) => void | Promise<void>
): Promise<GenerateResult> {
  const prompt = req.promptTokens as Token[]
  const approximate = req.replayTokens > REPLAY_LIMIT
  const replay = approximate ? 0 : Math.min(req.replayTokens, prompt.length)
  const head = prompt.slice(0, prompt.length - replay)
  const tail = prompt.slice(prompt.length - replay)
  const maxTokens = Math.min(req.maxTokens, model.contextSize - prompt.length)
  const detokenize = (tokens: number[], last: number[]): string =>
    model.model.detokenize(tokens as Token[], false, last as Token[])
  const seedText = tail.length > 0 ? detokenize(tail.slice(-16), head.slice(-16)) : ''
  const stream = new TokenTextStream(detokenize, req.stop, prompt, seedText)

  const started = performance.now()
  let firstAt = started
  let generated = 0
  let finishReason: GenerateResult['finishReason'] = 'length'
  const sequence = context.getSequence()
  try {
    await sequence.clearHistory()
    if (maxTokens > 0) {
      let input: Token[] = prompt
      if (tail.length > 0) {
        if (head.length > 0) await sequence.evaluateWithoutGeneratingNewTokens(head)
        for (const token of tail.slice(0, -1)) {
          req.signal.throwIfAborted()
          await sequence.evaluateWithoutGeneratingNewTokens([token])
        }
        input = tail.slice(-1)
      }
      const history = [...prompt] // what penalties look back on, as the sequence grows
      finishReason = 'stop' // the iterator ends early only on an end-of-generation token
      for await (const token of sequence.evaluate(input, evaluateOptions(req.sampling, history))) {
        req.signal.throwIfAborted()
        if (generated === 0) firstAt = performance.now()
        generated++
        history.push(token)
        const chunk = stream.push(token)
        if (chunk) await onChunk(chunk)
        if (stream.stopped) break
        if (generated >= maxTokens) {
          finishReason = 'length'
          break
        }
      }
      if (!stream.stopped) {
        const rest = stream.finish()
        if (rest) await onChunk(rest)
      }
    }
  } finally {
    await sequence.dispose()
  }
  const ended = performance.now()
  if (generated === 0) firstAt = ended
  const promptMs = firstAt - started
  const predictedMs = ended - firstAt
  return {
    finishReason,
    promptTokens: prompt.length,
    completionTokens: generated,
    approximate,
    timings: {
      prompt_n: prompt.length,
      prompt_ms: promptMs,
      predicted_n: generated,
      predicted_ms: predictedMs,
      prompt_per_second: rate(prompt.length, promptMs),
      predicted_per_second: rate(generated, predictedMs)
    }
  }
}
