import { z } from 'zod'
import { PeersResponseSchema, RuntimeStatusSchema, StatusResponseSchema } from './api'
import { EarningsQuerySchema, EarningsResponseSchema, VerifyReportSchema } from './earnings'
import { MaxPriceSchema, ModelPriceSchema, PriceUpdateSchema } from './price'
import { IPC_ERRORS, PUSH_EVENTS, isInvokeChannel, type InvokeChannel, type PushEventName } from './ipc-names'

export * from './ipc-names'

/**
 * The dashboard contract: every call the renderer may make (args → result) and every event the node
 * pushes. Served over Electron IPC (preload) and over HTTP + SSE (`POST /api/ipc/:channel`,
 * `GET /api/events`) by the headless node, so the renderer runs unchanged on both.
 */

/** Largest JSON args payload accepted for one call. */
export const MAX_IPC_ARGS_BYTES = 16 * 1024

const NoArgs = z.strictObject({})

/** What the Settings page shows; read-only for now. */
export const SettingsViewSchema = z.object({
  dataDir: z.string(),
  apiUrl: z.string(),
  apiHost: z.string(),
  apiPort: z.number().int(),
  p2pHost: z.string(),
  p2pPort: z.number().int(),
  bootstrap: z.array(z.string()),
  mdns: z.boolean(),
  apiKeySet: z.boolean(),
  runtime: z.string(),
  endpoint: z.string().optional(),
  models: z.array(z.string()),
  pauseStopsRuntime: z.boolean(),
  pricePerMillionTokens: z.number(),
  /** Per-model prices (credits per million prompt / completion tokens) and the credits' name. */
  prices: z.record(z.string(), ModelPriceSchema).optional(),
  priceUnit: z.string().optional(),
  /** The most this node pays as a consumer. */
  maxPrice: MaxPriceSchema.optional(),
  maxConcurrentJobs: z.number().int()
})
export type SettingsView = z.infer<typeof SettingsViewSchema>

export const ProgressEventSchema = z.object({
  task: z.string().max(256),
  fraction: z.number().min(0).max(1).optional(),
  message: z.string().max(4096).optional()
})

export const PushEventSchemas = {
  'status:changed': z.object({ paused: z.boolean() }),
  'peer:updated': z.object({ peerId: z.string(), alive: z.boolean(), paused: z.boolean() }),
  'peer:removed': z.object({ peerId: z.string(), reason: z.string() }),
  'runtime:status': RuntimeStatusSchema,
  'runtime:progress': ProgressEventSchema,
  'runtime:log': z.object({ line: z.string().max(16 * 1024), stream: z.enum(['stdout', 'stderr']) }),
  'request:started': z.object({ id: z.string(), model: z.string(), stream: z.boolean() }),
  'request:attempt': z.object({ id: z.string(), provider: z.string(), attempt: z.number(), continuation: z.boolean() }),
  'request:failover': z.object({
    id: z.string(),
    from: z.string(),
    to: z.string().optional(),
    reason: z.string(),
    emittedTokens: z.number(),
    gapMs: z.number().optional(),
    approximate: z.boolean().optional()
  }),
  'request:finished': z.object({
    id: z.string(),
    providers: z.array(z.string()),
    failovers: z.number(),
    ok: z.boolean(),
    error: z.string().optional(),
    latencyMs: z.number(),
    promptTokens: z.number().optional(),
    completionTokens: z.number().optional(),
    ttftMs: z.number().optional()
  }),
  'job:served': z.object({
    id: z.string(),
    model: z.string(),
    consumer: z.string(),
    promptTokens: z.number(),
    completionTokens: z.number(),
    ok: z.boolean()
  }),
  'benchmark:progress': ProgressEventSchema
} as const satisfies Record<PushEventName, z.ZodType>

export type PushEvents = { [K in PushEventName]: z.infer<(typeof PushEventSchemas)[K]> }

/** One pushed event as it travels (SSE `data:` line, Electron `meshwork:event` message, history). */
export interface PushedEvent<K extends PushEventName = PushEventName> {
  name: K
  payload: PushEvents[K]
  /** ms since epoch when the node emitted it */
  time: number
}

export const PushedEventSchema = z.object({
  name: z.enum(PUSH_EVENTS),
  payload: z.unknown(),
  time: z.number()
})

export const InvokeContract = {
  'status:get': { args: NoArgs, result: StatusResponseSchema },
  'peers:list': { args: z.strictObject({ all: z.boolean().optional() }), result: PeersResponseSchema },
  'earning:pause': { args: NoArgs, result: StatusResponseSchema },
  'earning:resume': { args: NoArgs, result: StatusResponseSchema },
  'settings:get': { args: NoArgs, result: SettingsViewSchema },
  'events:recent': {
    args: z.strictObject({ limit: z.number().int().min(1).max(1000).optional() }),
    result: z.array(PushedEventSchema)
  },
  'earnings:get': { args: EarningsQuerySchema, result: EarningsResponseSchema },
  'earnings:verify': { args: NoArgs, result: VerifyReportSchema },
  'prices:set': { args: PriceUpdateSchema, result: SettingsViewSchema }
} as const satisfies Record<InvokeChannel, { args: z.ZodType; result: z.ZodType }>

export type InvokeArgs<C extends InvokeChannel> = z.input<(typeof InvokeContract)[C]['args']>
export type InvokeResult<C extends InvokeChannel> = z.infer<(typeof InvokeContract)[C]['result']>

export interface IpcError {
  code: string
  message: string
}
/** Result envelope (Signal Desktop style): calls never throw across the boundary. */
export type IpcResult<T> = { ok: true; value: T } | { ok: false; error: IpcError }

export const IpcErrorSchema = z.object({ code: z.string().max(64), message: z.string().max(4096) })

export type ParsedCall = {
  [C in InvokeChannel]: { channel: C; args: z.infer<(typeof InvokeContract)[C]['args']> }
}[InvokeChannel]

/** Validate one call at a boundary: known channel, JSON size under the limit, args matching the schema. */
export function parseInvoke(
  channel: unknown,
  args: unknown
): { ok: true; call: ParsedCall } | { ok: false; error: IpcError } {
  if (!isInvokeChannel(channel)) {
    return {
      ok: false,
      error: { code: IPC_ERRORS.unknownChannel, message: `Unknown channel '${String(channel).slice(0, 64)}'` }
    }
  }
  const size = jsonSize(args ?? {})
  if (size > MAX_IPC_ARGS_BYTES) {
    return {
      ok: false,
      error: { code: IPC_ERRORS.tooLarge, message: `Arguments of ${size} bytes exceed ${MAX_IPC_ARGS_BYTES}` }
    }
  }
  const parsed = InvokeContract[channel].args.safeParse(args ?? {})
  if (!parsed.success) {
    const detail = parsed.error.issues.map((i) => `${i.path.join('.') || 'args'}: ${i.message}`).join('; ')
    return {
      ok: false,
      error: { code: IPC_ERRORS.invalidArgs, message: `Invalid arguments for '${channel}': ${detail}` }
    }
  }
  return { ok: true, call: { channel, args: parsed.data } as ParsedCall }
}

/** Validate a result against the contract (used by the renderer on what the node returns). */
export function parseResult<C extends InvokeChannel>(channel: C, value: unknown): IpcResult<InvokeResult<C>> {
  const parsed = InvokeContract[channel].result.safeParse(value)
  if (parsed.success) return { ok: true, value: parsed.data as InvokeResult<C> }
  const first = parsed.error.issues[0]
  return {
    ok: false,
    error: {
      code: IPC_ERRORS.badResult,
      message: `The node answered '${channel}' with an unexpected shape (${first?.path.join('.')}: ${first?.message})`
    }
  }
}

export function parsePushEvent(name: PushEventName, payload: unknown): PushEvents[PushEventName] | undefined {
  const parsed = PushEventSchemas[name].safeParse(payload)
  return parsed.success ? (parsed.data as PushEvents[PushEventName]) : undefined
}

function jsonSize(value: unknown): number {
  try {
    return new TextEncoder().encode(JSON.stringify(value) ?? '').byteLength
  } catch {
    return Number.POSITIVE_INFINITY
  }
}
