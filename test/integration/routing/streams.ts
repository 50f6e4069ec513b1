import type OpenAI from 'openai'
import type { NodeProcess } from '../../helpers/node-process'
import { waitFor } from '../../helpers/wait'

/** One streamed request through the router, collected as it arrives. */
export interface StreamRun {
  api: 'completions' | 'chat'
  prompt: string
  text: string
  chunks: number
  provider: string
  failovers: number
  /** The router said a continuation could not be token-exact (past the replay bound). */
  approximate: boolean
  /** The stream is over (finished or failed: `done` says which). */
  ended: boolean
  done: Promise<void>
}

/** True once every stream is under way, or over (then awaiting `done` shows how it ended). */
export const allUnderWay = (runs: StreamRun[]): boolean => runs.every((r) => r.chunks >= 2 || r.ended)
export const chunkCounts = (runs: StreamRun[]): string =>
  `chunks so far: ${runs.map((r) => `${r.chunks}${r.ended ? ' (ended)' : ''}`).join(', ')}`

/** Starts one greedy stream per prompt, alternating completions and chat. */
export async function startStreams(
  client: OpenAI,
  model: string,
  maxTokens: number,
  prompts: string[]
): Promise<StreamRun[]> {
  return Promise.all(
    prompts.map(async (prompt, i) => {
      const api = i % 2 === 0 ? ('completions' as const) : ('chat' as const)
      const run: StreamRun = {
        api,
        prompt,
        text: '',
        chunks: 0,
        provider: '',
        failovers: -1,
        approximate: false,
        ended: false,
        done: Promise.resolve()
      }
      const common = { model, max_tokens: maxTokens, temperature: 0, stream: true as const }
      const { data, response } =
        api === 'chat'
          ? await client.chat.completions
              .create({ ...common, messages: [{ role: 'user', content: prompt }] })
              .withResponse()
          : await client.completions.create({ ...common, prompt }).withResponse()
      run.provider = response.headers.get('x-meshwork-provider') ?? ''
      run.done = (async () => {
        try {
          for await (const c of data as AsyncIterable<any>) {
            run.text += c.choices[0]?.delta?.content ?? c.choices[0]?.text ?? ''
            run.chunks++
            if (c.meshwork) {
              run.failovers = c.meshwork.failovers
              run.approximate = c.meshwork.approximate === true
            }
          }
        } finally {
          run.ended = true
        }
      })()
      return run
    })
  )
}

/** The provider serving the most of these streams: the one to hurt. */
export function busiestProvider(runs: StreamRun[]): string {
  const counts = new Map<string, number>()
  for (const r of runs) counts.set(r.provider, (counts.get(r.provider) ?? 0) + 1)
  return [...counts].sort((a, b) => b[1] - a[1])[0][0]
}

const references = new Map<string, string>()

/**
 * The greedy answer straight from a provider's runtime (cached): what every routed stream must equal,
 * whichever providers of the same GGUF served it.
 */
export async function greedyReference(
  endpoint: () => Promise<string>,
  model: string,
  maxTokens: number,
  api: 'chat' | 'completions',
  prompt: string,
  /** The worker's launch token, when the endpoint is a node's own worker. */
  token?: () => string | undefined
): Promise<string> {
  const key = `${model}:${maxTokens}:${api}:${prompt}`
  const known = references.get(key)
  if (known !== undefined) return known
  const body =
    api === 'chat'
      ? { model, messages: [{ role: 'user', content: prompt }], max_tokens: maxTokens, temperature: 0 }
      : { model, prompt, max_tokens: maxTokens, temperature: 0 }
  const url = await endpoint()
  const bearer = token?.()
  const res = await fetch(`${url}/v1/${api === 'chat' ? 'chat/completions' : 'completions'}`, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      ...(bearer !== undefined ? { authorization: `Bearer ${bearer}` } : {})
    },
    body: JSON.stringify(body)
  })
  const json = (await res.json()) as any
  const text: string = api === 'chat' ? json.choices[0].message.content : json.choices[0].text
  references.set(key, text)
  return text
}

/** Peers `node` sees alive, not paused and serving `model`. */
export async function livePeers(node: NodeProcess, model: string): Promise<string[]> {
  const { peers } = await node.get('/api/peers')
  return peers
    .filter((p: any) => p.alive && !p.paused && p.advert.models.some((m: any) => m.name === model))
    .map((p: any) => p.peerId)
}

/** Waits until `router` sees `count` live providers of `model`; on timeout says what it does see. */
export async function waitForLiveProviders(
  router: NodeProcess,
  model: string,
  count: number,
  timeoutMs: number
): Promise<void> {
  await waitFor(async () => (await livePeers(router, model)).length === count, timeoutMs, { intervalMs: 250 }).catch(
    async (err: Error) => {
      const { connections } = await router.get('/api/status')
      const { peers } = await router.get('/api/peers?all=1')
      const seen = peers.map(
        (p: any) => `${p.peerId.slice(-6)} alive=${p.alive} paused=${p.paused} ${p.excludedReason ?? ''}`
      )
      throw new Error(`${err.message}: the router has ${connections} connections and sees [${seen.join('; ')}]`)
    }
  )
}
