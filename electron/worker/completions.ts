import { randomBytes } from 'node:crypto'
import type { IncomingMessage, ServerResponse } from 'node:http'
import type { Token } from 'node-llama-cpp'
import { renderChat } from './chat'
import { checkContinuation, textPromptIds } from './continuation-check'
import type { Engine, LoadedModel } from './engine'
import { badRequest, notFound } from './errors'
import { checkPrompt, generate, REPLAY_LIMIT, type GenerateResult } from './generate'
import { disconnectSignal, sendError, sendJson, SseWriter } from './http-util'
import { log } from './log'
import type { JobQueue } from './queue'
import { samplingOf } from './sampling'
import {
  ChatRequestSchema,
  CompletionRequestSchema,
  describeIssues,
  stopList,
  type ChatRequest,
  type CompletionRequest
} from './schemas'
import type { TextChunk } from './text-stream'

export interface Services {
  engine: Engine
  queue: JobQueue
}

type Kind = 'text' | 'chat'

interface Prepared {
  model: LoadedModel
  promptTokens: number[]
  replayTokens: number
  /** Plain-text stop strings of the chat template (a continuation must honour them too). */
  templateStop?: string[]
  maxTokens: number
  stop: string[]
  body: CompletionRequest | ChatRequest
}

const DEFAULT_COMPLETION_MAX_TOKENS = 16

function pickModel(engine: Engine, name: string | undefined): LoadedModel {
  const model = name === undefined ? engine.models.values().next().value : engine.models.get(name)
  if (!model)
    throw notFound(
      `The model '${name}' is not served here (models: ${[...engine.models.keys()].join(', ')})`,
      'model_not_found'
    )
  return model
}

function prepare(engine: Engine, kind: Kind, raw: unknown): Prepared {
  if (kind === 'text') {
    const parsed = CompletionRequestSchema.safeParse(raw)
    if (!parsed.success) throw badRequest(describeIssues(parsed.error))
    const body = parsed.data
    const model = pickModel(engine, body.model)
    const promptTokens = textPromptIds(model, body.prompt)
    const replayTokens = body.replay_tokens ?? 0
    if (replayTokens > promptTokens.length)
      throw badRequest(`replay_tokens (${replayTokens}) exceeds the prompt length (${promptTokens.length})`)
    checkContinuation(model, promptTokens, replayTokens, body.continuation_of)
    const maxTokens = body.max_tokens ?? DEFAULT_COMPLETION_MAX_TOKENS
    return { model, promptTokens, replayTokens, maxTokens, stop: stopList(body.stop), body }
  }
  const parsed = ChatRequestSchema.safeParse(raw)
  if (!parsed.success) throw badRequest(describeIssues(parsed.error))
  const body = parsed.data
  const model = pickModel(engine, body.model)
  const chat = renderChat(model, body.messages)
  const maxTokens = body.max_completion_tokens ?? body.max_tokens ?? model.contextSize - chat.tokens.length
  return {
    model,
    promptTokens: chat.tokens,
    replayTokens: 0,
    maxTokens,
    stop: [...stopList(body.stop), ...chat.stop],
    templateStop: chat.stop,
    body
  }
}

const newId = (kind: Kind): string => `${kind === 'chat' ? 'chatcmpl' : 'cmpl'}-${randomBytes(12).toString('hex')}`

function usageOf(result: GenerateResult): { prompt_tokens: number; completion_tokens: number; total_tokens: number } {
  return {
    prompt_tokens: result.promptTokens,
    completion_tokens: result.completionTokens,
    total_tokens: result.promptTokens + result.completionTokens
  }
}

/** POST /v1/completions and /v1/chat/completions, streamed (SSE) or not. */
export async function handleCompletion(
  services: Services,
  kind: Kind,
  req: IncomingMessage,
  res: ServerResponse,
  raw: unknown
): Promise<void> {
  const p = prepare(services.engine, kind, raw)
  checkPrompt(p.model, p.promptTokens, p.maxTokens)
  const signal = disconnectSignal(req, res)
  const release = await services.queue.acquire(signal)
  const context = await p.model.acquire().catch((err) => {
    release()
    throw err
  })
  const id = newId(kind)
  const created = Math.floor(Date.now() / 1000)
  const withIds = p.body.return_token_ids === true
  const approximate = p.replayTokens > REPLAY_LIMIT
  const object = kind === 'chat' ? 'chat.completion.chunk' : 'text_completion'
  const choice = (text: string, tokenIds: number[], finish: string | null, first = false): Record<string, unknown> => ({
    index: 0,
    ...(kind === 'chat'
      ? { delta: first ? { role: 'assistant', content: text } : text || finish === null ? { content: text } : {} }
      : { text }),
    logprobs: null,
    finish_reason: finish,
    ...(withIds ? { token_ids: tokenIds } : {})
  })
  const head = {
    ...(withIds ? { prompt_token_ids: p.promptTokens } : {}),
    ...(approximate ? { meshwork_approximate: true } : {}),
    // a continuation runs as a plain completion: it must still stop where the chat template would
    ...(withIds && (p.templateStop?.length ?? 0) > 0 ? { meshwork_stop: p.templateStop } : {})
  }
  const generateRequest = {
    promptTokens: p.promptTokens as Token[],
    replayTokens: p.replayTokens,
    maxTokens: p.maxTokens,
    sampling: samplingOf(p.body),
    stop: p.stop,
    signal
  }

  try {
    if (p.body.stream) {
      const sse = new SseWriter(res)
      let first = true
      const sendFirst = async (chunk: TextChunk): Promise<void> => {
        first = false
        await sse.send({
          id,
          object,
          created,
          model: p.model.name,
          ...head,
          choices: [choice(chunk.text, chunk.tokenIds, null, true)]
        })
      }
      // the first event (chat's role, the prompt's ids) leaves with the first token, not before it: one
      // write, one read at the provider and one frame to the router less per request
      const result = await generate(p.model, context, generateRequest, async (chunk) => {
        if (first) return sendFirst(chunk)
        await sse.send({
          id,
          object,
          created,
          model: p.model.name,
          choices: [choice(chunk.text, chunk.tokenIds, null)]
        })
      })
      const usage = usageOf(result)
      const last: unknown[] = [
        {
          id,
          object,
          created,
          model: p.model.name,
          ...(first ? head : {}),
          choices: [choice('', [], result.finishReason, first)],
          usage,
          timings: result.timings
        }
      ]
      if (p.body.stream_options?.include_usage) {
        last.push({ id, object, created, model: p.model.name, choices: [], usage, timings: result.timings })
      }
      sse.end(last)
      return
    }
    let text = ''
    const tokenIds: number[] = []
    const result = await generate(p.model, context, generateRequest, (chunk) => {
      text += chunk.text
      tokenIds.push(...chunk.tokenIds)
    })
    const message = kind === 'chat' ? { message: { role: 'assistant', content: text } } : { text }
    sendJson(res, 200, {
      id,
      object: kind === 'chat' ? 'chat.completion' : 'text_completion',
      created,
      model: p.model.name,
      ...head,
      choices: [
        {
          index: 0,
          ...message,
          logprobs: null,
          finish_reason: result.finishReason,
          ...(withIds ? { token_ids: tokenIds } : {})
        }
      ],
      usage: usageOf(result),
      timings: result.timings
    })
  } catch (err) {
    if (signal.aborted) {
      log.info('request aborted by the client', { id })
      res.destroy()
      return
    }
    log.error('generation failed', { id, error: (err as Error).message })
    sendError(res, err)
  } finally {
    p.model.release(context)
    release()
  }
}
