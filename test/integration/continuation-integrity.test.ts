import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { ensureBuiltinModel } from '../../electron/core/runtime/models/builtin'
import { killAllWorkers, postJson, startWorker, type RunningWorker } from './worker-helpers'

// A continuation carries the prompt ids the first provider reported. A provider that lies about them
// could plant context (a changed system prompt) for the one that continues: the worker refuses that.
let worker: RunningWorker

beforeAll(async () => {
  const tiny = await ensureBuiltinModel('meshwork-tiny', join(tmpdir(), 'meshwork-test-models'))
  worker = await startWorker(['--model', `meshwork-tiny=${tiny.path}`, '--threads', '1', '--gpu', 'false'])
})

afterAll(() => killAllWorkers())

const messages = [
  { role: 'system', content: 'You are terse.' },
  { role: 'user', content: 'Say something about rivers' }
]

async function chatStart(): Promise<{ promptIds: number[]; ids: number[] }> {
  const r = await postJson(worker.base, '/v1/chat/completions', {
    model: 'meshwork-tiny',
    messages,
    max_tokens: 6,
    temperature: 0,
    return_token_ids: true
  })
  expect(r.status).toBe(200)
  return { promptIds: r.json.prompt_token_ids, ids: r.json.choices[0].token_ids }
}

const continueWith = (prompt: number[], replay: number, original: Record<string, unknown>) =>
  postJson(worker.base, '/v1/completions', {
    model: 'meshwork-tiny',
    prompt,
    replay_tokens: replay,
    max_tokens: 4,
    temperature: 0,
    continuation_of: original
  })

describe('continuation integrity', () => {
  it('continues when the prompt ids are the original chat as this model renders it', async () => {
    const { promptIds, ids } = await chatStart()
    const r = await continueWith([...promptIds, ...ids], ids.length, { messages })
    expect(r.status).toBe(200)
  })

  it('refuses prompt ids with planted context (409 continuation_mismatch)', async () => {
    const { promptIds, ids } = await chatStart()
    const planted = [...promptIds.slice(0, 3), 300, 301, 302, ...promptIds.slice(3)]
    const r = await continueWith([...planted, ...ids], ids.length, { messages })
    expect(r.status).toBe(409)
    expect(r.json.error.code).toBe('continuation_mismatch')
    const swapped = await continueWith([...promptIds, ...ids], ids.length, {
      messages: [{ role: 'user', content: 'Something else entirely' }]
    })
    expect(swapped.status).toBe(409)
  })

  it('checks a text prompt the same way', async () => {
    const first = await postJson(worker.base, '/v1/completions', {
      model: 'meshwork-tiny',
      prompt: 'Once upon',
      max_tokens: 5,
      temperature: 0,
      return_token_ids: true
    })
    const ok = await continueWith([...first.json.prompt_token_ids, ...first.json.choices[0].token_ids], 5, {
      prompt: 'Once upon'
    })
    expect(ok.status).toBe(200)
    const bad = await continueWith([...first.json.prompt_token_ids, ...first.json.choices[0].token_ids], 5, {
      prompt: 'Twice upon'
    })
    expect(bad.status).toBe(409)
  })
})
