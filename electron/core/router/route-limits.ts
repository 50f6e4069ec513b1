import type { InferBody } from '../../../shared/infer'
import type { MeshworkRequest } from '../../../shared/openai'
import type { Candidate } from './candidates'

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
