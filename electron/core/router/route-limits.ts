import type { InferBody } from '../../../shared/infer'
import type { MeshworkRequest } from '../../../shared/openai'
import type { Candidate } from './candidates'
import { InvalidRequestError } from '../util/errors'

/** Where the owner lets prompts go (config): only these peers when set, or nowhere but here. */
export interface PromptPolicy {
  trustedPeers?: readonly string[]
  localOnly?: boolean
}

/**
 * The request's `meshwork` extension is for this router only: it is taken off the call, so a
 * provider never sees which peers or prices the client asked for.
 */
export function splitRequest(call: InferBody): { call: InferBody; wishes: MeshworkRequest } {
  const { meshwork, ...body } = call.body
  return { call: { ...call, body } as InferBody, wishes: meshwork ?? {} }
}

/** Whether a prompt may go to `candidate` under the owner's policy and the request's own wishes. */
export function mayReceivePrompt(candidate: Candidate, policy: PromptPolicy, wishes: MeshworkRequest): boolean {
  if (candidate.local) return true
  if (policy.localOnly === true || wishes.localOnly === true) return false
  const trusted = policy.trustedPeers ?? []
  if (trusted.length > 0 && !trusted.includes(candidate.peerId)) return false
  if (wishes.peers !== undefined && !wishes.peers.includes(candidate.peerId)) return false
  return true
}

/**
 * A provider's 4xx is not believed (it could refuse on purpose), so what the router can check
 * itself it checks here: a token-id prompt that, with max_tokens, cannot fit the context that every
 * provider of the model advertises is the client's error.
 */
export function checkFitsContext(call: InferBody, candidates: Candidate[]): void {
  const prompt = call.api === 'completions' ? call.body.prompt : undefined
  if (!Array.isArray(prompt) || typeof prompt[0] !== 'number') return
  const contexts = candidates.map((c) => c.contextLength)
  if (contexts.length === 0 || contexts.some((n) => n === undefined)) return
  const largest = Math.max(...(contexts as number[]))
  const wanted = prompt.length + (call.body.max_tokens ?? 1)
  if (wanted > largest) {
    throw new InvalidRequestError(
      `The prompt (${prompt.length} tokens) plus max_tokens does not fit the model's context of ${largest} tokens`,
      'context_length_exceeded'
    )
  }
}
