import { renderChat } from './chat'
import type { LoadedModel } from './engine'
import { WorkerError } from './errors'
import type { ChatMessage, CompletionRequest } from './schemas'

type Original = { messages?: ChatMessage[]; prompt?: CompletionRequest['prompt'] }

/** A text prompt as the model sees it: its token ids (with BOS where the model wants one). */
export function textPromptIds(model: LoadedModel, prompt: CompletionRequest['prompt']): number[] {
  const text = Array.isArray(prompt) && typeof prompt[0] === 'string' ? prompt[0] : prompt
  if (typeof text !== 'string') return text as number[]
  const ids = model.model.tokenize(text)
  const bos = model.model.tokens.bos
  if (bos !== null && model.model.tokens.shouldPrependBosToken) ids.unshift(bos)
  return ids
}

/**
 * A continuation carries the prompt ids the first provider reported plus the tokens it emitted.
 * Refuses unless the prompt part is exactly this model's own tokenization of the original request,
 * so a provider cannot plant context (a changed system prompt, injected turns) for the next one.
 */
export function checkContinuation(
  model: LoadedModel,
  promptTokens: number[],
  replayTokens: number,
  original: Original | undefined
): void {
  if (original === undefined) return
  if ((original.messages === undefined) === (original.prompt === undefined)) {
    throw new WorkerError(400, 'invalid_request', 'continuation_of needs exactly one of messages or prompt')
  }
  const expected =
    original.messages !== undefined
      ? renderChat(model, original.messages).tokens
      : textPromptIds(model, original.prompt!)
  const head = promptTokens.slice(0, promptTokens.length - replayTokens)
  if (head.length !== expected.length || head.some((t, i) => t !== expected[i])) {
    throw new WorkerError(
      409,
      'continuation_mismatch',
      'the continuation prompt is not the original request as this model tokenizes it'
    )
  }
}
