import type { z } from 'zod'
import {
  ChatCompletionRequestSchema,
  CompletionRequestSchema as MeshCompletionSchema,
  WorkerExtras
} from '../../shared/openai'

/**
 * The worker accepts exactly what the mesh accepts (shared/openai.ts), plus the fields the mesh adds
 * for token-exact continuation. `model` may be left out (the worker serves its first model), as
 * OpenAI-compatible runtimes allow. Unknown fields are ignored, as OpenAI servers do.
 */
const WorkerFields = { ...WorkerExtras, model: MeshCompletionSchema.shape.model.optional() }

export const CompletionRequestSchema = MeshCompletionSchema.extend(WorkerFields)
export type CompletionRequest = z.infer<typeof CompletionRequestSchema>

export const ChatRequestSchema = ChatCompletionRequestSchema.extend(WorkerFields)
export type ChatRequest = z.infer<typeof ChatRequestSchema>
export type { ChatMessage } from '../../shared/openai'

/** The stop strings of a request as a list (OpenAI takes one string or a list). */
export function stopList(stop: string | string[] | null | undefined): string[] {
  return stop == null ? [] : typeof stop === 'string' ? [stop] : stop
}

/** The first zod issues as one readable sentence. */
export function describeIssues(error: z.ZodError): string {
  return error.issues
    .slice(0, 3)
    .map((i) => (i.path.length > 0 ? `${i.path.join('.')}: ${i.message}` : i.message))
    .join('; ')
}
