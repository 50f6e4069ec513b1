import { z } from 'zod'

export const MODEL_NAME = /^[A-Za-z0-9][A-Za-z0-9._:/-]{0,127}$/

/** A model a provider serves; sha256 of the GGUF decides who may continue whose stream. */
export const ServedModelSchema = z.object({
  name: z.string().regex(MODEL_NAME),
  sha256: z.string().regex(/^[0-9a-f]{64}$/),
  params: z.number().int().nonnegative(),
  contextLength: z.number().int().positive().optional()
})
export type ServedModel = z.infer<typeof ServedModelSchema>
