import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import { randomUUID } from 'node:crypto'
import type { ServerResponse } from 'node:http'
import type { InferBody } from '../../../shared/infer'
import {
  ChatCompletionRequestSchema,
  CompletionRequestSchema,
  type MeshworkInfo,
  type Usage
} from '../../../shared/openai'
import { openAiErrorBody } from '../../../shared/openai-error'
import type { RouteEvent, Router } from '../router/router'
import { InvalidRequestError, MeshworkError } from '../util/errors'
import type { Logger } from '../util/logger'

export interface OpenAiRoutesDeps {
  router: Router
  logger: Logger
}

type Api = InferBody['api']

/** OpenAI-compatible `/v1/models`, `/v1/chat/completions` and `/v1/completions`, routed through the mesh. */
export function registerOpenAiRoutes(app: FastifyInstance, deps: OpenAiRoutesDeps): void {
  const log = deps.logger.child('openai')

  app.get('/v1/models', async () => {
    const names = [...deps.router.knownModels()].sort()
    return {
      object: 'list',
      data: names.map((id) => ({
        id,
        object: 'model',
        created: 0,
        owned_by: 'meshwork',
        meshwork: { providers: deps.router.candidates(id).length }
      }))
    }
  })

  app.post('/v1/chat/completions', (request, reply) => complete('chat', request, reply))
  app.post('/v1/completions', (request, reply) => complete('completions', request, reply))

  async function complete(api: Api, request: FastifyRequest, reply: FastifyReply): Promise<unknown> {
    const call = parseCall(api, request.body)
    const id = `${api === 'chat' ? 'chatcmpl' : 'cmpl'}-${randomUUID().replace(/-/g, '')}`
    const created = Math.floor(Date.now() / 1000)
    const controller = new AbortController()
    const onClose = (): void => {
      if (!reply.raw.writableFinished) controller.abort(new Error('client disconnected'))
    }
    reply.raw.on('close', onClose)
    const events = deps.router.route({ id, call }, { signal: controller.signal })
    try {
      // Failures before the first token become a plain HTTP error (400/404/503) here.
      const first = await events.next()
      if (first.done || first.value.type !== 'start')
        throw new MeshworkError('the router produced no answer', 'internal_error', 500)
      const provider = first.value.provider
      const shape = new ChunkShaper(api, id, created, call.body.model)
      if (call.body.stream === true) {
        reply.hijack()
        await streamOut(reply.raw, provider, events, shape, call.body.stream_options?.include_usage === true, log)
        return reply
      }
      let text = ''
      for await (const event of events) {
        if (event.type === 'text') text += event.text
        else if (event.type === 'restart') text = ''
        else if (event.type === 'done') {
          reply.header('x-meshwork-provider', event.meshwork.providers.at(-1) ?? provider)
          return shape.whole(text, event.finishReason, event.usage, event.meshwork)
        }
      }
      throw new MeshworkError('the stream ended without an answer', 'internal_error', 502)
    } finally {
      reply.raw.off('close', onClose)
      await events.return(undefined).catch(() => {})
    }
  }
}

function parseCall(api: Api, body: unknown): InferBody {
  const schema = api === 'chat' ? ChatCompletionRequestSchema : CompletionRequestSchema
  const parsed = schema.safeParse(body)
  if (!parsed.success) {
    const issue = parsed.error.issues[0]
    const path = issue.path.join('.')
    throw new InvalidRequestError(path ? `${path}: ${issue.message}` : issue.message)
  }
  return { api, body: parsed.data } as InferBody
}

async function streamOut(
  raw: ServerResponse,
  provider: string,
  events: AsyncGenerator<RouteEvent>,
  shape: ChunkShaper,
  includeUsage: boolean,
  log: Logger
): Promise<void> {
  raw.writeHead(200, {
    'content-type': 'text/event-stream; charset=utf-8',
    'cache-control': 'no-cache',
    connection: 'keep-alive',
    'x-meshwork-provider': provider
  })
  const write = async (payload: unknown): Promise<void> => {
    if (raw.destroyed) throw new Error('client disconnected')
    if (!raw.write(`data: ${typeof payload === 'string' ? payload : JSON.stringify(payload)}\n\n`)) {
      await new Promise<void>((resolve) => {
        const done = (): void => {
          raw.off('drain', done)
          raw.off('close', done)
          resolve()
        }
        raw.on('drain', done)
        raw.on('close', done)
      })
    }
  }
  try {
    if (shape.api === 'chat') await write(shape.chunk({ role: 'assistant', content: '' }, null))
    for await (const event of events) {
      if (event.type === 'text') await write(shape.textChunk(event.text))
      else if (event.type === 'done') {
        const last = shape.chunk(shape.api === 'chat' ? {} : '', event.finishReason)
        if (!includeUsage) Object.assign(last, { usage: event.usage, meshwork: event.meshwork })
        else last.meshwork = event.meshwork
        await write(last)
        if (includeUsage) await write({ ...shape.base(), choices: [], usage: event.usage, meshwork: event.meshwork })
        await write('[DONE]')
      }
    }
  } catch (err) {
    if (!raw.destroyed) {
      const e = err as { code?: string; message?: string; status?: number }
      log.warn('stream failed after the first token', { code: e.code, message: e.message })
      await write(openAiErrorBody(e.status ?? 502, e.code ?? 'stream_failed', e.message ?? 'the stream failed')).catch(
        () => {}
      )
    }
  } finally {
    raw.end()
  }
}

class ChunkShaper {
  constructor(
    readonly api: Api,
    private readonly id: string,
    private readonly created: number,
    private readonly model: string
  ) {}

  base(): Record<string, unknown> {
    const object = this.api === 'chat' ? 'chat.completion.chunk' : 'text_completion'
    return { id: this.id, object, created: this.created, model: this.model }
  }

  chunk(
    delta: Record<string, unknown> | string,
    finishReason: string | null
  ): Record<string, unknown> & { meshwork?: MeshworkInfo } {
    const choice =
      this.api === 'chat'
        ? { index: 0, delta, logprobs: null, finish_reason: finishReason }
        : { index: 0, text: delta, logprobs: null, finish_reason: finishReason }
    return { ...this.base(), choices: [choice] }
  }

  textChunk(text: string): Record<string, unknown> {
    return this.chunk(this.api === 'chat' ? { content: text } : text, null)
  }

  whole(text: string, finishReason: string | null, usage: Usage, meshwork: MeshworkInfo): Record<string, unknown> {
    const choice =
      this.api === 'chat'
        ? { index: 0, message: { role: 'assistant', content: text }, logprobs: null, finish_reason: finishReason }
        : { index: 0, text, logprobs: null, finish_reason: finishReason }
    const object = this.api === 'chat' ? 'chat.completion' : 'text_completion'
    return { id: this.id, object, created: this.created, model: this.model, choices: [choice], usage, meshwork }
  }
}
