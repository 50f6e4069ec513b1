import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { ensureBuiltinModel } from '../../electron/core/runtime/models/builtin'
import {
  checkContinuation,
  killAllWorkers,
  postJson,
  postStream,
  startWorker,
  type RunningWorker
} from './worker-helpers'

// The sampling fields the mesh forwards (shared/openai.ts) change what the worker generates: none
// of them is accepted and then dropped.
let worker: RunningWorker

beforeAll(async () => {
  const tiny = await ensureBuiltinModel('meshwork-tiny', join(tmpdir(), 'meshwork-test-models'))
  worker = await startWorker(['--model', `meshwork-tiny=${tiny.path}`, '--threads', '1', '--gpu', 'false'])
})

afterAll(() => killAllWorkers())

const base = { model: 'meshwork-tiny', prompt: 'The weather today', max_tokens: 40 }

async function text(fields: Record<string, unknown>): Promise<string> {
  const res = await postJson(worker.base, '/v1/completions', { ...base, ...fields })
  expect(res.status, JSON.stringify(res.json)).toBe(200)
  return res.json.choices[0].text
}

describe('worker sampling fields', () => {
  it('top_k: 1 and min_p: 1 leave only the most likely token: hot sampling equals greedy', async () => {
    const greedy = await text({ temperature: 0 })
    const hot = [await text({ temperature: 1.5, seed: 1 }), await text({ temperature: 1.5, seed: 2 })]
    // without them, these seeds really do sample something else
    for (const t of hot) expect(t).not.toBe(greedy)
    for (const seed of [1, 2]) {
      expect(await text({ temperature: 1.5, seed, top_k: 1 })).toBe(greedy)
      expect(await text({ temperature: 1.5, seed, min_p: 1 })).toBe(greedy)
    }
    // top_k: 0 keeps the whole vocabulary, which changes a seeded sample
    expect(await text({ temperature: 1.5, seed: 1, top_k: 0 })).not.toBe(hot[0])
  })

  it('presence_penalty and frequency_penalty change greedy output; 0 changes nothing', async () => {
    const greedy = await text({ temperature: 0 })
    expect(await text({ temperature: 0, presence_penalty: 0, frequency_penalty: 0 })).toBe(greedy)
    expect(await text({ temperature: 0, presence_penalty: 2 })).not.toBe(greedy)
    expect(await text({ temperature: 0, frequency_penalty: 2 })).not.toBe(greedy)
    expect(await text({ temperature: 0, presence_penalty: -2 })).not.toBe(greedy)
  })

  it('a penalised greedy stream still continues token-exactly (the penalty window covers the replayed ids)', async () => {
    const sampling = { temperature: 0, frequency_penalty: 1.5, presence_penalty: 0.5 }
    const first = await postStream(worker.base, '/v1/completions', {
      ...base,
      ...sampling,
      max_tokens: 100,
      return_token_ids: true
    })
    await checkContinuation(worker.base, 'meshwork-tiny', first, 100, [5, 70, 99], sampling)
  })

  it('refuses out-of-range values with a 400 that names the field', async () => {
    const cases: Array<[Record<string, unknown>, RegExp]> = [
      [{ top_k: -1 }, /top_k/],
      [{ top_k: 1.5 }, /top_k/],
      [{ min_p: 2 }, /min_p/],
      [{ presence_penalty: 3 }, /presence_penalty/],
      [{ frequency_penalty: -2.5 }, /frequency_penalty/]
    ]
    for (const [fields, message] of cases) {
      const res = await postJson(worker.base, '/v1/completions', { ...base, ...fields })
      expect(res.status, JSON.stringify(fields)).toBe(400)
      expect(res.json.error, JSON.stringify(fields)).toMatchObject({
        type: 'invalid_request_error',
        code: 'invalid_request',
        message: expect.stringMatching(message)
      })
    }
  })
})
