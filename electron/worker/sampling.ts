import type { SequenceEvaluateOptions, Token } from 'node-llama-cpp'

/** How many recent tokens presence and frequency penalties look back on (llama.cpp server's default). */
export const PENALTY_WINDOW = 64

/** The sampling fields of an OpenAI request, as the worker honours them. */
export interface Sampling {
  temperature: number
  topP?: number
  /** 0 keeps the whole vocabulary; unset means llama.cpp's default of 40 */
  topK?: number
  minP?: number
  seed?: number
  presencePenalty?: number
  frequencyPenalty?: number
}

interface SamplingFields {
  temperature?: number | null
  top_p?: number | null
  top_k?: number | null
  min_p?: number | null
  seed?: number | null
  presence_penalty?: number | null
  frequency_penalty?: number | null
}

const given = (n: number | null | undefined): number | undefined => (n == null ? undefined : n)

export function samplingOf(body: SamplingFields): Sampling {
  return {
    temperature: body.temperature ?? 1, // OpenAI's default
    topP: given(body.top_p),
    topK: given(body.top_k),
    minP: given(body.min_p),
    seed: body.seed == null ? undefined : body.seed >>> 0,
    presencePenalty: given(body.presence_penalty),
    frequencyPenalty: given(body.frequency_penalty)
  }
}

/**
 * node-llama-cpp options for one generation. `history` holds every token of the sequence so far
 * (prompt, then each generated token as it comes): penalties look at its last PENALTY_WINDOW tokens,
 * which a continuation (prompt + emitted ids) sees exactly as the uninterrupted run did. At
 * temperature 0 llama.cpp picks the most likely token after the penalties; top-k/top-p/min-p only
 * matter when sampling.
 */
export function evaluateOptions(s: Sampling, history: Token[]): SequenceEvaluateOptions {
  const options: SequenceEvaluateOptions =
    s.temperature > 0
      ? { temperature: s.temperature, topP: s.topP, topK: s.topK, minP: s.minP, seed: s.seed }
      : { temperature: 0 }
  const presencePenalty = s.presencePenalty ?? 0
  const frequencyPenalty = s.frequencyPenalty ?? 0
  if (presencePenalty !== 0 || frequencyPenalty !== 0) {
    options.repeatPenalty = {
      punishTokens: () => history.slice(-PENALTY_WINDOW),
      maxPunishTokens: PENALTY_WINDOW,
      penalty: 1, // node-llama-cpp's own default (1.1) is not an OpenAI field: off
      presencePenalty,
      frequencyPenalty
    }
  }
  return options
}
