import type { ChatWrapper, Llama, LlamaContext, LlamaModel } from 'node-llama-cpp'
import { log } from './log'

export interface ModelEntry {
  name: string
  path: string
}

export interface EngineOptions {
  models: ModelEntry[]
  gpu: 'auto' | 'false' | 'cuda' | 'vulkan' | 'metal'
  threads: number
  /** most sequences generating at once, per model */
  parallel: number
  contextSize: number
}

/**
 * A loaded model with a pool of contexts. Each running request owns a whole context (not a
 * sequence of a shared one), so its batches never mix with another request's: greedy output does
 * not depend on what else runs, which token-exact continuation needs.
 */
export class LoadedModel {
  private readonly free: LlamaContext[] = []
  private created = 0
  readonly contextSize: number
  readonly vocabularySize: number

  constructor(
    readonly name: string,
    readonly model: LlamaModel,
    readonly chatWrapper: ChatWrapper,
    private readonly options: { threads: number; contextSize: number; parallel: number }
  ) {
    this.contextSize = Math.min(options.contextSize, model.trainContextSize || options.contextSize)
    const tokens = (model.fileInfo.metadata as unknown as { tokenizer?: { ggml?: { tokens?: unknown[] } } }).tokenizer
      ?.ggml?.tokens
    this.vocabularySize = tokens?.length ?? 0
  }

  /** A context for one request; give it back with `release`. */
  async acquire(): Promise<LlamaContext> {
    const ready = this.free.pop()
    if (ready) return ready
    if (this.created >= this.options.parallel) throw new Error(`no free context for ${this.name}`)
    this.created++
    try {
      return await this.model.createContext({
        contextSize: this.contextSize,
        threads: this.options.threads,
        sequences: 1
      })
    } catch (err) {
      this.created--
      throw err
    }
  }

  release(context: LlamaContext): void {
    if (context.disposed) {
      this.created--
      return
    }
    this.free.push(context)
  }

  async warmUp(): Promise<void> {
    this.release(await this.acquire())
  }

  async dispose(): Promise<void> {
    await Promise.all(this.free.splice(0).map((c) => c.dispose()))
    await this.model.dispose()
  }
}

export interface Engine {
  llama: Llama
  models: Map<string, LoadedModel>
  dispose(): Promise<void>
}

export async function createEngine(options: EngineOptions): Promise<Engine> {
  // loaded here, not at the top: importing llama.cpp takes seconds on small machines, and the
  // worker should answer bad arguments and signals before that
  const { getLlama, resolveChatWrapper } = await import('node-llama-cpp')
  const llama = await getLlama({
    gpu: options.gpu === 'false' ? false : options.gpu,
    build: 'never',
    logLevel: 'warn' as never,
    logger: (level, message) => {
      const text = message.trim()
      if (text) log.warn(`llama.cpp ${level}: ${text}`)
    }
  })
  log.info('llama.cpp ready', { gpu: llama.gpu || 'cpu', threads: options.threads })
  const models = new Map<string, LoadedModel>()
  try {
    for (const entry of options.models) {
      const started = Date.now()
      const model = await llama.loadModel({ modelPath: entry.path })
      const loaded = new LoadedModel(entry.name, model, resolveChatWrapper(model), options)
      models.set(entry.name, loaded)
      await loaded.warmUp()
      log.info('model loaded', {
        name: entry.name,
        path: entry.path,
        contextSize: loaded.contextSize,
        ms: Date.now() - started
      })
    }
  } catch (err) {
    await Promise.all([...models.values()].map((m) => m.dispose().catch(() => undefined)))
    await llama.dispose().catch(() => undefined)
    throw err
  }
  return {
    llama,
    models,
    async dispose() {
      for (const m of models.values())
        await m.dispose().catch((err) => log.warn('dispose failed', { error: String(err) }))
      await llama.dispose().catch(() => undefined)
    }
  }
}
