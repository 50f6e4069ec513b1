import type { Libp2p } from '@libp2p/interface'
import { afterEach, describe, expect, it } from 'vitest'
import type { DeltaFrame, FinalFrame } from '../../../shared/infer'
import { createEvents } from '../../../electron/core/events'
import { InferService } from '../../../electron/core/p2p/infer-provider'
import { MeshTransport } from '../../../electron/core/router/transport'
import type { InferenceRuntime } from '../../../electron/core/runtime/types'
import { createLogger } from '../../../electron/core/util/logger'
import { stubRuntime } from '../../helpers/stub-runtime'
import { loopbackLibp2p } from '../../integration/routing/fixtures/loopback-libp2p'
import { SHA, type Step, accept, call, collect, honest, mesh, prompt, queued, tok } from './scripted-mesh'

// The scripted router's first-token timeout is 400 ms: each case waits in line for longer.
const inLine = (notices: number, everyMs: number): Step[] =>
  Array.from({ length: notices }, () => [queued, { wait: everyMs }]).flat()

describe('a job that waits in the provider line', () => {
  it('is kept while the provider says it is queued, past the first-token timeout', async () => {
    const { router, opened, outcomes } = mesh({ a: (frame, signal) => [...inLine(4, 250), ...honest(frame, signal)] })
    const r = await collect(router)
    expect(r.error).toBeUndefined()
    expect(r.text).toBe('t0 t1 t2 t3 t4 t5 ')
    expect(opened[0].frame.queueNotices).toBe(true)
    expect(outcomes.map((o) => [o.provider, o.kind])).toEqual([['a', 'ok']])
  })

  it('is given up once the queue bound is over, however often the provider says queued', async () => {
    const { router, outcomes } = mesh(
      { a: () => [...inLine(40, 100), { hang: true }], b: honest },
      { timeouts: { maxQueueWaitMs: 1_000 } }
    )
    const started = Date.now()
    const r = await collect(router)
    expect(r.text).toBe('t0 t1 t2 t3 t4 t5 ')
    expect(outcomes[0]).toMatchObject({ provider: 'a', code: 'first_token_timeout' })
    // 1 s in line, then one first-token timeout; without the bound a would hold it for 4 s
    expect(Date.now() - started).toBeLessThan(2_500)
  })

  it('a flood of queued frames, or one after tokens, is a protocol failure', async () => {
    const flood = mesh({ a: () => [...Array.from({ length: 100 }, () => queued), { hang: true }], b: honest })
    expect((await collect(flood.router)).text).toBe('t0 t1 t2 t3 t4 t5 ')
    expect(flood.outcomes[0]).toMatchObject({ provider: 'a', code: 'bad_frame', failure: 'protocol' })
    const late = mesh({ a: () => [accept, prompt, tok(0), queued, tok(1)], b: honest })
    expect((await collect(late.router)).text).toBe('t0 t1 t2 t3 t4 t5 ')
    expect(late.outcomes[0]).toMatchObject({ provider: 'a', code: 'bad_frame' })
  })
})

const nodes: Libp2p[] = []
afterEach(async () => {
  await Promise.all(nodes.splice(0).map((n) => n.stop()))
})

/** A runtime whose every job takes about 6 × 120 ms. */
function slowRuntime(): InferenceRuntime {
  return stubRuntime([{ name: 'm', sha256: SHA, params: 1 }], async function* () {
    yield { type: 'delta', text: '', promptTokenIds: [1, 2] } satisfies DeltaFrame
    for (let i = 0; i < 6; i++) {
      await new Promise((r) => setTimeout(r, 120))
      yield { type: 'delta', text: `t${i} `, tokenIds: [i] } satisfies DeltaFrame
    }
    yield { type: 'final', finishReason: 'length', usage: { prompt_tokens: 2, completion_tokens: 6 } } as FinalFrame
  })
}

describe('queue notices over a real infer stream', () => {
  it('a one-slot provider serves two jobs at once to a router whose first-token timeout is shorter than a job', async () => {
    const providerNode = await loopbackLibp2p()
    const consumerNode = await loopbackLibp2p()
    nodes.push(providerNode, consumerNode)
    const service = new InferService(
      { libp2p: providerNode, events: createEvents(), logger: createLogger('test', { level: 'error' }) },
      { runtime: slowRuntime, isPaused: () => false, maxConcurrentJobs: 1, maxQueuedJobs: 4, queueNoticeMs: 100 }
    )
    await service.start()
    await consumerNode.dial(providerNode.getMultiaddrs()[0])
    const provider = providerNode.peerId.toString()
    const { router, outcomes } = mesh(
      { [provider]: honest },
      { transport: new MeshTransport(consumerNode, undefined), timeouts: { firstTokenMs: 300 } }
    )
    const route = async (id: string): Promise<string> => {
      let text = ''
      for await (const e of router.route({ id, call: call() })) if (e.type === 'text') text += e.text
      return text
    }
    // the second job waits about 720 ms for the slot: without notices its first token is late
    expect(await Promise.all([route('first'), route('second')])).toEqual(['t0 t1 t2 t3 t4 t5 ', 't0 t1 t2 t3 t4 t5 '])
    expect(outcomes.map((o) => o.kind)).toEqual(['ok', 'ok'])
    router.stop()
    await service.stop()
  })
})
